package assertq

import (
	"fmt"
	"hash/maphash"
	"math"
	"time"
)

// A tally counts the queries of one statement from one call stack in one block: what a finding needs, without
// keeping every query. [Queries.Findings] keeps them all (a Finding lists its queries); a Strict Recorder keeps
// only a few examples, so that its memory grows with the statements it saw, not with the queries.
type tally struct {
	queries  Queries             // every query (all), or the first query of up to maxArgLists distinct value lists
	n        int                 // queries
	set      int                 // executions that worked on a set
	pages    int                 // executions that read a page
	filters  uint64              // the first execution's filtersHash
	moved    bool                // a later execution had other filters: pages of different parents
	values   map[uint64]struct{} // hashes of the distinct value lists, up to maxDistinct
	overflow bool                // more than maxDistinct distinct value lists
}

// maxDistinct is how many distinct value lists a tally tells apart; past it, a message says "over".
const maxDistinct = 1 << 12

type tallyKey struct {
	unit, stack uint64
	fp          string
}

// tallies groups queries as findings do, in the order each group's first query came.
type tallies struct {
	all   bool // keep every query of a group
	index map[tallyKey]*tally
	order []*tally
}

func newTallies(all bool) *tallies { return &tallies{all: all, index: map[tallyKey]*tally{}} }

// add counts q, unless no finding can include it: transaction control, allowed queries, queries without a known
// call stack, writes in a pgx batch (the batch is the fix) and catalog reads.
func (ts *tallies) add(q *Query) {
	if q.Kind == Transaction || q.Allowed || q.stray || q.StackKey == 0 || q.catalog() || q.Batch != 0 && q.writes() {
		return
	}
	sh := shapeOf(q.SQL)
	if sh.cursor {
		return
	}
	k := tallyKey{q.unit, q.StackKey, q.Fingerprint}
	t := ts.index[k]
	if t == nil {
		t = &tally{values: map[uint64]struct{}{}}
		ts.index[k] = t
		ts.order = append(ts.order, t)
	}
	t.n++
	switch q.reach(sh) {
	case onSet:
		t.set++
	case onePage:
		t.pages++
	}
	if f := q.filtersHash(sh); t.n == 1 {
		t.filters = f
	} else if f != t.filters {
		t.moved = true
	}
	h := valuesHash(q)
	_, seen := t.values[h]
	if !seen {
		if len(t.values) < maxDistinct {
			t.values[h] = struct{}{}
		} else {
			t.overflow = true
		}
	}
	if ts.all || !seen && len(t.queries) < maxArgLists {
		t.queries = append(t.queries, *q)
	}
}

// findings returns the groups that are findings: two or more queries, not a batched loop.
func (ts *tallies) findings() []Finding {
	var out []Finding
	for _, t := range ts.order {
		if t.n < 2 {
			continue
		}
		f := Finding{Queries: t.queries, Distinct: len(t.values), n: t.n, over: t.overflow}
		switch {
		case t.queries[0].writes():
			f.Kind = RowByRow
		case f.Distinct < 2:
			f.Kind = Duplicate
		default:
			f.Kind = NPlusOne
		}
		// A batched loop: at least one execution on a set, at most two not (the last chunk, a short last page).
		// Pages count as sets when the loop keeps its filters: pages of one listing, not one page per parent.
		set := t.set
		if !t.moved {
			set += t.pages
		}
		if f.Kind != Duplicate && set > 0 && t.n-set <= 2 {
			continue
		}
		out = append(out, f)
	}
	return out
}

var valuesSeed = maphash.MakeSeed()

// valuesHash hashes what varies between runs of one statement: the arguments, and the SQL text itself, whose
// literals the fingerprint hides ("WHERE id = 1", "WHERE id = 2"). Equal values give equal hashes.
func valuesHash(q *Query) uint64 {
	var h maphash.Hash
	h.SetSeed(valuesSeed)
	h.WriteString(q.SQL)
	for _, a := range q.Args {
		h.WriteByte(0)
		writeValue(&h, a)
	}
	return h.Sum64()
}

// writeValue hashes one argument value.
func writeValue(h *maphash.Hash, a any) {
	switch v := a.(type) {
	case nil:
		h.WriteByte(1)
	case string:
		h.WriteString(v)
	case []byte:
		h.Write(v)
	case int:
		maphash.WriteComparable(h, v)
	case int64:
		maphash.WriteComparable(h, v)
	case int32:
		maphash.WriteComparable(h, v)
	case bool:
		maphash.WriteComparable(h, v)
	case float64:
		maphash.WriteComparable(h, math.Float64bits(v))
	case time.Time:
		maphash.WriteComparable(h, v.UnixNano())
	default:
		fmt.Fprintf(h, "%T%#v", v, v)
	}
}
