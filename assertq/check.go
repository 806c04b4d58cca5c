package assertq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// A Check is one expectation about queries, for [Verify] and [Expect]: [Count], [AtMost], [NoQueries],
// [NoNPlusOne], or [Ignore] (which changes what the others see).
//
// Every check leaves out queries run under [Allow] and those an [Ignore] in the same call selects. Budgets leave
// out transaction control (BEGIN, COMMIT, SAVEPOINT ...) unless one of their filters is [Transaction].
type Check interface {
	// String names the check in summaries: "AtMost(2)".
	String() string
	check(qs Queries) error
}

// Verify runs every check on queries and returns their violations joined with [errors.Join], or nil. Each
// violation's message starts with what happened and what was wanted, lists the queries grouped by statement and
// call site, and ends with a fix; a finding that one violation lists in full, the next names without repeating.
func Verify(queries Queries, checks ...Check) error {
	errs, _ := verify(queries, checks)
	return errors.Join(errs...)
}

// verify returns the violations, rendered together, and the checks that failed.
func verify(queries Queries, checks []Check) (errs []error, failed []Check) {
	var leaveOut []Filter
	for _, c := range checks {
		if l, ok := c.(ignore); ok {
			leaveOut = append(leaveOut, l...)
		}
	}
	checked := make(Queries, 0, len(queries))
	for i := range queries {
		if q := &queries[i]; !q.Allowed && !matchAny(q, leaveOut) {
			checked = append(checked, *q)
		}
	}
	shown := map[findingKey]bool{}
	for _, c := range checks {
		err := c.check(checked)
		if err == nil {
			continue
		}
		failed = append(failed, c)
		for _, e := range unjoin(err) {
			if v, ok := e.(*violation); ok {
				e = v.render(shown)
			}
			errs = append(errs, e)
		}
	}
	return errs, failed
}

// unjoin returns the errors err joins, or err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func matchAny(q *Query, filters []Filter) bool {
	for _, f := range filters {
		if f.match(q) {
			return true
		}
	}
	return false
}

// Expect runs fn with a context that ties its queries to this block, then reports through t.Errorf every check
// the block's queries fail, followed by a one-line summary. It returns the block's queries (for [Golden], say).
//
// A block's queries are those whose context derives from the one fn receives, even when they run in other
// goroutines. A query that carries no block's context (code that uses context.Background(), a global *gorm.DB
// without WithContext) belongs to the block if it was the only block open when the query ran, and the failure
// says so; when several blocks were open (parallel tests), it belongs to none, and each of them says how many
// such queries could not be attributed, failing if that leaves it with no query of its own. A block inside
// another block of the same test counts for both.
func Expect(t testing.TB, rec *Recorder, fn func(ctx context.Context), checks ...Check) Queries {
	t.Helper()
	if rec == nil {
		t.Fatalf("%s", &failure.Error{Pkg: "assertq", Headline: "Expect got a nil *Recorder, want one",
			Fixes: []string{"make one with rec := assertq.New(t)"}})
		return nil
	}
	qs, b := rec.runBlock(t, fn, checks...)
	stray := int(b.stray.Load())
	errs, failed := verify(qs, checks)
	var strayFound []Finding
	if stray > 0 && checksFindings(checks) {
		strayFound = rec.strayFindings(b)
	}
	if stray > 0 && (len(qs) == 0 || len(errs) > 0 || len(strayFound) > 0) {
		errs = append(errs, strayError(stray, len(qs), strayFound))
	}
	if len(errs) > 0 {
		t.Errorf("%s\n%s", errors.Join(errs...), summary(failed, checks, qs))
	} else if stray > 0 {
		t.Logf("%s", strayError(stray, len(qs), nil))
	}
	return qs
}

// checksFindings reports whether checks hold NoNPlusOne, which looks for findings.
func checksFindings(checks []Check) bool {
	return slices.ContainsFunc(checks, func(c Check) bool { _, ok := c.(noNPlusOne); return ok })
}

// strayError says that n queries ran while the block was open, without a block's context, and could not be
// attributed because other blocks were open too; and which findings they hold, if any: a loop that is this
// block's or another's, which dbsuite cannot tell, is reported rather than passed.
func strayError(n, own int, found []Finding) error {
	e := &failure.Error{Pkg: "assertq",
		Headline: fmt.Sprintf("%d %s carried no block's context and ran while this block and others were open: they could not be attributed, so this block's checks saw %d %s; want every query tied to its block",
			n, plural(n, "query", "queries"), own, plural(own, "query", "queries")),
		Fixes: []string{"pass the ctx that Expect gives to the code under test (a *gorm.DB: db.WithContext(ctx); bun and database/sql: the ...Context methods), or give code you cannot change a context from rec.Context(ctx)"}}
	if len(found) > 0 {
		e.Details = append(e.Details, "among them, from this block's code or another's (dbsuite cannot tell which):")
		for _, f := range found {
			e.Details = append(e.Details, "  "+f.String())
		}
	}
	return e
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// summary is the last line of a report: "assertq: 2 of 3 checks failed: AtMost(2), NoNPlusOne()", and how many
// of the queries were tied to the block by time rather than by context.
func summary(failed, checks []Check, qs Queries) string {
	total := 0
	for _, c := range checks {
		if _, ok := c.(ignore); !ok {
			total++
		}
	}
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.String()
	}
	s := fmt.Sprintf("assertq: %d of %d %s failed: %s", len(failed), total, plural(total, "check", "checks"), strings.Join(names, ", "))
	if len(failed) == 0 {
		names = names[:0]
		for _, c := range checks {
			if _, ok := c.(ignore); !ok {
				names = append(names, c.String())
			}
		}
		s = "assertq: " + strings.Join(names, ", ") + " passed on the block's own queries, but could not see the queries above"
		if len(qs) == 0 {
			s = "assertq: " + strings.Join(names, ", ") + " saw none of the block's queries"
		}
	}
	byTime := 0
	for i := range qs {
		if qs[i].byTime {
			byTime++
		}
	}
	if byTime > 0 {
		s += fmt.Sprintf(" (%d of the %d queries carried no context and were tied to this block as the only one open)", byTime, len(qs))
	}
	return s
}

// budget is Count and AtMost.
type budget struct {
	n      int
	atMost bool
	only   []Filter
}

// Count checks that exactly n queries ran, counting only those every filter in only selects (several kinds:
// any of them): Count(1, assertq.Insert, assertq.Table("orders")).
func Count(n int, only ...Filter) Check { return budget{n: n, only: only} }

// AtMost checks that no more than n queries ran, counting only those every filter in only selects (several
// kinds: any of them): AtMost(2, assertq.Select), AtMost(0, assertq.Insert, assertq.Update, assertq.Delete).
func AtMost(n int, only ...Filter) Check { return budget{n: n, atMost: true, only: only} }

func (c budget) name() string {
	if c.atMost {
		return "AtMost"
	}
	return "Count"
}

func (c budget) String() string {
	args := []string{fmt.Sprint(c.n)}
	for _, f := range c.only {
		args = append(args, f.code())
	}
	return c.name() + "(" + strings.Join(args, ", ") + ")"
}

func (c budget) check(qs Queries) error {
	sel := selectFor(qs, c.only)
	got := len(sel)
	if got == c.n || (c.atMost && got < c.n) {
		return nil
	}
	want := fmt.Sprintf("want %d", c.n)
	if c.atMost {
		want = fmt.Sprintf("want at most %d", c.n)
	}
	v := &violation{headline: describe(got, c.only) + ", " + want, queries: sel, findings: sel.Findings(), marks: true}
	switch {
	case got < c.n:
		v.fixes = []string{fmt.Sprintf("fewer queries than expected: if that is the improvement you wanted, lower the budget to Count(%d)", got)}
	case len(v.findings) == 0:
		v.fixes = []string{fmt.Sprintf("remove the queries this code should not make, or raise the budget to %s(%d) if they are intended", c.name(), got)}
	}
	return v
}

// selectFor returns the queries a budget counts: those every filter selects, without transaction control unless
// a filter asks for it.
func selectFor(qs Queries, only []Filter) Queries {
	tx := false
	for _, f := range only {
		if f == Transaction {
			tx = true
		}
	}
	var out Queries
	for i := range qs {
		if q := &qs[i]; (tx || q.Kind != Transaction) && matchAll(q, only) {
			out = append(out, *q)
		}
	}
	return out
}

type noQueries struct{}

// NoQueries checks that no query ran: a zone where the code must work from what it already loaded (rendering,
// serialising, a hot path). To run one query in the zone on purpose, give it a context from [Allow].
func NoQueries() Check { return noQueries{} }

func (noQueries) String() string { return "NoQueries()" }

func (noQueries) check(qs Queries) error {
	sel := selectFor(qs, nil)
	if len(sel) == 0 {
		return nil
	}
	return &violation{headline: describe(len(sel), nil) + " in a NoQueries zone, want none", queries: sel,
		fixes: []string{"load what this code needs before the zone, or run a query that must happen here with the context from assertq.Allow(ctx)"}}
}

type noNPlusOne struct{}

// NoNPlusOne checks that no statement ran twice or more from one call stack, one row at a time: reads with
// different arguments are an N+1 (a loop of lookups), writes are row-by-row writes, reads with the same arguments
// a duplicate query. Each is reported with its call site and a fix. A batched loop (each execution working on a
// set: a page, a chunk of ids, a multi-row INSERT) is not a finding; the package doc draws the line.
// [Queries.Findings] returns the same findings as data.
func NoNPlusOne() Check { return noNPlusOne{} }

func (noNPlusOne) String() string { return "NoNPlusOne()" }

func (noNPlusOne) check(qs Queries) error {
	var errs []error
	for _, f := range qs.Findings() {
		errs = append(errs, &violation{headline: f.headline(), queries: f.Queries, findings: []Finding{f}, subject: &f})
	}
	return errors.Join(errs...)
}

// ignore is what [Ignore] returns.
type ignore []Filter

// Ignore leaves out, for the other checks of the same [Verify] or [Expect] call, the queries any of filters
// selects: schema introspection, an audit trigger's insert, a health check. To leave queries out of everything a
// Recorder reports, give [New] the option [WithIgnore].
func Ignore(filters ...Filter) Check { return ignore(filters) }

// String returns the call that made the check: `Ignore(Table("audit_log"))`.
func (l ignore) String() string {
	names := make([]string, len(l))
	for i, f := range l {
		names[i] = f.code()
	}
	return "Ignore(" + strings.Join(names, ", ") + ")"
}

func (ignore) check(Queries) error { return nil }
