//go:build unix

package containers_test

import (
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/faketb"
)

// ran is what a function run by runFake reported, through dbsuite's one fake test (internal/faketb).
type ran struct {
	*faketb.TB
	fatal  string   // the message of the Fatal that ended the function, if one did
	errors []string // the other errors, the cleanups' included
}

// runFake calls fn with a fake test named TestFake over t, then runs the cleanups fn registered (as the testing
// package would), and returns what it reported. Fatal ends fn. failed makes Failed report true during cleanup.
func runFake(t *testing.T, failed bool, fn func(tb testing.TB)) *ran {
	t.Helper()
	f := faketb.New(t, "TestFake")
	f.Run(fn)
	r := &ran{TB: f}
	fatal := -1
	if f.Stopped() {
		fatal = len(f.Errors()) - 1
		r.fatal = f.Errors()[fatal]
	}
	if failed {
		f.Fail()
	}
	f.Finish()
	for i, e := range f.Errors() {
		if i != fatal {
			r.errors = append(r.errors, e)
		}
	}
	return r
}

// output returns the logs, the errors, then the fatal message, one per line.
func (r *ran) output() string {
	return strings.Join(append(append(r.Logs(), r.errors...), r.fatal), "\n")
}
