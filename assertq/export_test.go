package assertq

import "testing"

// Golden's modes, which it picks from the -update flag and the CI environment variable: tests call them directly
// rather than change process-wide state under tests running in parallel.

// GoldenUpdating is Golden with -update.
func GoldenUpdating(t testing.TB, queries Queries) {
	t.Helper()
	goldenCheck(t, queries, true, false)
}

// GoldenComparing is Golden without -update, outside CI.
func GoldenComparing(t testing.TB, queries Queries) {
	t.Helper()
	goldenCheck(t, queries, false, false)
}

// GoldenInCI is Golden without -update, under CI.
func GoldenInCI(t testing.TB, queries Queries) {
	t.Helper()
	goldenCheck(t, queries, false, true)
}
