//go:build unix

package containers_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeTB records what a function under test reports, to test failure
// paths. Fatal stops the function (runtime.Goexit, as testing does) and
// cleanups run when run returns.
type fakeTB struct {
	testing.TB // the real test: anything not overridden panics through it
	ctx        context.Context

	mu       sync.Mutex
	logs     []string
	errors   []string
	fatal    string
	failed   bool
	cleanups []func()
}

// runFake calls fn with a fake TB in its own goroutine, then runs the
// cleanups fn registered (as the testing package would), and returns the
// fake for inspection. failed makes Failed report true during cleanup.
func runFake(t *testing.T, failed bool, fn func(tb testing.TB)) *fakeTB {
	t.Helper()
	f := &fakeTB{TB: t, ctx: t.Context()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	if failed {
		f.failed = true
	}
	cleanups := f.cleanups
	f.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	return f
}

func (f *fakeTB) Helper()                  {}
func (f *fakeTB) Context() context.Context { return f.ctx }
func (f *fakeTB) Name() string             { return "TestFake" }

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed = true
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(append(append(append([]string{}, f.logs...), f.errors...), f.fatal), "\n")
}
