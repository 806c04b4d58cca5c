package assertq

import "fmt"

// An Option configures what it is given to; each option's doc says which. When options set the same knob, the
// last wins.
//
//   - [New]: [Strict], [HideArgs], [WithLibraryCode], [WithIgnore], [WithMaxQueries], [Preflight];
//   - the plan checks [NoRowExplosion], [NoSeqScan] and [NoLongLists]: [Factor], [MinRows], [MaxItems],
//     [MaxParams], [Only];
//   - [ExpectScaling]: [MaxExponent], [NoRowGrowth].
//
// An option given where it does not apply is a mistake in the test: New and ExpectScaling fail the test, and a
// plan check panics, naming the option and where it belongs.
type Option interface{ option() *option }

// option is every Option: its name as written, where it applies, and what it sets.
type option struct {
	name  string
	where where
	set   func(*options)
}

func (o *option) option() *option { return o }

// where says what an option applies to.
type where uint8

const (
	forNew where = iota
	forPlan
	forScale
)

func (w where) String() string {
	return [...]string{forNew: "assertq.New", forPlan: "a plan check (NoRowExplosion, NoSeqScan, NoLongLists)", forScale: "assertq.ExpectScaling"}[w]
}

// options holds every knob; each caller reads its part.
type options struct {
	config
	plan  planConfig
	scale scaleConfig
}

// apply applies opts that belong to at onto o, and returns an error naming the first that does not.
func (o *options) apply(opts []Option, at where) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		x := opt.option()
		if x.where != at {
			return fmt.Errorf("assertq: %s given to %s, want it given to %s", x.name, at, x.where)
		}
		x.set(o)
		if at == forPlan {
			o.plan.opts = append(o.plan.opts, x.name)
		}
	}
	return nil
}

type config struct {
	strict     bool
	hideArgs   bool
	ignore     []Filter
	library    []string
	maxQueries int

	preflight []Check // Preflight: plan checks run before each new statement shape (preflight.go)
}

// defaultMaxQueries is WithMaxQueries' default.
const defaultMaxQueries = 10_000

// newOption returns an Option of New.
func newOption(name string, set func(*config)) Option {
	return &option{name: name, where: forNew, set: func(o *options) { set(&o.config) }}
}

// Strict makes every N+1, row-by-row write and duplicate query the Recorder sees fail the test at cleanup,
// whether or not an [Expect] checked for it: the suite-wide switch that turns the finding into a test failure.
// Queries are grouped per Expect block (a table-driven test's cases are not an N+1 across each other); queries
// run under [Allow], left out by [WithIgnore], or reading the system catalogs are exempt. The failure is reported
// at the line that called New. Default: off.
func Strict() Option { return newOption("Strict()", func(c *config) { c.strict = true }) }

// HideArgs keeps argument values out of failure messages (they are still compared, to tell an N+1 from a
// duplicate). Default: messages show up to three argument lists per finding, each value cut at 40 characters.
func HideArgs() Option { return newOption("HideArgs()", func(c *config) { c.hideArgs = true }) }

// WithLibraryCode names packages, by import path prefix ("github.com/acme/dbutil"), that are not where a query
// comes from: call sites then point at the code that called them. The last WithLibraryCode wins. Default: none
// beyond the Go runtime, testing, database/sql, pgx, lib/pq, go-sqlmock, sqlx, scany, squirrel, bun, GORM and
// dbsuite, which are always library code.
func WithLibraryCode(prefixes ...string) Option {
	return newOption("WithLibraryCode(...)", func(c *config) { c.library = prefixes })
}

// WithIgnore leaves the queries any of filters selects out of everything the Recorder reports: [Recorder.Queries],
// every check and golden file. For schema introspection, an audit trigger's insert, a health check. The last
// WithIgnore wins. Default: nothing left out. [Ignore] does the same for the checks of one call.
func WithIgnore(filters ...Filter) Option {
	return newOption("WithIgnore(...)", func(c *config) { c.ignore = filters })
}

// WithMaxQueries sets how many queries the Recorder keeps in full for [Recorder.Queries]: past it, Queries
// returns the first n, and says so in the test log. [Expect] blocks keep every query of their own, and [Strict]
// checks every query the Recorder saw from per-statement counts, so a long suite's memory grows with the
// statements it runs, not with the queries. n < 1 means the default, 10,000.
func WithMaxQueries(n int) Option {
	return newOption(fmt.Sprintf("WithMaxQueries(%d)", n), func(c *config) { c.maxQueries = n })
}
