package settings_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	goldenfile "github.com/dbsuite/dbsuite/internal/golden"
)

var _ = flag.Bool("update", false, "rewrite the golden files in testdata with the messages the tests produce")

// golden compares a message with testdata/name.golden, after replacing what changes from run to run (line
// numbers in _test.go files, durations). With -update it writes the file instead.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name+".golden"), normalize(got))
}

var (
	testLine = regexp.MustCompile(`(_test\.go):\d+`)
	duration = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`)
)

func normalize(s string) string {
	s = testLine.ReplaceAllString(s, "$1:NN")
	return duration.ReplaceAllString(s, "DUR")
}

// stop is what fakeTB panics with to end the function under test, as FailNow ends a test.
type stop struct{}

// fakeTB stands in for a test: it embeds a real testing.TB (used for Setenv, so that the standard
// library's parallel check is the real one, and for Context) and records what the code under test
// reports instead of failing the real test.
type fakeTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	logs     []string
	errors   []string
	fatal    bool
	skipped  bool
	cleanups []func()
	finished bool
}

// newFake returns a fake named name (the real test's name when empty); its cleanups run at the latest
// when the real test ends.
func newFake(t testing.TB, name string) *fakeTB {
	f := &fakeTB{TB: t, name: name}
	t.Cleanup(f.finish)
	return f
}

func (f *fakeTB) Name() string {
	if f.name != "" {
		return f.name
	}
	return f.TB.Name()
}
func (f *fakeTB) Helper()         {}
func (f *fakeTB) Log(args ...any) { f.Logf("%s", fmt.Sprintln(args...)) }
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Error(args ...any) { f.Errorf("%s", fmt.Sprintln(args...)) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprintln(args...)) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.mu.Lock()
	f.fatal = true
	f.mu.Unlock()
	panic(stop{})
}
func (f *fakeTB) Skip(args ...any) { f.Skipf("%s", fmt.Sprintln(args...)) }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.Logf(format, args...)
	f.mu.Lock()
	f.skipped = true
	f.mu.Unlock()
	panic(stop{})
}
func (f *fakeTB) SkipNow()      { f.Skipf("SkipNow") }
func (f *fakeTB) Fail()         { f.Errorf("Fail") }
func (f *fakeTB) FailNow()      { f.Fatalf("FailNow") }
func (f *fakeTB) Failed() bool  { f.mu.Lock(); defer f.mu.Unlock(); return len(f.errors) > 0 }
func (f *fakeTB) Skipped() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.skipped }
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// do runs fn as the body of the fake test: a Fatalf or Skipf in it ends fn.
func (f *fakeTB) do(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	fn()
}

// finish runs the cleanups, last registered first, as the end of a test does. It runs once.
func (f *fakeTB) finish() {
	f.mu.Lock()
	if f.finished {
		f.mu.Unlock()
		return
	}
	f.finished = true
	f.mu.Unlock()
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
		f.do(fn)
	}
}

// errorText returns what the fake test reported as failures, one after the other.
func (f *fakeTB) errorText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.errors, "\n---\n")
}

func (f *fakeTB) logText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.logs, "\n")
}
