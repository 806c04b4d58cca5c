package settings

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/failure"

	"github.com/dbsuite/dbsuite/internal/golden"
)

// childEnv marks a child process started by Subprocess; its value names the call the child must run.
const childEnv = "DBSUITE_SETTINGS_CHILD"

// childMark is the line a child prints when it reaches the call it must run.
const childMark = "dbsuite/settings: child running "

var (
	callsMu sync.Mutex
	calls   = map[testing.TB]int{} // Subprocess calls so far, per running test
)

// Subprocess runs fn in a child process: the test binary started again with the variables of env added
// to its environment and -test.run selecting only this test, so every init function and package-level
// var sees env. Use it for values computed at start-up that no reinitialiser can rebuild. In the parent,
// Subprocess waits for the child and reports its outcome as the test's own: a failure of the child fails
// the test with the child's output and a command to run the child by hand; a skip skips the test; the
// output of a child that passed is logged.
//
//	settings.Subprocess(t, map[string]string{"PUT_EGGS": "true"}, func(t *testing.T) {
//		// runs in the child, where init() saw PUT_EGGS=true
//	})
//
// The test runs from the start in the child, so the code before the call runs in both processes; in the
// child, the other Subprocess calls of the test do nothing, and Subprocess does not nest. The child's
// environment is the parent's plus env; it runs with -test.count=1, the parent's -test.short, and the
// time left before the parent's deadline. Under -race the child skips the race detector's one-second
// sleep at exit (GORACE=atexit_sleep_ms=0, unless GORACE sets it): a child then takes about 10 ms
// instead of a second. Unlike the other overrides, Subprocess changes nothing in the parent process, so
// it is safe in parallel tests.
func Subprocess[TB testing.TB](tb TB, env map[string]string, fn func(TB)) {
	tb.Helper()
	callsMu.Lock()
	n := calls[tb] + 1
	calls[tb] = n
	callsMu.Unlock()
	if n == 1 {
		tb.Cleanup(func() {
			callsMu.Lock()
			delete(calls, tb)
			callsMu.Unlock()
		})
	}
	id := fmt.Sprintf("%d %s", n, tb.Name())

	if marker, inChild := os.LookupEnv(childEnv); inChild {
		if marker == id {
			fmt.Printf("%s%s\n", childMark, id)
			fn(tb)
		}
		return
	}
	runChild(tb, id, env)
}

// runChild starts the child for call id, waits for it and reports what it did.
func runChild(tb testing.TB, id string, env map[string]string) {
	tb.Helper()
	name := tb.Name()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("settings: Subprocess in %s: cannot find the test binary to start again: %v", name, err)
	}
	args := []string{"-test.run=" + golden.RunPattern(name), "-test.count=1", "-test.v=true"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := deadline(tb); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Millisecond).String())
	}
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		args = append(args, "-test.gocoverdir="+f.Value.String())
	}
	keys := slices.Sorted(maps.Keys(env))
	cmd := exec.CommandContext(tb.Context(), exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+id)
	if gorace := os.Getenv("GORACE"); !strings.Contains(gorace, "atexit_sleep_ms") {
		// A -race binary sleeps a second at exit; the child's test is over by then. Ignored without -race.
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(gorace+" atexit_sleep_ms=0"))
	}
	var shown []string
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
		shown = append(shown, fmt.Sprintf("%s=%q", k, env[k]))
	}
	with := "with " + describeOr(shown, "no change to the environment")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(time.Millisecond)
	reached, skipped, output := parseChild(string(out), name, id)

	var exit *exec.ExitError
	switch {
	case err != nil && tb.Context().Err() != nil:
		tb.Errorf("%s", failure.Format("settings", fmt.Sprintf("the child process running %s %s was stopped after %v: the test ended first (%v), want the child to finish first", name, with, took, context.Cause(tb.Context())),
			[]string{cmp.Or(output, "(no output)")}, "give the test more time (go test -timeout), or make the child faster"))
	case err != nil && !errors.As(err, &exit):
		tb.Fatalf("settings: Subprocess in %s: cannot start the test binary %s: %v", name, exe, err)
	case err != nil:
		tb.Errorf("%s", failure.Format("settings", fmt.Sprintf("%s failed in a child process %s (%v, %v), want it to pass", name, with, err, took),
			[]string{cmp.Or(output, "(no output)")}, "see the child's failures above; to run the child yourself, in the package directory: "+debugCommand(id, name, keys, env)))
	case !reached:
		tb.Errorf("%s", failure.Format("settings",
			fmt.Sprintf("the child process %s did not reach the Subprocess call in %s (%v), want the child to run the same test and reach the same call", with, name, took),
			[]string{cmp.Or(output, "(no output)")}, "make the code before the call take the same path in both processes, and run Subprocess from the test goroutine"))
	case skipped:
		tb.Skipf("settings: %s skipped in a child process %s:\n%s", name, with, indent(output))
	case output != "":
		tb.Logf("settings: %s passed in a child process %s (%v):\n%s", name, with, took, indent(output))
	default:
		tb.Logf("settings: %s passed in a child process %s (%v)", name, with, took)
	}
}

// deadline returns the test's deadline, if it has one (testing.T does; testing.TB does not say).
func deadline(tb testing.TB) (time.Time, bool) {
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}

// framing reports whether line is one that go test prints around tests and at the end of a run, the
// coverage summary of a -cover binary included.
func framing(line string) bool {
	trimmed := strings.TrimLeft(line, " \t")
	for _, p := range []string{"=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME ", "--- PASS: ", "--- FAIL: ", "--- SKIP: "} {
		if strings.HasPrefix(trimmed, p) {
			return true
		}
	}
	return line == "PASS" || line == "FAIL" || strings.HasPrefix(line, "ok  \t") || strings.HasPrefix(line, "exit status ") ||
		coverageLine(line)
}

// coverageLine reports whether line is the summary a test binary built with -cover prints at exit, such as
// "coverage: 61.3% of statements" or "coverage: [no statements]".
func coverageLine(line string) bool {
	rest, ok := strings.CutPrefix(line, "coverage: ")
	return ok && (strings.HasSuffix(rest, "of statements") || strings.Contains(rest, "of statements in ") || rest == "[no statements]")
}

// parseChild reads the child's -test.v output: whether it reached the call, whether the test skipped,
// and what it printed without the framing lines, dedented.
func parseChild(out, name, id string) (reached, skipped bool, output string) {
	skipLine := "--- SKIP: " + name + " ("
	var kept []string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case line == childMark+id:
			reached = true
		case strings.HasPrefix(strings.TrimSpace(line), skipLine):
			skipped = true
		case framing(line):
		default:
			kept = append(kept, line)
		}
	}
	return reached, skipped, dedent(kept)
}

// dedent removes the indentation common to the non-blank lines and joins them.
func dedent(lines []string) string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if common < 0 || n < common {
			common = n
		}
	}
	for i, l := range lines {
		if len(l) >= common && common > 0 {
			lines[i] = l[common:]
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// indent indents every line of s by four spaces, for nesting the child's output in a message.
func indent(s string) string {
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// debugCommand is a shell command that runs the child by hand.
func debugCommand(id, name string, keys []string, env map[string]string) string {
	parts := []string{childEnv + "=" + shellQuote(id)}
	for _, k := range keys {
		parts = append(parts, k+"="+shellQuote(env[k]))
	}
	parts = append(parts, "go test -count=1 -v -run", shellQuote(golden.RunPattern(name)), ".")
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func describeOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, " ")
}
