package mario_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/dbsuite/dbsuite/examples/dragon/dragon"
	"github.com/dbsuite/dbsuite/examples/dragon/internal/faket"
	"github.com/dbsuite/dbsuite/examples/dragon/mario"
	"github.com/dbsuite/dbsuite/settings"
)

// TestPlainSetenvIsNotSeen is the trap, kept as a passing test: t.Setenv changes the environment, but the
// hoard and Mario's copy of it were built when the packages were imported, so neither has eggs.
func TestPlainSetenvIsNotSeen(t *testing.T) {
	if mario.HasEggs() {
		t.Fatal("PUT_EGGS was already true when the test binary started; unset it to see the trap")
	}
	t.Setenv("PUT_EGGS", "true")

	if got := os.Getenv("PUT_EGGS"); got != "true" {
		t.Fatalf("PUT_EGGS = %q, want true", got)
	}
	if got := dragon.Hoard["egg"]; got != 0 {
		t.Errorf("the hoard has %d eggs after t.Setenv; the trap is gone (was the hoard rebuilt?)", got)
	}
	if mario.HasEggs() {
		t.Errorf("Mario carries eggs after t.Setenv; the trap is gone: %v", mario.Loot)
	}
}

// TestSettingsSetenvIsSeen is the fix: settings.Setenv re-runs dragon's reinitialiser, then Mario's,
// which copies the new hoard; both are back to their start-up values when each subtest ends.
func TestSettingsSetenvIsSeen(t *testing.T) {
	tests := []struct {
		name     string
		override func(t *testing.T)
		wantEggs bool
	}{
		{"PUT_EGGS=true", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "true") }, true},
		{"PUT_EGGS=false", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "false") }, false},
		{"PUT_EGGS empty", func(t *testing.T) { settings.Setenv(t, "PUT_EGGS", "") }, false},
		{"PUT_EGGS unset", func(t *testing.T) { settings.Unsetenv(t, "PUT_EGGS") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.override(t)
			if got := dragon.Hoard["egg"] == 3; got != tt.wantEggs {
				t.Errorf("eggs in the hoard: %v, want %v (hoard %v)", got, tt.wantEggs, dragon.Hoard)
			}
			if got := mario.HasEggs(); got != tt.wantEggs {
				t.Errorf("Mario carries eggs: %v, want %v (loot %v)", got, tt.wantEggs, mario.Loot)
			}
		})
		checkRestored(t)
	}
}

// TestStartUpInAChildProcess checks the start-up path itself: the child process starts with
// PUT_EGGS=true, so dragon's package-level var and mario's copy are built with eggs, with no
// reinitialiser involved.
func TestStartUpInAChildProcess(t *testing.T) {
	settings.Subprocess(t, map[string]string{"PUT_EGGS": "true"}, func(t *testing.T) {
		if !mario.HasEggs() {
			t.Errorf("Mario carries %v at start-up with PUT_EGGS=true, want 3 × egg among them", mario.Loot)
		}
	})
}

// TestStateRestored runs after the tests above, in every -count round.
func TestStateRestored(t *testing.T) { checkRestored(t) }

// The trap and the fix, side by side, as two tests would report them.
func Example() {
	wantEggs := func(t testing.TB) {
		if !mario.HasEggs() {
			t.Errorf("mario.Loot = %q, want 3 × egg among it", mario.Loot)
		}
	}
	faket.Run("TestEggsWithTSetenv", false, func(t testing.TB) {
		t.Setenv("PUT_EGGS", "true")
		wantEggs(t)
	})
	faket.Run("TestEggsWithSettingsSetenv", false, func(t testing.TB) {
		settings.Setenv(t, "PUT_EGGS", "true")
		wantEggs(t)
	})
	// Output:
	// --- FAIL: TestEggsWithTSetenv
	// mario.Loot = ["1 × crown" "1000 × gold coin"], want 3 × egg among it
	// --- PASS: TestEggsWithSettingsSetenv
}

// state is everything the tests override and what is built from it.
func state() string {
	eggs, set := os.LookupEnv("PUT_EGGS")
	return fmt.Sprintf("PUT_EGGS=%q (set %v)\nhoard %v\nloot %q", eggs, set, dragon.Hoard, mario.Loot)
}

// before is the state when the test binary started.
var before = state()

func checkRestored(t *testing.T) {
	t.Helper()
	if now := state(); now != before {
		t.Errorf("state not restored:\n%s\nwant, as when the tests started:\n%s", now, before)
	}
}

// TestMain checks that the tests, with any -count, leave the state as they found it.
func TestMain(m *testing.M) {
	code := m.Run()
	if now := state(); now != before {
		fmt.Fprintf(os.Stderr, "FAIL: state after the tests:\n%s\nwant, as before them:\n%s\n", now, before)
		code = 1
	}
	os.Exit(code)
}
