// Package faketb is the one fake [testing.TB] of dbsuite's own tests and examples: it records what the code
// under test reports (logs, errors, a fatal failure, a skip) instead of failing the real test, and ends the
// function under test on Fatal, FailNow or Skip as a real test ends, so code after them does not run.
//
// It embeds the real test's testing.TB, so every method it does not fake (TempDir, Setenv's parallel check ...)
// is the real one; an Example, which has no test, passes nil and gets an emulated Setenv. A test that passes nil
// on purpose gets a panic from any method the fake lacks, so the code under test cannot use more of testing.TB
// than it says.
package faketb

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// stop is what the fake panics with to end the function under test; [TB.Run] recovers it. Outside Run, the panic
// says why.
type stop struct{}

func (stop) Error() string {
	return "faketb: Fatal, FailNow or Skip ended a function not run by TB.Run (run the code under test with Run)"
}

// TB stands in for a test. Make one with [New] and run the code under test with [TB.Run].
type TB struct {
	testing.TB // the real test, or nil

	name string
	// Parallel makes the emulated Setenv (with no real test) refuse, as testing.T.Setenv does in a test that
	// called t.Parallel.
	Parallel bool
	// OnError, if set, is called with every error and fatal message as it is reported.
	OnError func(msg string)

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	logs     []string
	errors   []string
	failed   bool
	fatal    bool
	skipped  bool
	cleanups []func()
	finished bool
}

// New returns a fake named name (the real test's name when empty). With a real test, its cleanups run at the
// latest when the real test ends; call [TB.Finish] to run them earlier.
func New(real testing.TB, name string) *TB {
	parent := context.Background()
	if real != nil {
		parent = real.Context()
	}
	f := &TB{TB: real, name: name}
	f.ctx, f.cancel = context.WithCancel(parent)
	if real != nil {
		real.Cleanup(f.Finish)
	}
	return f
}

// Context returns the fake test's context (within the real test's, if any), canceled when [TB.Finish] starts,
// just before the cleanups run, as testing.T's is.
func (f *TB) Context() context.Context { return f.ctx }

// Name returns the fake's name.
func (f *TB) Name() string {
	if f.name != "" || f.TB == nil {
		return f.name
	}
	return f.TB.Name()
}

// Helper does nothing.
func (f *TB) Helper() {}

// Log records a log line.
func (f *TB) Log(args ...any) { f.Logf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

// Logf records a log line.
func (f *TB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// Error records an error.
func (f *TB) Error(args ...any) { f.Errorf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

// Errorf records an error.
func (f *TB) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.errors = append(f.errors, msg)
	onError := f.OnError
	f.mu.Unlock()
	if onError != nil {
		onError(msg)
	}
}

// Fatal records an error and ends the function under test.
func (f *TB) Fatal(args ...any) { f.Fatalf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

// Fatalf records an error and ends the function under test.
func (f *TB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.FailNow()
}

// Fail marks the fake failed without recording an error, as testing.T.Fail does.
func (f *TB) Fail() { f.mu.Lock(); defer f.mu.Unlock(); f.failed = true }

// FailNow marks the fake failed and ends the function under test.
func (f *TB) FailNow() {
	f.mu.Lock()
	f.fatal = true
	f.mu.Unlock()
	panic(stop{})
}

// Failed reports whether the fake failed: an error recorded, or Fail called.
func (f *TB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.errors) > 0 || f.fatal || f.failed
}

// Skip records a skip and ends the function under test.
func (f *TB) Skip(args ...any) { f.Skipf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

// Skipf records a skip and ends the function under test.
func (f *TB) Skipf(format string, args ...any) {
	f.Logf(format, args...)
	f.SkipNow()
}

// SkipNow ends the function under test as skipped.
func (f *TB) SkipNow() {
	f.mu.Lock()
	f.skipped = true
	f.mu.Unlock()
	panic(stop{})
}

// Skipped reports whether the fake was skipped.
func (f *TB) Skipped() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.skipped }

// Cleanup registers fn to run at [TB.Finish], last registered first.
func (f *TB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// Setenv is the real test's Setenv (and its parallel check); with no real test, it sets the variable until
// [TB.Finish] and, if Parallel is set, refuses as testing.T.Setenv does in a parallel test.
func (f *TB) Setenv(key, value string) {
	if f.TB != nil {
		f.TB.Setenv(key, value)
		return
	}
	if f.Parallel {
		panic("faketb: Setenv in a test that called t.Parallel (as testing.T.Setenv refuses)")
	}
	prev, had := os.LookupEnv(key)
	_ = os.Setenv(key, value)
	f.Cleanup(func() {
		if had {
			_ = os.Setenv(key, prev)
		} else {
			_ = os.Unsetenv(key)
		}
	})
}

// Run runs fn as the body of the fake test: a Fatal, FailNow or Skip in it ends fn.
func (f *TB) Run(fn func(tb testing.TB)) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	fn(f)
}

// Finish runs the cleanups, last registered first, as the end of a test does. It runs them once.
func (f *TB) Finish() {
	f.mu.Lock()
	if f.finished {
		f.mu.Unlock()
		return
	}
	f.finished = true
	f.mu.Unlock()
	f.cancel()
	for {
		f.mu.Lock()
		n := len(f.cleanups)
		if n == 0 {
			f.mu.Unlock()
			return
		}
		fn := f.cleanups[n-1]
		f.cleanups = f.cleanups[:n-1]
		f.mu.Unlock()
		f.Run(func(testing.TB) { fn() })
	}
}

// Logs returns the log lines, in order.
func (f *TB) Logs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.logs...)
}

// Errors returns the errors (fatal ones included), in order.
func (f *TB) Errors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errors...)
}

// Failures returns the errors (fatal ones included), one per line: what the test would print.
func (f *TB) Failures() string { return strings.Join(f.Errors(), "\n") }

// Stopped reports whether Fatal, Fatalf or FailNow ended the function under test.
func (f *TB) Stopped() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.fatal }
