package settings

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// An Option configures [Register] or [Define]; each says which it applies to. The last one of a kind wins,
// except [WithKeys] and [WithAfter], which add up. An option given where it does not apply panics, as the
// other mistakes found at start-up do.
type Option func(*config)

type config struct {
	keys  map[string]bool // nil: no WithKeys
	after []string
	src   *Source
	set   []string // the options given, by name
}

func (c *config) mark(name string) {
	if !slices.Contains(c.set, name) {
		c.set = append(c.set, name)
	}
}

// WithKeys makes a reinitialiser given to [Register] run only when one of keys changes (or when one named by
// [WithAfter] ran). A key is the name an override uses: an environment variable for [Setenv] and
// [Unsetenv], a flag name without the dash for [SetFlag], a key of a [Source] for [SetValue], the name given
// to [Replace], or the name of a [Setting]. Running a reinitialiser that did not need to run is harmless, so
// keys from different kinds of override may share a name. Default: every change runs it.
func WithKeys(keys ...string) Option {
	return func(c *config) {
		if c.keys == nil {
			c.keys = make(map[string]bool, len(keys))
		}
		for _, k := range keys {
			c.keys[k] = true
		}
		c.mark("WithKeys")
	}
}

// WithAfter makes a reinitialiser given to [Register] run whenever one of the named reinitialisers ran: use
// it in a package that copied another package's derived value. The named reinitialisers must already be
// registered, which package init order guarantees when the copying package imports the one it copies from.
// Default: none.
func WithAfter(names ...string) Option {
	return func(c *config) { c.after = append(c.after, names...); c.mark("WithAfter") }
}

// WithSource makes a [Setting] made by [Define] read its value from src instead of the environment: use it
// for values from a config file or flags gathered in a [Source]. Default: the environment.
func WithSource(src *Source) Option {
	return func(c *config) { c.src = src; c.mark("WithSource") }
}

// newConfig applies opts, and panics if one of them is not among applies.
func newConfig(caller string, applies []string, opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	for _, name := range c.set {
		if !slices.Contains(applies, name) {
			panic(failure.Format("settings", fmt.Sprintf("%s: %s does not apply to it, want only %s", caller, name, strings.Join(applies, ", ")),
				nil, "remove "+name+" from the call"))
		}
	}
	return c
}
