package assertq

import "testing"

// GoldenUpdating is Golden as if the test binary ran with -update, so tests can write golden files without
// changing the process-wide flag under tests running in parallel.
func GoldenUpdating(t testing.TB, queries Queries) {
	t.Helper()
	golden(t, queries, true)
}

// GoldenComparing is Golden as if the test binary ran without -update.
func GoldenComparing(t testing.TB, queries Queries) {
	t.Helper()
	golden(t, queries, false)
}
