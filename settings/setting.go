package settings

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// A Setting is a typed configuration value read lazily: [Setting.Get] looks the value up every time and
// parses it only when the text changed, so a Setting never goes stale, not even after a plain
// [testing.T.Setenv]. Define one per value at package level, and call Get where the value is used, never in
// a package-level var (that would copy it at start-up and bring the trap back):
//
//	var putEggs = settings.Define("PUT_EGGS", false, strconv.ParseBool)
//
//	func lay() int { if putEggs.Get() { return 3 }; return 0 }
//
// A Setting is safe for concurrent use.
type Setting[T any] struct {
	name  string
	def   T
	parse func(string) (T, error)
	src   *Source // nil: the environment

	cache atomic.Pointer[reading[T]] // the last value read
	over  atomic.Pointer[box[T]]     // the innermost Set override, nil if none
}

// reading is a parsed value and the text it came from.
type reading[T any] struct {
	raw string
	ok  bool // raw was present
	v   T
	err error
}

// box holds a value so that a nil interface value survives a trip through an atomic pointer or a context.
type box[T any] struct{ v T }

// Define returns a setting named name, read from the environment variable of that name (or from a
// [Source], see [WithSource]) and converted with parse. When the value is absent or parse fails, [Setting.Get]
// returns def; [Setting.Err] says why. parse may be nil when T is string. strconv.ParseBool,
// strconv.Atoi and time.ParseDuration fit as they are.
//
// Define panics if name is empty, if parse is nil and T is not string, or if an option does not apply to it.
func Define[T any](name string, def T, parse func(string) (T, error), opts ...Option) *Setting[T] {
	if name == "" {
		panic(failure.Format("settings", "Define at "+callerSite(2)+": empty name, want one", nil, "use the environment variable or key the value is read from"))
	}
	if parse == nil {
		p, ok := any(func(s string) (string, error) { return s, nil }).(func(string) (T, error))
		if !ok {
			panic(failure.Format("settings", fmt.Sprintf("Define(%q) at %s: nil parse for a setting of type %T, want a parse function", name, callerSite(2), def),
				nil, "pass a function such as strconv.ParseBool"))
		}
		parse = p
	}
	c := newConfig(fmt.Sprintf("Define(%q) at %s", name, callerSite(2)), []string{"WithSource"}, opts)
	s := &Setting[T]{name: name, def: def, parse: parse, src: c.src}
	global.addChecker(name, s)
	return s
}

// Name returns the setting's name: the environment variable or [Source] key it reads, and the key that
// overrides of it change (see [WithKeys]).
func (s *Setting[T]) Name() string { return s.name }

// Get returns the current value: the innermost override made with [Set] if a test made one, else the
// value read now from the environment or the [Source], parsed; the default when it is absent or does not
// parse.
func (s *Setting[T]) Get() T {
	if b := s.over.Load(); b != nil {
		return b.v
	}
	return s.read().v
}

// Err returns why [Setting.Get] returns the default although a value is present: the parse error. It is nil
// when the value is absent, valid or overridden with [Set].
func (s *Setting[T]) Err() error {
	if s.over.Load() != nil {
		return nil
	}
	return s.read().err
}

// From returns the value [WithValue] put in ctx for this setting, or else [Setting.Get]. Code that takes a
// context should read its settings this way, so that tests can override them in parallel.
func (s *Setting[T]) From(ctx context.Context) T {
	if b, ok := ctx.Value(ctxKey[T]{s}).(box[T]); ok {
		return b.v
	}
	return s.Get()
}

// OnChange registers fn to be called with the new value (as [Setting.Get] returns it) whenever an override
// made through this package changes the setting, and again when the override is restored; also when
// [Reload] runs with this setting's name or with no key. Hooks run with the reinitialisers, in registration
// order, so use it for state that must still be derived eagerly. Call it from an init function.
func (s *Setting[T]) OnChange(fn func(T)) {
	e := &entry{
		name: "OnChange(" + s.name + ")",
		fn:   func() { fn(s.Get()) },
		keys: map[string]bool{s.name: true},
		site: callerSite(2),
		hook: true,
	}
	if fn == nil {
		panic(failure.Format("settings", e.name+" at "+e.site+": nil function, want one", nil, "pass the function to call with the new value"))
	}
	global.mu.Lock()
	defer global.mu.Unlock()
	global.add(e)
}

// read returns the value from the source, parsing it only if the text differs from the last read.
func (s *Setting[T]) read() *reading[T] {
	raw, ok := s.lookup()
	if c := s.cache.Load(); c != nil && c.raw == raw && c.ok == ok {
		return c
	}
	r := &reading[T]{raw: raw, ok: ok, v: s.def}
	if ok {
		if v, err := s.parse(raw); err != nil {
			r.err = fmt.Errorf("settings: %s=%q is not a valid value, so %s is the default %v: %w", s.name, raw, s.name, s.def, err)
		} else {
			r.v = v
		}
	}
	s.cache.Store(r)
	return r
}

func (s *Setting[T]) lookup() (string, bool) {
	if s.src != nil {
		return s.src.Lookup(s.name)
	}
	return os.LookupEnv(s.name)
}

// source and check make a Setting a checker: overrides of its key are validated before they run the
// reinitialisers.
func (s *Setting[T]) source() *Source { return s.src }
func (s *Setting[T]) check() error    { return s.read().err }

// ctxKey is the context key of a setting's value. A struct of one pointer converts to an interface
// without allocating.
type ctxKey[T any] struct{ s *Setting[T] }

// WithValue returns a copy of ctx in which s reads v, through [Setting.From]. Unlike the other overrides
// it changes nothing process-wide, so it is safe in parallel tests and needs no restore.
func WithValue[T any](ctx context.Context, s *Setting[T], v T) context.Context {
	return context.WithValue(ctx, ctxKey[T]{s}, box[T]{v})
}
