package assertq

import (
	"fmt"
	"strings"
)

// FindingKind says what a [Finding] found.
type FindingKind uint8

const (
	// NPlusOne: two or more queries with one fingerprint from one call stack, with different arguments (or
	// different literals in the SQL): a loop that fetches (or writes) one row per query.
	NPlusOne FindingKind = iota + 1
	// Duplicate: two or more queries with one fingerprint from one call stack, all with the same arguments: the
	// same result fetched again.
	Duplicate
)

// String returns "N+1" or "duplicate query".
func (k FindingKind) String() string {
	if k == Duplicate {
		return "duplicate query"
	}
	return "N+1"
}

// A Finding is a group of repeated queries: the same statement from the same call stack, two or more times.
type Finding struct {
	Kind     FindingKind
	Queries  Queries // the repeated queries, in order
	Distinct int     // how many different argument lists they had
}

// String describes the finding in one line: `N+1: 50× SELECT ... at store.go:38 (shop.ListStores)`.
func (f Finding) String() string {
	q := f.Queries[0]
	return fmt.Sprintf("%s: %d× %s at %s", f.label(), len(f.Queries), q.Fingerprint, q.Caller)
}

// label names the finding in messages, telling a loop of lookups from a batch of lookups and from row-by-row
// writes, since each has its own fix.
func (f Finding) label() string {
	switch {
	case f.Kind == Duplicate:
		return "duplicate query"
	case f.writes():
		return "row-by-row writes"
	case f.Queries[0].Batch != 0:
		return "N+1 in a batch"
	}
	return "N+1"
}

// literals reports whether the values that differ are written into the SQL text rather than passed as arguments.
func (f Finding) literals() bool {
	for i := range f.Queries {
		if len(f.Queries[i].Args) > 0 {
			return false
		}
	}
	return true
}

func (f Finding) writes() bool {
	switch f.Queries[0].Kind {
	case Insert, Update, Delete:
		return true
	}
	return false
}

// mark is what a group line of a message says about the finding.
func (f Finding) mark() string {
	switch {
	case f.Kind == Duplicate:
		return "duplicate: same statement and arguments from one call site"
	case f.Queries[0].Batch != 0:
		return fmt.Sprintf("N+1 in a batch: one statement queued %d times from one call site", len(f.Queries))
	}
	return fmt.Sprintf("%s: same statement from one call site, %d different %s", f.label(), f.Distinct, f.values())
}

// values names what differs between the queries of an N+1.
func (f Finding) values() string {
	if f.literals() {
		return "values written into the SQL"
	}
	return "arguments"
}

// fix is the hint a message ends with.
func (f Finding) fix() string {
	if fix := remedy(f); fix != "" { // the fix in the terms of the user's library: GORM, bun, sqlx, sqlc (remedy.go)
		return fix
	}
	fix := f.batchingFix()
	if f.Kind == NPlusOne && f.literals() {
		fix += "; and pass values as parameters ($1), not in the SQL text"
	}
	return fix
}

func (f Finding) batchingFix() string {
	switch {
	case f.Kind == Duplicate:
		return "run the query once and reuse its result"
	case f.writes():
		return "write all rows in one round trip: pgx CopyFrom, a pgx.Batch, or one statement over arrays (INSERT ... SELECT * FROM unnest($1::int[], $2::text[]))"
	case f.Queries[0].Batch != 0:
		return "the batch saves round trips, but the server still runs one lookup per row: fetch them in one query (WHERE id = ANY($1))"
	}
	return "fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row"
}

// Findings returns the N+1 and duplicate-query findings in qs, in the order their first query ran: every group of
// two or more queries with the same fingerprint and the same [Query.StackKey]. It leaves out transaction control,
// queries run under [Allow], queries with no known call stack, and writes sent in one pgx batch (a batch is the
// fix for row-by-row writes). Queries from two different call sites, or two different statements from one loop,
// are never a finding.
func (qs Queries) Findings() []Finding {
	type key struct {
		stack uint64
		fp    string
	}
	index := map[key]int{}
	var groups [][]int
	for i := range qs {
		q := &qs[i]
		if q.Kind == Transaction || q.Allowed || q.StackKey == 0 {
			continue
		}
		if q.Batch != 0 && (q.Kind == Insert || q.Kind == Update || q.Kind == Delete) {
			continue
		}
		k := key{q.StackKey, q.Fingerprint}
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	var out []Finding
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		f := Finding{Kind: NPlusOne, Queries: make(Queries, 0, len(g))}
		seen := map[string]bool{}
		for _, i := range g {
			f.Queries = append(f.Queries, qs[i])
			seen[valuesKey(&qs[i])] = true
		}
		f.Distinct = len(seen)
		if f.Distinct < 2 {
			f.Kind = Duplicate
		}
		out = append(out, f)
	}
	return out
}

// valuesKey renders what varies between runs of one statement for comparison: the arguments, and the SQL text
// itself, whose literals the fingerprint hides ("WHERE id = 1", "WHERE id = 2"). Equal values give equal keys.
func valuesKey(q *Query) string {
	var b strings.Builder
	b.WriteString(q.SQL)
	for _, a := range q.Args {
		fmt.Fprintf(&b, "\x00%#v", a)
	}
	return b.String()
}
