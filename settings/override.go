package settings

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// sentinel is the environment variable set with tb.Setenv to borrow the standard library's parallel-test
// guard: testing.T.Setenv panics in a test that is parallel or has a parallel parent, and once it has run,
// a later t.Parallel panics.
const sentinel = "DBSUITE_SETTINGS_OVERRIDE"

// A scope holds one test's overrides, to restore at its end.
type scope struct {
	tb    testing.TB
	undos []undo // in the order they were made
}

// An undo restores one override.
type undo struct {
	key     string
	what    string // Setenv(PUT_EGGS="true"), for messages
	restore func() error
}

var (
	scopesMu sync.Mutex
	scopes   = map[testing.TB]*scope{}
	holders  = map[string][]*scope{} // key → the scopes overriding it, outermost first
)

// Setenv sets the environment variable key to value for the rest of the test, then runs the
// reinitialisers that depend on key, so that state derived from it at start-up follows. At the end of the
// test the variable is restored (unset again if it was unset) and the reinitialisers run again.
//
// Like [testing.T.Setenv], Setenv fails the test at once if it or a parent test runs in parallel, and
// prevents a later t.Parallel. It also fails the test if a [Setting] named key cannot parse value.
//
// Change a key that reinitialisers read through this package only: if the test had already changed it
// with t.Setenv, the testing package would put that back after this package restored the key and re-ran
// the reinitialisers, leaving them built from the test's value.
func Setenv(tb testing.TB, key, value string) {
	tb.Helper()
	override(tb, key, fmt.Sprintf("Setenv(%s=%q)", key, value), nil, true, func() (func() error, error) {
		return setenv(key, value, true)
	})
}

// Unsetenv removes the environment variable key for the rest of the test, which is not the same as setting
// it to "": os.LookupEnv reports it absent. Otherwise it works like [Setenv].
func Unsetenv(tb testing.TB, key string) {
	tb.Helper()
	override(tb, key, fmt.Sprintf("Unsetenv(%s)", key), nil, true, func() (func() error, error) {
		return setenv(key, "", false)
	})
}

// setenv sets or unsets key and returns how to put it back.
func setenv(key, value string, set bool) (func() error, error) {
	prev, had := os.LookupEnv(key)
	var err error
	if set {
		err = os.Setenv(key, value)
	} else {
		err = os.Unsetenv(key)
	}
	if err != nil {
		return nil, problem("the environment refuses it: "+err.Error(), "use a key without '=' or NUL and a value without NUL", err)
	}
	return func() error {
		if had {
			return os.Setenv(key, prev)
		}
		return os.Unsetenv(key)
	}, nil
}

// SetFlag sets the flag name in fs (flag.CommandLine when fs is nil) to value, as if it had been given on
// the command line, and runs the reinitialisers that depend on name. At the end of the test the flag's
// previous value is set again and they run again. It fails the test if there is no such flag or the flag
// rejects value. The flag stays marked as set for [flag.Visit]: package flag cannot undo that.
func SetFlag(tb testing.TB, fs *flag.FlagSet, name, value string) {
	tb.Helper()
	if fs == nil {
		fs = flag.CommandLine
	}
	override(tb, name, fmt.Sprintf("SetFlag(-%s=%q)", name, value), nil, true, func() (func() error, error) {
		f := fs.Lookup(name)
		if f == nil {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, "-"+f.Name) })
			return nil, problem(fmt.Sprintf("flag set %s has no flag -%s (it has %s)", fs.Name(), name, describe(names)),
				"pass the name of a defined flag, without the dash, and the flag set that defines it (nil for flag.CommandLine)", nil)
		}
		prev := f.Value.String()
		if err := fs.Set(name, value); err != nil {
			// Some flag values change even when Set fails (an int flag becomes 0): put it back.
			if rerr := f.Value.Set(prev); rerr != nil {
				return nil, problem(fmt.Sprintf("flag -%s rejects %q: %v; and setting the previous value %q back failed: %v", name, value, err, prev, rerr),
					"pass a value the flag accepts on the command line", err)
			}
			return nil, problem(fmt.Sprintf("flag -%s rejects %q: %v; it keeps %q", name, value, err, prev), "pass a value the flag accepts on the command line", err)
		}
		return func() error {
			if err := fs.Set(name, prev); err != nil {
				return fmt.Errorf("setting -%s back to %q: %w", name, prev, err)
			}
			return nil
		}, nil
	})
}

// SetValue overrides key in src with value for the rest of the test and runs the reinitialisers that
// depend on key; at the end of the test the override is removed and they run again. It fails the test if a
// [Setting] reading key from src cannot parse value.
func SetValue(tb testing.TB, src *Source, key, value string) {
	tb.Helper()
	override(tb, key, fmt.Sprintf("SetValue(%s: %s=%q)", src.Name(), key, value), src, true, func() (func() error, error) {
		return src.push(key, layer{value: value, set: true}), nil
	})
}

// UnsetValue makes key absent from src for the rest of the test, as if the config file did not have it;
// otherwise it works like [SetValue].
func UnsetValue(tb testing.TB, src *Source, key string) {
	tb.Helper()
	override(tb, key, fmt.Sprintf("UnsetValue(%s: %s)", src.Name(), key), src, true, func() (func() error, error) {
		return src.push(key, layer{}), nil
	})
}

// Replace sets the variable *p to v for the rest of the test and runs the reinitialisers that depend on
// key, the name that stands for the variable in [WithKeys] and in messages (say "mario.Lives"). At the end of
// the test *p gets its old value back and they run again. Use it for a package variable that other
// state is derived from, or to patch a copy that no reinitialiser rebuilds.
func Replace[T any](tb testing.TB, key string, p *T, v T) {
	tb.Helper()
	override(tb, key, fmt.Sprintf("Replace(%s)", key), nil, true, func() (func() error, error) {
		if p == nil {
			return nil, problem("nil pointer, want the address of the variable", "pass the address of the variable, &pkg.Var", nil)
		}
		prev := *p
		*p = v
		return func() error { *p = prev; return nil }, nil
	})
}

// Set makes s return v for the rest of the test, from [Setting.Get] and [Setting.From] (unless the
// context has its own value), and runs the reinitialisers and [Setting.OnChange] hooks that depend on the
// setting's name; at the end of the test the previous value comes back and they run again.
func Set[T any](tb testing.TB, s *Setting[T], v T) {
	tb.Helper()
	override(tb, s.name, fmt.Sprintf("Set(%s=%v)", s.name, v), nil, false, func() (func() error, error) {
		prev := s.over.Load()
		s.over.Store(&box[T]{v})
		return func() error { s.over.Store(prev); return nil }, nil
	})
}

// override is what every override does: refuse a parallel test, claim key against other tests, apply the
// change and record how to undo it, validate the new value, and run the reinitialisers.
func override(tb testing.TB, key, what string, src *Source, validate bool, apply func() (func() error, error)) {
	tb.Helper()
	sc := scopeOf(tb, what)
	claim(sc, key, what)
	restore, err := apply()
	if err != nil {
		tb.Fatalf("%s", prefixed(what+" in "+tb.Name()+": ", err))
	}
	sc.undos = append(sc.undos, undo{key: key, what: what, restore: restore})

	if err := global.check(src, key); validate && err != nil {
		tb.Fatalf("%s", failure.Format("settings", what+" in "+tb.Name()+": the value is not valid, want one the setting accepts",
			[]string{strings.ReplaceAll(err.Error(), "settings: ", "")}, "override with a value the setting accepts"))
	}
	rep := global.run([]string{key})
	if len(rep.panics) > 0 {
		tb.Fatalf("%s", panicMessage(rep, what+" in "+tb.Name(), "the override is restored at the end of the test",
			"make the reinitialiser accept the new value, or override with a value it accepts"))
	}
	switch {
	case len(rep.ran) > 0:
		tb.Logf("settings: %s: re-ran %s", what, rep.names())
	case !global.hasSetting(key):
		tb.Logf("settings: %s: no reinitialiser depends on %s, so values built from it at start-up keep their old value "+
			"(register one with settings.Register(name, rebuild, settings.WithKeys(%q)), or use settings.Subprocess)", what, key, key)
	}
}

// scopeOf returns the scope of tb, making it (after the parallel check) on first use.
func scopeOf(tb testing.TB, what string) *scope {
	tb.Helper()
	scopesMu.Lock()
	sc := scopes[tb]
	scopesMu.Unlock()
	if sc != nil {
		return sc
	}
	refuseParallel(tb, what)
	sc = &scope{tb: tb}
	scopesMu.Lock()
	scopes[tb] = sc
	scopesMu.Unlock()
	tb.Cleanup(sc.end)
	return sc
}

// refuseParallel fails the test if it, or a parent, is parallel, using testing.T.Setenv's own check.
func refuseParallel(tb testing.TB, what string) {
	tb.Helper()
	var refused any
	func() {
		defer func() { refused = recover() }()
		tb.Setenv(sentinel, "1")
	}()
	if refused == nil {
		return
	}
	if msg, ok := refused.(string); !ok || !strings.Contains(msg, "Parallel") {
		panic(refused) // not the testing package's parallel check: a testing.TB whose Setenv is broken
	}
	name := tb.Name()
	tb.Fatalf("%s", failure.Format("settings",
		what+" in "+name+", which runs in parallel with other tests (it or a parent test called t.Parallel), want a test that does not run in parallel",
		[]string{"every test running at the same time would see a process-wide override"},
		"remove t.Parallel from "+name+" and its parents; or read the value with Setting.From(ctx) and override it with settings.WithValue, which is safe in parallel tests; or run the test in a child process with settings.Subprocess"))
}

// claim records that sc overrides key, and fails the test if another test, neither sc's own test nor one
// of its parents, holds an override of key.
func claim(sc *scope, key, what string) {
	tb := sc.tb
	tb.Helper()
	name := tb.Name()
	scopesMu.Lock()
	var other *scope
	for _, h := range holders[key] {
		hn := h.tb.Name()
		if h != sc && hn != name && !strings.HasPrefix(name, hn+"/") {
			other = h
			break
		}
	}
	if other == nil && !slices.Contains(holders[key], sc) {
		holders[key] = append(holders[key], sc)
	}
	scopesMu.Unlock()
	if other != nil {
		on := other.tb.Name()
		tb.Fatalf("%s", failure.Format("settings",
			fmt.Sprintf("%s in %s, but %s is overriding %s at the same time, want one test at a time overriding a key", what, name, on, key),
			[]string{"a test and its subtests may nest overrides"},
			fmt.Sprintf("do not run %s and %s at the same time (remove t.Parallel, or make sure neither outlives its test); or read the value with Setting.From(ctx) and give each test its own with settings.WithValue", on, name)))
	}
}

// end restores the scope's overrides in reverse order, releases its keys, then runs the reinitialisers
// once for every key it changed. A restore that fails or a reinitialiser that panics is reported and does
// not stop the others.
func (sc *scope) end() {
	tb := sc.tb
	tb.Helper()
	var keys, whats []string
	for i := len(sc.undos) - 1; i >= 0; i-- {
		u := sc.undos[i]
		if err := safeRestore(u.restore); err != nil {
			tb.Errorf("%s", failure.Format("settings", fmt.Sprintf("restoring %s after %s: %v", u.what, tb.Name(), err),
				[]string{"the other overrides were restored; later tests may see this value"},
				"make the value restorable (a flag's String must give back a value its Set accepts)"))
		}
		if !slices.Contains(keys, u.key) {
			keys = append(keys, u.key)
		}
		whats = append(whats, u.what)
	}
	scopesMu.Lock()
	delete(scopes, tb)
	for k, hs := range holders {
		hs = slices.DeleteFunc(hs, func(h *scope) bool { return h == sc })
		if len(hs) == 0 {
			delete(holders, k)
		} else {
			holders[k] = hs
		}
	}
	scopesMu.Unlock()
	if len(keys) == 0 {
		return
	}
	rep := global.run(keys)
	what := "restoring " + strings.Join(whats, ", ") + " after " + tb.Name()
	if len(rep.panics) > 0 {
		tb.Errorf("%s", panicMessage(rep, what, "the other overrides were restored and the other reinitialisers ran; the state built by the one that panicked may be stale for later tests",
			"make the reinitialiser accept the restored value"))
		return
	}
	if len(rep.ran) > 0 {
		tb.Logf("settings: %s: re-ran %s", what, rep.names())
	}
}

// safeRestore calls restore, turning a panic (a flag.Value's Set may panic) into an error, so that the
// other overrides are still restored.
func safeRestore(restore func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic at %s: %v", panicSite(), v)
		}
	}()
	return restore()
}

// panicMessage describes the reinitialisers that panicked during a run.
func panicMessage(rep report, when, after, fix string) string {
	details := make([]string, 0, len(rep.panics)+1)
	for _, p := range rep.panics {
		details = append(details, strings.TrimPrefix(p.Error(), "settings: "))
	}
	details = append(details, after)
	headline := fmt.Sprintf("while %s: %d of %d reinitialisers panicked (ran: %s), want each to run", when, len(rep.panics), len(rep.ran), rep.names())
	return failure.Format("settings", headline, details, fix)
}

// problem is why an override cannot be applied: what happened, want what, and the fix.
func problem(headline, fix string, err error) error {
	return &failure.Error{Pkg: "settings", Headline: headline, Fixes: []string{fix}, Err: err}
}

// prefixed renders err, a problem or another error, with prefix before its headline.
func prefixed(prefix string, err error) string {
	var fe *failure.Error
	if errors.As(err, &fe) {
		return failure.Format(fe.Pkg, prefix+fe.Headline, fe.Details, fe.Fixes...)
	}
	return failure.Format("settings", prefix+err.Error(), nil)
}
