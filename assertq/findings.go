package assertq

import "fmt"

// FindingKind says what a [Finding] found.
type FindingKind uint8

// The kinds of finding. Each has its own fix, given by the finding's message.
const (
	// NPlusOne: a statement that reads one row (or one parent's rows) per execution, run two or more times from
	// one call stack with different arguments (or different literals in the SQL): a loop of lookups.
	NPlusOne FindingKind = iota + 1
	// RowByRow: a write (INSERT, UPDATE, DELETE) of one row per execution, run two or more times from one call
	// stack, with the same arguments or not: one round trip per row.
	RowByRow
	// Duplicate: a read run two or more times from one call stack with the same arguments: the same result
	// fetched again.
	Duplicate
)

// String returns "N+1", "row-by-row writes" or "duplicate query".
func (k FindingKind) String() string {
	switch k {
	case RowByRow:
		return "row-by-row writes"
	case Duplicate:
		return "duplicate query"
	}
	return "N+1"
}

// A Finding is a group of repeated queries: the same statement from the same call stack, two or more times,
// within one [Expect] block (or, outside blocks, one Recorder), each working on one row.
type Finding struct {
	Kind     FindingKind
	Queries  Queries // the repeated queries, in order
	Distinct int     // how many different argument lists they had

	n    int  // the queries, when Queries holds only examples (a Strict Recorder's tally); else 0
	over bool // more distinct argument lists than a tally tells apart: Distinct is a lower bound
}

// size is how many queries the finding groups.
func (f Finding) size() int {
	if f.n > 0 {
		return f.n
	}
	return len(f.Queries)
}

// distinct says how many different argument lists: "50", or "over 4096".
func (f Finding) distinct() string {
	if f.over {
		return fmt.Sprintf("over %d", f.Distinct)
	}
	return fmt.Sprint(f.Distinct)
}

// String describes the finding in one line: `N+1: 50× SELECT ... at store.go:38 (shop.ListStores)`.
func (f Finding) String() string {
	q := f.Queries[0]
	return fmt.Sprintf("%s: %d× %s at %s", f.label(), f.size(), q.Fingerprint, q.Caller)
}

// inBatch reports whether the queries were queued in one pgx batch.
func (f Finding) inBatch() bool { return f.Queries[0].Batch != 0 }

// label names the finding in messages.
func (f Finding) label() string {
	if f.Kind == NPlusOne && f.inBatch() {
		return "N+1 in a batch"
	}
	return f.Kind.String()
}

// headline is the first line of the finding's own message.
func (f Finding) headline() string {
	n := f.size()
	switch {
	case f.Kind == Duplicate:
		return fmt.Sprintf("duplicate query: %d identical reads (same statement, same arguments) from one call site, want 1", n)
	case f.Kind == RowByRow:
		return fmt.Sprintf("row-by-row writes: %d %s queries of one statement from one call site, one row each, want 1 round trip", n, f.Queries[0].Kind)
	case f.inBatch():
		return fmt.Sprintf("N+1 in a batch: %d queries of one statement queued from one call site, want 1", n)
	}
	return fmt.Sprintf("N+1: %d queries of one statement from one call site with %s different %s, want 1", n, f.distinct(), f.values())
}

// mark is what a group line of a message says about the finding.
func (f Finding) mark() string {
	switch {
	case f.Kind == Duplicate:
		return "duplicate: same statement and arguments from one call site"
	case f.inBatch():
		return fmt.Sprintf("N+1 in a batch: one statement queued %d times from one call site", f.size())
	case f.Kind == RowByRow && f.Distinct < 2:
		return "row-by-row writes: same statement and arguments from one call site, one row each"
	}
	return fmt.Sprintf("%s: same statement from one call site, %s different %s", f.label(), f.distinct(), f.values())
}

// values names what differs between the queries of an N+1.
func (f Finding) values() string {
	for i := range f.Queries {
		if len(f.Queries[i].Args) > 0 {
			return "arguments"
		}
	}
	return "values written into the SQL"
}

// fix is the hint a finding's message ends with: the one place that turns a finding into advice.
func (f Finding) fix() string {
	if fix := remedy(f); fix != "" { // the fix in the terms of the user's library: GORM, bun, sqlx, sqlc (remedy.go)
		return fix
	}
	var fix string
	switch {
	case f.Kind == Duplicate:
		return "run the query once and reuse its result"
	case f.Kind == RowByRow && f.Queries[0].Kind == Update:
		fix = "update all rows in one statement (UPDATE t SET ... WHERE id = ANY($1), or UPDATE t SET ... FROM unnest($1::int[], $2::text[]) AS v(id, x) WHERE t.id = v.id), or queue the updates in one pgx.Batch"
	case f.Kind == RowByRow && f.Queries[0].Kind == Delete:
		fix = "delete all rows in one statement (DELETE FROM t WHERE id = ANY($1)), or queue the deletes in one pgx.Batch"
	case f.Kind == RowByRow:
		fix = "write all rows in one round trip: pgx CopyFrom, a pgx.Batch, a multi-row INSERT ... VALUES (...), (...), or one statement over arrays (INSERT ... SELECT * FROM unnest($1::int[], $2::text[]))"
	case f.inBatch():
		fix = "the batch saves round trips, but the server still runs one lookup per row: fetch them in one query (WHERE id = ANY($1))"
	default:
		fix = "fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row"
	}
	if f.values() != "arguments" {
		fix += "; and pass values as parameters ($1), not in the SQL text"
	}
	return fix
}

// Findings returns the N+1, row-by-row and duplicate-query findings in qs, in the order their first query ran:
// every group of two or more queries with the same fingerprint and the same [Query.StackKey], from the same
// [Expect] block, that is not a batched loop. See the package doc for where the line between the two runs.
//
// It leaves out transaction control, queries run under [Allow], queries with no known call stack, writes sent in
// one pgx batch (a batch is the fix for row-by-row writes) and catalog reads (information_schema, pg_catalog: an
// ORM's schema introspection). Queries from two different call sites, or two different statements from one loop,
// are never a finding.
func (qs Queries) Findings() []Finding {
	ts := newTallies(true)
	for i := range qs {
		ts.add(&qs[i])
	}
	return ts.findings()
}

func (q *Query) writes() bool {
	switch q.Kind {
	case Insert, Update, Delete:
		return true
	}
	return false
}
