package settings_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/dbsuite/dbsuite/settings/internal/fixture/copier"
	"github.com/dbsuite/dbsuite/settings/internal/fixture/origin"
)

// snapshot describes every value the tests override and everything derived from them.
func snapshot() string {
	greeting, set := os.LookupEnv("ORIGIN_GREETING")
	level, levelSet := os.LookupEnv("ORIGIN_LEVEL")
	color, colorSet := origin.Config.Lookup("paint.color")
	return fmt.Sprintf("origin.Summary   %s\ncopier.Copy      %s\norigin.LevelText %s\norigin.Level     %d\n"+
		"ORIGIN_GREETING  %q set=%v\nORIGIN_LEVEL     %q set=%v\n-origin-region   %s (%s)\n-speed           %d\n"+
		"paint.color      %q set=%v\norigin.Limit     %d\nexample hoard    %s\nreadme Hoard     %v",
		origin.Summary, copier.Copy, origin.LevelText, origin.Level.Get(),
		greeting, set, level, levelSet, *origin.Region, flag.Lookup("origin-region").Value, *origin.Speed,
		color, colorSet, origin.Limit, hoard, Hoard)
}

// before is the state when the test binary started.
var before = snapshot()

// TestMain checks that the state after every test ran, with any -count, equals the state before.
func TestMain(m *testing.M) {
	code := m.Run()
	if after := snapshot(); after != before {
		fmt.Fprintf(os.Stderr, "FAIL: the state after the tests differs from the state before them\n--- after:\n%s\n--- before:\n%s\n", after, before)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// checkRestored fails the test if the state differs from what it was when the test binary started.
func checkRestored(t *testing.T) {
	t.Helper()
	if now := snapshot(); now != before {
		t.Errorf("state not restored\n--- now:\n%s\n--- before the tests:\n%s", now, before)
	}
}
