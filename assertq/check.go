package assertq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
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
// call site, and ends with a fix.
func Verify(queries Queries, checks ...Check) error {
	errs, _ := verify(queries, checks)
	return errors.Join(errs...)
}

// verify returns the violations and the checks that failed.
func verify(queries Queries, checks []Check) (errs []error, failed []Check) {
	var ignore []Filter
	for _, c := range checks {
		if l, ok := c.(IgnoreList); ok {
			ignore = append(ignore, l.filters...)
		}
	}
	checked := make(Queries, 0, len(queries))
	for i := range queries {
		if q := &queries[i]; !q.Allowed && !matchAny(q, ignore) {
			checked = append(checked, *q)
		}
	}
	for _, c := range checks {
		if err := c.check(checked); err != nil {
			errs = append(errs, err)
			failed = append(failed, c)
		}
	}
	return errs, failed
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
// goroutines; and, for code that drops the context (context.Background()), the queries rec saw while fn ran that
// carry no other block's context. So blocks of parallel tests sharing one Recorder stay apart when their code
// passes the context along. A block inside another block of the same test counts for both.
func Expect(t testing.TB, rec *Recorder, fn func(ctx context.Context), checks ...Check) Queries {
	t.Helper()
	if rec == nil {
		t.Fatalf("assertq.Expect: nil *Recorder; make one with assertq.New(t)")
		return nil
	}
	qs := rec.runBlock(t, fn)
	errs, failed := verify(qs, checks)
	if len(errs) > 0 {
		t.Errorf("%s\n%s", errors.Join(errs...), summary(failed, checks))
	}
	return qs
}

// summary is the last line of a report: "assertq: 2 of 3 checks failed: AtMost(2), NoNPlusOne()".
func summary(failed, checks []Check) string {
	total := 0
	for _, c := range checks {
		if _, ok := c.(IgnoreList); !ok {
			total++
		}
	}
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.String()
	}
	noun := "checks"
	if total == 1 {
		noun = "check"
	}
	return fmt.Sprintf("assertq: %d of %d %s failed: %s", len(failed), total, noun, strings.Join(names, ", "))
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

func (c budget) String() string {
	name := "Count"
	if c.atMost {
		name = "AtMost"
	}
	args := []string{fmt.Sprint(c.n)}
	for _, f := range c.only {
		args = append(args, f.code())
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

func (c budget) check(qs Queries) error {
	sel := selectFor(qs, c.only)
	got := len(sel)
	if got == c.n || (c.atMost && got < c.n) {
		return nil
	}
	want, name := fmt.Sprintf("want %d", c.n), "Count"
	if c.atMost {
		want, name = fmt.Sprintf("want at most %d", c.n), "AtMost"
	}
	findings := sel.Findings()
	var fixes []string
	switch {
	case got < c.n:
		fixes = []string{fmt.Sprintf("fewer queries than expected: if that is the improvement you wanted, lower the budget to Count(%d)", got)}
	case len(findings) > 0:
		fixes = findingFixes(findings)
	default:
		fixes = []string{fmt.Sprintf("remove the queries this code should not make, or raise the budget to %s(%d) if they are intended", name, got)}
	}
	return newViolation(describe(got, c.only)+", "+want, sel, findings, true, fixes...)
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
	return newViolation(describe(len(sel), nil)+" in a NoQueries zone, want none", sel, nil, false,
		"load what this code needs before the zone, or run a query that must happen here with the context from assertq.Allow(ctx)")
}

type noNPlusOne struct{}

// NoNPlusOne checks that no statement ran twice or more from one call stack: with different arguments that is an
// N+1 (a loop fetching, or writing, one row per query); with the same arguments, a duplicate query. Each is
// reported with its call site and a fix. [Queries.Findings] returns the same findings as data.
func NoNPlusOne() Check { return noNPlusOne{} }

func (noNPlusOne) String() string { return "NoNPlusOne()" }

func (noNPlusOne) check(qs Queries) error {
	var errs []error
	for _, f := range qs.Findings() {
		errs = append(errs, newViolation(findingHeadline(f), f.Queries, []Finding{f}, false, f.fix()))
	}
	return errors.Join(errs...)
}

// findingHeadline is the first line of a finding's message.
func findingHeadline(f Finding) string {
	n := len(f.Queries)
	switch {
	case f.Kind == Duplicate:
		return fmt.Sprintf("duplicate query: %d identical queries (same statement, same arguments) from one call site, want 1", n)
	case f.writes():
		return fmt.Sprintf("row-by-row writes: %d %s queries of one statement from one call site, want 1 round trip", n, f.Queries[0].Kind)
	case f.Queries[0].Batch != 0:
		return fmt.Sprintf("N+1 in a batch: %d queries of one statement queued from one call site, want 1", n)
	}
	return fmt.Sprintf("N+1: %d queries of one statement from one call site with %d different %s, want 1", n, f.Distinct, f.values())
}

// IgnoreList is returned by [Ignore]. It is both a [Check] and an [Option].
type IgnoreList struct{ filters []Filter }

// Ignore leaves out the queries any of filters selects. Passed to [Verify] or [Expect], it applies to the other
// checks of that call; passed to [New], the Recorder leaves those queries out of [Recorder.Queries] altogether
// (and so out of every check and golden file): schema introspection, an audit trigger's insert, a health check.
func Ignore(filters ...Filter) IgnoreList { return IgnoreList{filters} }

// String returns the call that made the list: `Ignore(Table("audit_log"))`.
func (l IgnoreList) String() string {
	names := make([]string, len(l.filters))
	for i, f := range l.filters {
		names[i] = f.code()
	}
	return "Ignore(" + strings.Join(names, ", ") + ")"
}

func (IgnoreList) check(Queries) error { return nil }

func (l IgnoreList) apply(c *config) { c.ignore = append(c.ignore, l.filters...) }
