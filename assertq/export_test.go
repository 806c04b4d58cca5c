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

// Held reports what a Recorder holds: queries kept in full, queries waiting to be counted, and statement groups
// counted (Strict).
func Held(r *Recorder) (entries, pending, groups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tally != nil {
		groups = len(r.tally.order)
	}
	return len(r.entries), len(r.pending), groups
}

// StrictError is what Strict would report if the test ended now.
func StrictError(r *Recorder) error { return r.strictError() }
