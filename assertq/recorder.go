package assertq

// How a query is recorded
//
// A Recorder sits on every query of a suite, so the path from the driver to a stored record is one allocation
// and a few tens of nanoseconds. Four tricks make it so; each names the benchmark that justifies it and the test
// that guards it.
//
//  1. The entry is the context. pgx hands the context that TraceQueryStart returns back to TraceQueryEnd. The
//     *entry holding the query's state embeds the caller's context.Context and is itself returned as that context
//     (Value answers the tracer's key with the entry), so one allocation holds both where context.WithValue would
//     add a second (pgx.go: entryOf). Benchmark: BenchmarkRecorderOnly/trace, 1 alloc/op. Tests: TestCapture,
//     TestTracerComposes (a tracer chained before ours still sees its own context values).
//  2. sqlRows reuse. For database/sql, the driver.Rows that counts rows as they are read is the same entry seen
//     as another type (sql.go: type sqlRows entry): wrapping the rows allocates nothing. Benchmark:
//     BenchmarkOverheadInterleaved/database-sql. Test: TestCapture, "database/sql through pgx stdlib" (rows).
//  3. Frame-pointer walk. The call stack is captured as program counters by following frame pointers
//     (internal/callsite, amd64 assembly; runtime.Callers elsewhere) and interned, so a loop's queries share one
//     stack; files, lines and user frames are resolved only when a check runs, once per stack. Benchmark:
//     internal/callsite BenchmarkCapture (against runtime.Callers). Tests: internal/callsite
//     TestCaptureMatchesRuntimeCallers, TestResolveCallSite.
//  4. Sequence windows. Every query and every Expect block takes a number from one counter (sequence); a query
//     whose context names no block is tied, when it ends, to the one block that was open since before it started,
//     or counted as unattributable by each block open then (block.go). Tests: TestExpectAttribution,
//     TestParallelSubtestsShareOneRecorder.
//
// Nothing is fingerprinted or resolved while recording: Recorder.build does it when queries are asked for.

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/callsite"
	"github.com/dbsuite/dbsuite/internal/failure"
	"github.com/dbsuite/dbsuite/internal/fingerprint"
)

// A Recorder records the queries that its pgx tracer ([Recorder.Tracer]) and database/sql connector
// ([Recorder.Connector]) see, and those any tracer or connector runs with a context from
// [Recorder.Context] or from [Expect] on this Recorder. It is safe for concurrent use.
type Recorder struct {
	tb        testing.TB
	cfg       config
	resolver  *callsite.Resolver
	preflight *preflightLog // Preflight's stops, reported at cleanup; nil without Preflight

	mu           sync.Mutex
	entries      []*entry                        // finished queries, ordered by entry.seq, up to cfg.maxQueries
	seen         int                             // finished queries, kept or not
	pending      []*entry                        // Strict: finished queries not yet counted in tally
	tally        *tallies                        // Strict: every query seen, counted per statement and call stack
	built        map[*entry]*Query               // entries turned into Queries, on first use; nil for a double
	stacks       map[*callsite.Captured]resolved // stacks resolved to user frames
	active       map[testing.TB]*block           // innermost open Expect block per test, for nesting
	viaSQL       bool                            // the database/sql connector delivered a query
	doubles      int                             // pgx records of statements the connector recorded too, left out
	doublesNoted bool                            // the test log was told of them
	capped       bool                            // the test log said Queries keeps only the first cfg.maxQueries
	guessed      int                             // queries it got as the only live Recorder (see onlyLive)
	strays       atomic.Int64                    // queries with no Recorder's context that ran while it and others lived
	straysNoted  int64                           // strays the test log was told of
	checked      map[uint64]bool                 // outermost blocks whose Expect checked NoNPlusOne: Strict leaves them

	plans planState // plan checks: sources, plans cached per fingerprint, tables analyzed (plan*.go)
}

// foldEvery is how many finished queries a Strict Recorder holds before counting them into its tally.
const foldEvery = 4096

// New returns a Recorder bound to tb. With [Strict], it checks everything it saw for N+1s when tb's test ends.
func New(tb testing.TB, opts ...Option) *Recorder {
	tb.Helper()
	r := &Recorder{tb: tb}
	var o options
	if err := o.apply(opts, forNew); err != nil {
		tb.Fatalf("%s", &failure.Error{Pkg: "assertq", Headline: strings.TrimPrefix(err.Error(), "assertq: ")})
	}
	r.cfg = o.config
	r.resolver = callsite.NewResolver(r.cfg.library...)
	if r.cfg.maxQueries < 1 {
		r.cfg.maxQueries = defaultMaxQueries
	}
	var remove func()
	tb.Cleanup(func() { // registered first, so it runs after the checks below
		if remove != nil {
			remove()
		}
	})
	r.startPreflight(tb) // plan hook (preflight.go): no-op without Preflight
	if r.cfg.strict {
		r.tally = newTallies(false)
		tb.Cleanup(func() {
			tb.Helper() // with New a helper too, the failure is reported at the test's line that called New
			if err := r.strictError(); err != nil {
				tb.Errorf("%s", err)
			}
		})
	}
	// Shared tracers and connectors find live Recorders from here on: only
	// once this one is whole (its preflight log and tally set).
	remove = addLive(r)
	return r
}

// strictError is what Strict reports at cleanup: the findings of every block, and of the queries outside blocks,
// from the tally of every query the Recorder saw.
func (r *Recorder) strictError() error {
	r.mu.Lock()
	r.fold()
	r.noteDoublesLocked()
	findings := slices.DeleteFunc(r.tally.findings(), func(f Finding) bool { return r.checked[f.Queries[0].unit] })
	guessed, seen := r.guessed, r.seen
	r.mu.Unlock()
	strays := r.strays.Load()
	var note string
	if guessed > 0 {
		note = fmt.Sprintf(" (%d of the %d queries carried no test's context and came through a shared tracer or connector while this was the only Recorder alive)", guessed, seen)
	}
	if strays > 0 {
		note += fmt.Sprintf(" (%d queries through a shared tracer or connector carried no test's context while other Recorders were alive too: they could not be checked; pass the test's context, or rec.Context(ctx))", strays)
	}
	if len(findings) == 0 {
		switch {
		case strays > 0 && seen == 0:
			return &failure.Error{Pkg: "assertq",
				Headline: fmt.Sprintf("Strict saw no query of this test, and %d %s through a shared tracer or connector carried no test's context while other Recorders were alive: they could not be attributed, want this test's queries tied to it",
					strays, plural(int(strays), "query", "queries")),
				Fixes: []string{"pass the test's context to the code under test (a *gorm.DB: db.WithContext(ctx)), or give it rec.Context(ctx); or run its queries inside assertq.Expect"}}
		case strays > 0:
			r.tb.Logf("assertq: Strict%s", note)
		}
		return nil
	}
	shown := map[findingKey]bool{}
	errs := make([]error, len(findings))
	for i, f := range findings {
		errs[i] = (&violation{headline: f.headline(), queries: f.Queries, findings: []Finding{f}, subject: &f}).render(shown)
	}
	return fmt.Errorf("%w\n%s (assertq.Strict)%s", errors.Join(errs...), summary([]Check{NoNPlusOne()}, []Check{NoNPlusOne()}, nil), note)
}

// fold counts the pending entries into the tally and lets them go.
func (r *Recorder) fold() {
	var q Query
	for _, e := range r.pending {
		if r.fill(e, &q) && !r.ignored(&q) {
			r.tally.add(&q)
		}
	}
	clear(r.pending)
	r.pending = r.pending[:0]
}

func (r *Recorder) ignored(q *Query) bool { return len(r.cfg.ignore) > 0 && matchAny(q, r.cfg.ignore) }

// Queries returns what the Recorder saw so far, in the order the statements started, without the queries a
// [WithIgnore] option of [New] leaves out: the first [WithMaxQueries] of them. Queries still running (rows not
// closed) are not included.
func (r *Recorder) Queries() Queries {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen > len(r.entries) && !r.capped {
		r.capped = true
		r.tb.Logf("assertq: this Recorder saw %d queries and keeps the first %d for Queries() (Expect blocks and Strict see all); raise the cap with assertq.WithMaxQueries(n)", r.seen, len(r.entries))
	}
	if n := r.strays.Load(); n > r.straysNoted {
		r.straysNoted = n
		r.tb.Logf("assertq: %d queries through a shared tracer or connector carried no test's context while other Recorders were alive, so Queries() cannot include them; pass the test's context, or rec.Context(ctx)", n)
	}
	qs := r.queriesLocked(r.entries)
	r.noteDoublesLocked()
	return qs
}

// noteDoublesLocked tells the test log, once, that the Recorder left out pgx records of statements its
// database/sql connector recorded too. It is called where the test is still running (Queries, Expect, Strict's
// cleanup), never from a query's goroutine.
func (r *Recorder) noteDoublesLocked() {
	if r.doubles > 0 && !r.doublesNoted {
		r.doublesNoted = true
		r.tb.Logf("assertq: this Recorder's pgx tracer and its database/sql connector are wired on the same connection, so each statement reaches it twice; it keeps the connector's record. Keep one wiring: sql.OpenDB(rec.Connector(...)) alone, or the pgx config's Tracer alone")
	}
}

// queriesLocked builds the Queries of entries, using the cache of built queries for the entries Queries keeps.
func (r *Recorder) queriesLocked(entries []*entry) Queries {
	if r.built == nil {
		r.built = make(map[*entry]*Query, len(r.entries))
	}
	out := make(Queries, 0, len(entries))
	for _, e := range entries {
		q, ok := r.built[e]
		if !ok {
			var built Query
			if r.fill(e, &built) {
				q = &built
			}
			if len(r.built) < r.cfg.maxQueries {
				r.built[e] = q
			}
		}
		if q == nil || r.ignored(q) {
			continue
		}
		out = append(out, *q)
	}
	return out
}

// fill turns an entry into a Query: fingerprint, call site and stack. It reports false for a pgx record of a
// statement that this Recorder's database/sql connector recorded already (both wirings on one connection).
func (r *Recorder) fill(e *entry, q *Query) bool {
	if r.stacks == nil {
		r.stacks = make(map[*callsite.Captured]resolved)
	}
	st, ok := r.stacks[e.stack]
	if !ok {
		st = r.resolve(e.stack)
		r.stacks[e.stack] = st
	}
	if e.key != nil && st.throughSQL && r.viaSQL {
		r.doubles++
		return false
	}
	fp := fingerprint.Of(e.sql)
	b := e.blockFor(r)
	*q = Query{
		SQL:         e.sql,
		Args:        e.args,
		Fingerprint: fp.Text,
		Kind:        kindOf(fp.Kind),
		Tables:      fp.Tables,
		StackKey:    st.key,
		Start:       e.start,
		Duration:    e.dur,
		Rows:        e.rows,
		Err:         e.err,
		Batch:       e.batch,
		hideArgs:    r.cfg.hideArgs,
		plan:        r.planSourceOf(e), // plan hook (explain.go): where EXPLAIN can reach this statement
		unit:        b.top().id(),
		byTime:      b != nil && b == e.block,
		stray:       e.stray,
		lib:         st.lib,
	}
	if len(st.frames) > 0 {
		q.Stack = st.frames // shared by the queries of one stack
		q.Caller = q.Stack[0]
	}
	for s := e.scope; s != nil; s = s.parent {
		if s.allow {
			q.Allowed = true
		}
	}
	return true
}

// resolved is a captured stack as a Recorder shows it.
type resolved struct {
	frames     []Frame
	key        uint64
	throughSQL bool      // the stack runs through this package's database/sql connector
	lib        libraryID // the library the user's code called (remedy.go)
}

// sqlWrapper is the prefix of the functions of this package's database/sql wrapper.
const sqlWrapper = "github.com/dbsuite/dbsuite/assertq.(*"

func (r *Recorder) resolve(c *callsite.Captured) resolved {
	var st resolved
	cs := r.resolver.Resolve(c.PCs)
	st.key = cs.Key
	st.lib = idOf(cs.Library) // remedy.go
	if len(cs.Frames) > 0 {
		st.frames = make([]Frame, len(cs.Frames))
		for i, f := range cs.Frames {
			st.frames[i] = Frame(f)
		}
	}
	for _, pc := range c.PCs {
		if fn := runtime.FuncForPC(pc - 1); fn != nil {
			if typ, _, _ := strings.Cut(strings.TrimPrefix(fn.Name(), sqlWrapper), ")"); len(typ) < len(fn.Name()) {
				switch typ {
				case "conn", "stmt", "txWrap", "sqlRows":
					st.throughSQL = true
				}
			}
		}
	}
	return st
}

// add stores a finished entry: in the blocks of this Recorder it belongs to, in the entries Queries returns (up
// to the cap), and, under Strict, for the tally.
func (r *Recorder) add(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen++
	r.viaSQL = r.viaSQL || e.key == nil
	if e.guessed {
		r.guessed++
	}
	for b := e.blockFor(r); b != nil; b = b.parent {
		b.entries = insertBySeq(b.entries, e)
	}
	if len(r.entries) < r.cfg.maxQueries {
		r.entries = insertBySeq(r.entries, e)
	}
	if r.tally != nil {
		r.pending = append(r.pending, e)
		if len(r.pending) >= foldEvery {
			r.fold()
		}
	}
}

// insertBySeq appends e to es, which is ordered by start, keeping the order.
func insertBySeq(es []*entry, e *entry) []*entry {
	es = append(es, e)
	for i := len(es) - 1; i > 0 && es[i-1].seq > e.seq; i-- {
		es[i], es[i-1] = es[i-1], es[i]
	}
	return es
}

// sequence orders queries and blocks across every Recorder.
var sequence atomic.Uint64

// entry is one query being recorded. For pgx it is also the context pgx carries from the start of the query to
// its end: one allocation holds the query's state and its context.
type entry struct {
	context.Context
	key     any       // for Value: the *Tracer that made the entry; nil for database/sql
	owner   *Recorder // records the entry when its context names no Recorder
	scope   *scope
	block   *block // for an entry whose context names no block: the one block open while it ran
	guessed bool   // it named no Recorder, came through a shared tracer or connector, and went to the only live one
	stray   bool   // it named no block and ran while several were open: it belongs to none

	seq    uint64
	sql    string
	args   []any
	argBuf [2]any // args, when there are at most two: no allocation of their own
	start  time.Time
	dur    time.Duration
	rows   int64
	err    error
	batch  uint64

	drows driver.Rows // database/sql: the driver's rows, while they are read

	src any // plan hook (explain.go): the connection that ran it, and whether in a transaction (sourceOf)

	stack *callsite.Captured
}

// Value returns the entry itself for its tracer's key, and defers to the query's context otherwise.
func (e *entry) Value(key any) any {
	if key == e.key {
		return e
	}
	return e.Context.Value(key)
}

// begin starts an entry for a query with context ctx, or returns nil when no Recorder wants it: no owner, no
// Recorder in the context, and no Expect block open that could claim it. The captured stack starts at the
// caller's caller (a driver's frame): the user's frames are found when it is resolved.
func begin(ctx context.Context, owner *Recorder) *entry {
	s := scopeOf(ctx)
	if owner == nil && (s == nil || !s.routes()) && open.n.Load() == 0 && live.n.Load() == 0 {
		return nil
	}
	var pcs callsite.PCs
	n := callsite.Capture(2, &pcs)
	e := &entry{Context: ctx, owner: owner, scope: s, rows: -1, stack: callsite.Intern(pcs[:n])}
	e.seq = sequence.Add(1)
	e.start = time.Now()
	return e
}

// routes reports whether any scope of the chain names a Recorder.
func (s *scope) routes() bool {
	for ; s != nil; s = s.parent {
		if s.rec != nil {
			return true
		}
	}
	return false
}

// finish completes the entry and hands it to every Recorder its context names, or to its owner, or to the block
// it was tied to by time.
func (e *entry) finish(rows int64, err error) {
	e.dur = time.Since(e.start)
	e.rows = rows
	e.err = err
	if open.n.Load() > 0 && !e.scope.hasBlock() {
		e.stray = e.attribute()
	}
	delivered := false
	for s := e.scope; s != nil; s = s.parent {
		if s.rec == nil || seenBefore(e.scope, s) {
			continue
		}
		s.rec.add(e)
		delivered = true
	}
	switch {
	case delivered:
	case e.owner != nil:
		e.owner.add(e)
	case e.block != nil:
		e.block.rec.add(e)
	case !e.stray && !e.scope.routes():
		if r := onlyLive(); r != nil {
			e.guessed = true
			r.add(e)
		}
	}
}

// goesTo reports whether finish delivers e to r, leaving aside attribution by time.
func (e *entry) goesTo(r *Recorder) bool {
	if e.scope.routes() {
		for s := e.scope; s != nil; s = s.parent {
			if s.rec == r {
				return true
			}
		}
		return false
	}
	return e.owner == nil || e.owner == r
}

// seenBefore reports whether a scope between first and s (exclusive) names s's Recorder.
func seenBefore(first, s *scope) bool {
	for x := first; x != s; x = x.parent {
		if x.rec == s.rec {
			return true
		}
	}
	return false
}
