// Package benchtb lets a benchmark iteration play one test.
//
// It is not a fake test ([github.com/dbsuite/dbsuite/internal/faketb] is): a Unit keeps only the cleanups, to run
// them after each operation, and reports everything else through the benchmark, so a failure fails the benchmark
// and an operation allocates only the Unit and its cleanup list (a faketb.TB adds a context and records).
package benchtb

import (
	"sync"
	"testing"
)

// Unit plays one test inside a benchmark: it collects the cleanups the
// code under test registers, so the benchmark can run them, untimed,
// after each iteration. Everything else goes to the benchmark's TB.
type Unit struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

// New returns a Unit reporting through tb.
func New(tb testing.TB) *Unit { return &Unit{TB: tb} }

// Helper does nothing: the Unit is not a real test.
func (u *Unit) Helper() {}

// Cleanup records f, to be run by Done.
func (u *Unit) Cleanup(f func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cleanups = append(u.cleanups, f)
}

// Done runs the recorded cleanups, last first, as the testing package does.
func (u *Unit) Done() {
	u.mu.Lock()
	cleanups := u.cleanups
	u.cleanups = nil
	u.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}
