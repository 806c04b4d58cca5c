package settings

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/dbsuite/dbsuite/internal/callsite"
	"github.com/dbsuite/dbsuite/internal/failure"
)

// entry is one registered reinitialiser.
type entry struct {
	name  string
	fn    func()
	keys  map[string]bool // run when one of these changed
	after []string        // run when one of these ran
	site  string          // file.go:line of the Register call
	hook  bool            // a Setting's OnChange hook: not in byName, so After cannot name it
}

// filtered reports whether the entry declared what it depends on; an unfiltered entry runs on every change.
func (e *entry) filtered() bool { return e.keys != nil || e.after != nil }

func (e *entry) String() string { return fmt.Sprintf("%q (%s)", e.name, e.site) }

// A checker validates the current value of a [Setting] for a key; see registry.check.
type checker interface {
	source() *Source
	check() error
}

// registry holds the reinitialisers, in registration order, and the settings by key.
type registry struct {
	mu       sync.Mutex // guards the fields below
	entries  []*entry
	byName   map[string]*entry
	checkers map[string][]checker

	runMu sync.Mutex // one run at a time, so reinitialisers never run concurrently
}

// global is the registry used by the exported functions.
var global = new(registry)

// Register records reinit, a function that rebuilds state derived from configuration, under name. Call it
// from an init function, next to the code it rebuilds:
//
//	var Hoard = build()
//
//	func init() { settings.Register("dragon", func() { Hoard = build() }, settings.WithKeys("PUT_EGGS")) }
//
// Reinitialisers run in registration order, which is package init order. Test overrides run them (and
// restore and run them again at the end of the test); production code can run them with [Reload], for
// instance after flag.Parse or after reloading a config file. A reinitialiser must be safe to run again
// and again, and must not call [Reload] or override anything itself: runs do not nest. Without options it runs on every change;
// [WithKeys] and [WithAfter] narrow that.
//
// Register panics if name is empty or already registered, if reinit is nil, if [WithAfter] names a
// reinitialiser that is not registered yet, or if an option does not apply to it: all are mistakes in the
// program, found at start-up.
func Register(name string, reinit func(), opts ...Option) {
	global.register(name, reinit, callerSite(2), opts...)
}

func (r *registry) register(name string, fn func(), site string, opts ...Option) {
	c := newConfig(fmt.Sprintf("Register(%q) at %s", name, site), []string{"WithKeys", "WithAfter"}, opts)
	e := &entry{name: name, fn: fn, site: site, keys: c.keys, after: c.after}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case name == "":
		panic(failure.Format("settings", "Register at "+site+": empty name, want a name", nil, "give the reinitialiser a name that tests and messages can use"))
	case fn == nil:
		panic(failure.Format("settings", fmt.Sprintf("Register(%q) at %s: nil reinitialiser, want a function", name, site), nil, "pass the function that rebuilds the state"))
	case r.byName[name] != nil:
		panic(failure.Format("settings", fmt.Sprintf("Register(%q) at %s: the name is already registered at %s, want one reinitialiser per name", name, site, r.byName[name].site),
			nil, "give each reinitialiser its own name"))
	}
	for _, a := range e.after {
		if r.byName[a] == nil {
			panic(failure.Format("settings", fmt.Sprintf("Register(%q) at %s: WithAfter(%q), but no reinitialiser %q is registered yet, want it registered first", name, site, a, a),
				[]string{"reinitialisers run in registration order, so the one that copies must register after the one it copies from"},
				fmt.Sprintf("register %q first; package init order does it when this package imports the one that registers it", a)))
		}
	}
	r.add(e)
}

// add appends e; the caller holds r.mu.
func (r *registry) add(e *entry) {
	if r.byName == nil {
		r.byName = make(map[string]*entry)
	}
	if !e.hook {
		r.byName[e.name] = e
	}
	r.entries = append(r.entries, e)
}

// addChecker records a setting that validates values for key.
func (r *registry) addChecker(key string, c checker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checkers == nil {
		r.checkers = make(map[string][]checker)
	}
	r.checkers[key] = append(r.checkers[key], c)
}

// check validates the current value of key in src (nil: the environment) against every setting that reads
// it, and returns the errors joined, or nil.
func (r *registry) check(src *Source, key string) error {
	r.mu.Lock()
	cs := slices.Clone(r.checkers[key])
	r.mu.Unlock()
	var errs []error
	for _, c := range cs {
		if c.source() == src {
			errs = append(errs, c.check())
		}
	}
	return errors.Join(errs...)
}

// hasSetting reports whether a setting reads key, so an override of it is seen even with no reinitialiser.
func (r *registry) hasSetting(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.checkers[key]) > 0
}

// A reinitPanic is a reinitialiser that panicked.
type reinitPanic struct {
	entry *entry
	value any    // what it panicked with
	at    string // where: file.go:line (pkg.Func)
}

// Error describes the panic; Reload returns it.
func (p *reinitPanic) Error() string {
	at := ""
	if p.at != "" {
		at = " at " + p.at
	}
	return fmt.Sprintf("settings: reinitialiser %v panicked%s: %v", p.entry, at, p.value)
}

// Unwrap returns the panic value if it is an error.
func (p *reinitPanic) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

// A report says what a run did.
type report struct {
	ran    []*entry
	panics []*reinitPanic
}

// names lists the reinitialisers that ran, for log lines.
func (rep report) names() string {
	if len(rep.ran) == 0 {
		return "none"
	}
	names := make([]string, len(rep.ran))
	for i, e := range rep.ran {
		names[i] = e.name
	}
	return strings.Join(names, ", ")
}

// run calls, in registration order, every reinitialiser affected by keys: the unfiltered ones, those that
// declared one of keys, and those After one that ran. With no keys it calls them all. A reinitialiser that
// panics is recorded and the rest still run.
func (r *registry) run(keys []string) report {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	r.mu.Lock()
	entries := slices.Clone(r.entries)
	r.mu.Unlock()

	var rep report
	ran := make(map[string]bool)
	for _, e := range entries {
		if !affected(e, keys, ran) {
			continue
		}
		ran[e.name] = true
		rep.ran = append(rep.ran, e)
		if p := call(e); p != nil {
			rep.panics = append(rep.panics, p)
		}
	}
	return rep
}

// affected reports whether e must run when keys changed and the reinitialisers in ran already ran.
func affected(e *entry, keys []string, ran map[string]bool) bool {
	if len(keys) == 0 || !e.filtered() {
		return true
	}
	for _, k := range keys {
		if e.keys[k] {
			return true
		}
	}
	for _, a := range e.after {
		if ran[a] {
			return true
		}
	}
	return false
}

// call runs e, turning a panic into a reinitPanic.
func call(e *entry) (p *reinitPanic) {
	defer func() {
		if v := recover(); v != nil {
			p = &reinitPanic{entry: e, value: v, at: panicSite()}
		}
	}()
	e.fn()
	return nil
}

// Reload runs the reinitialisers affected by keys (all of them when keys is empty) in registration order,
// as a test override does. Production code calls it after changing what the reinitialisers read: after
// flag.Parse, after [Source.LoadFile], after os.Setenv. A reinitialiser that panics does not stop the
// others; Reload returns every panic, joined, as an error that unwraps to the panic value when that is an
// error.
func Reload(keys ...string) error {
	rep := global.run(keys)
	errs := make([]error, len(rep.panics))
	for i, p := range rep.panics {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// callerSite returns file.go:line of the caller skip frames up.
func callerSite(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown"
	}
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

// panicSite, called from a deferred function while panicking, returns where the panic started: the first
// frame after runtime.gopanic that is not in the runtime.
func panicSite() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return callsite.Frame{File: f.File, Line: f.Line, Func: f.Function}.String()
		}
		if !more {
			return ""
		}
	}
}
