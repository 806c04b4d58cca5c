package dragon_test

import (
	"fmt"
	"testing"

	"github.com/dbsuite/dbsuite/examples/dragon/dragon"
	"github.com/dbsuite/dbsuite/examples/dragon/internal/faket"
	"github.com/dbsuite/dbsuite/settings"
)

// TestHoard overrides PUT_EGGS with each kind of value and checks the hoard built from it.
func TestHoard(t *testing.T) {
	before := fmt.Sprint(dragon.Hoard)
	tests := []struct {
		name     string
		override func(t *testing.T)
		wantEggs int
	}{
		{"true", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "true") }, 3},
		{"1", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "1") }, 3},
		{"false", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "false") }, 0},
		{"not a boolean", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "yes please") }, 0},
		{"empty", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "") }, 0},
		{"unset", func(t *testing.T) { settings.Unsetenv(t, "PUT_EGGS") }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.override(t)
			if got := dragon.Hoard["egg"]; got != tt.wantEggs {
				t.Errorf("eggs in the hoard = %d, want %d", got, tt.wantEggs)
			}
			if got := dragon.Hoard["gold coin"]; got != 1000 {
				t.Errorf("gold coins = %d, want 1000 whatever PUT_EGGS says", got)
			}
		})
	}
	if after := fmt.Sprint(dragon.Hoard); after != before {
		t.Errorf("after the subtests the hoard is %s, want it as before them: %s", after, before)
	}
}

// Overriding PUT_EGGS rebuilds the hoard for the test, and puts it back afterwards. A test that runs in
// parallel cannot override it, since every test running at the same time would see the change.
func Example() {
	faket.Run("TestEggs", false, func(t testing.TB) {
		settings.Setenv(t, "PUT_EGGS", "true")
		fmt.Println("eggs in the test:", dragon.Hoard["egg"])
	})
	fmt.Println("eggs after it:", dragon.Hoard["egg"])

	faket.Run("TestEggsInParallel", true, func(t testing.TB) {
		settings.Setenv(t, "PUT_EGGS", "true")
	})
	// Output:
	// eggs in the test: 3
	// --- PASS: TestEggs
	// eggs after it: 0
	// --- FAIL: TestEggsInParallel
	// settings: Setenv(PUT_EGGS="true") in TestEggsInParallel, which runs in parallel with other tests (it or a parent test called t.Parallel), want a test that does not run in parallel
	//   every test running at the same time would see a process-wide override
	// fix: remove t.Parallel from TestEggsInParallel and its parents; or read the value with Setting.From(ctx) and override it with settings.WithValue, which is safe in parallel tests; or run the test in a child process with settings.Subprocess
}
