package settings_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/settings"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/copier"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/origin"
)

// TestRegisterPanics pins the messages of registrations that are programming mistakes. None of them
// registers anything.
func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name     string
		register func()
	}{
		{"register_duplicate", func() { settings.Register("origin", func() {}) }},
		{"register_after_unknown", func() { settings.Register("test.late", func() {}, settings.WithAfter("not.yet")) }},
		{"register_empty_name", func() { settings.Register("", func() {}) }},
		{"register_nil", func() { settings.Register("test.nil", nil) }},
		{"register_with_source", func() { settings.Register("test.src", func() {}, settings.WithSource(settings.NewSource("x.json"))) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, fmt.Sprint(recovered(tt.register)))
		})
	}
}

// TestReload checks the production path: change what the reinitialisers read, then Reload.
func TestReload(t *testing.T) {
	t.Cleanup(func() {
		if err := settings.Reload("ORIGIN_GREETING"); err != nil {
			t.Errorf("Reload at cleanup: %v", err)
		}
		checkRestored(t)
	})
	t.Setenv("ORIGIN_GREETING", "reloaded") // registered after the Reload above, so restored before it runs
	if strings.Contains(origin.Summary, "reloaded") {
		t.Fatalf("origin.Summary = %s before Reload: the trap this package exists for is not reproduced", origin.Summary)
	}
	if err := settings.Reload("ORIGIN_GREETING"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if !strings.Contains(origin.Summary, `greeting="reloaded"`) || copier.Copy != origin.Summary {
		t.Errorf("after Reload: origin.Summary = %s, copier.Copy = %s; want both to hold the new greeting", origin.Summary, copier.Copy)
	}
}

// TestReloadReturnsPanics checks that Reload reports every reinitialiser that panicked, as an error that
// unwraps to the panic value, and runs the others.
func TestReloadReturnsPanics(t *testing.T) {
	limit := origin.Limit
	t.Cleanup(func() {
		origin.Limit = limit
		armed = false
		if err := settings.Reload(); err != nil {
			t.Errorf("Reload at cleanup: %v", err)
		}
		checkRestored(t)
	})
	origin.Limit = -2
	armed = true
	runs := origin.Runs["copier"]
	err := settings.Reload()
	if err == nil {
		t.Fatal("Reload succeeded, want the panics of origin and test.flaky")
	}
	if origin.Runs["copier"] != runs+1 {
		t.Errorf("copier did not run after origin panicked")
	}
	golden(t, "reload_panics", err.Error())

	sentinel := errors.New("sentinel")
	origin.Limit = limit
	armedWith = sentinel
	defer func() { armedWith = nil }()
	if err := settings.Reload("SETTINGS_TEST_FLAKY"); !errors.Is(err, sentinel) {
		t.Errorf("Reload = %v, want an error that unwraps to the panic value", err)
	}
}

// TestStateRestoredSoFar runs after the tests above in each -count round and checks they left nothing
// behind; TestMain checks again at the very end.
func TestStateRestoredSoFar(t *testing.T) {
	checkRestored(t)
	if v, ok := os.LookupEnv("DBSUITE_SETTINGS_OVERRIDE"); ok {
		t.Errorf("the parallel-guard sentinel is still set (%q)", v)
	}
}
