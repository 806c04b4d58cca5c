// Package faket runs a function as a test would run, with a stand-in for *testing.T that prints the
// test's outcome, so that runnable examples can show failure messages in their output.
package faket

import (
	"fmt"
	"os"
	"testing"
)

// Run runs body with a [T] named name, then its cleanups, last registered first, and prints
// "--- PASS: name" or the failures. With parallel, T behaves as a test that called t.Parallel.
func Run(name string, parallel bool, body func(t testing.TB)) {
	t := &T{name: name, parallel: parallel}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errStop {
				panic(r)
			}
		}()
		body(t)
	}()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	if !t.failed {
		fmt.Printf("--- PASS: %s\n", name)
	}
}

// T stands in for a test's *testing.T. It embeds testing.TB (left nil) for the methods it does not
// implement.
type T struct {
	testing.TB
	name     string
	parallel bool
	failed   bool
	cleanups []func()
}

var errStop = new(int)

// Name returns the test's name.
func (t *T) Name() string { return t.name }

// Helper does nothing.
func (t *T) Helper() {}

// Logf discards the log line, as go test does for a passing test without -v.
func (t *T) Logf(format string, args ...any) {}

// Cleanup registers f to run when the test ends.
func (t *T) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// Errorf prints a failure.
func (t *T) Errorf(format string, args ...any) {
	if !t.failed {
		fmt.Printf("--- FAIL: %s\n", t.name)
	}
	t.failed = true
	fmt.Printf(format+"\n", args...)
}

// Fatalf prints a failure and ends the test.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic(errStop)
}

// Setenv works as testing.T.Setenv does, including its refusal in a parallel test.
func (t *T) Setenv(key, value string) {
	if t.parallel {
		panic("testing: test using t.Setenv, t.Chdir, or cryptotest.SetGlobalRandom can not use t.Parallel")
	}
	prev, ok := os.LookupEnv(key)
	if err := os.Setenv(key, value); err != nil {
		t.Fatalf("cannot set environment variable: %v", err)
	}
	t.Cleanup(func() {
		if ok {
			os.Setenv(key, prev)
		} else {
			os.Unsetenv(key)
		}
	})
}
