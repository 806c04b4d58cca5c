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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/callsite"
	"github.com/dbsuite/dbsuite/internal/fingerprint"
)

// A Recorder records the queries that its pgx tracer ([Recorder.Tracer]) and database/sql connector
// ([Recorder.Connector]) see, and those any tracer or connector runs with a context from
// [Recorder.Context] or from [Expect] on this Recorder. It is safe for concurrent use.
type Recorder struct {
	tb       testing.TB
	cfg      config
	resolver *callsite.Resolver

	mu      sync.Mutex
	entries []*entry                        // finished queries, ordered by entry.seq
	built   map[*entry]*Query               // entries turned into Queries, on first use; nil for a double
	stacks  map[*callsite.Captured]resolved // stacks resolved to user frames
	active  map[testing.TB]*block           // innermost open Expect block per test, for nesting
	viaSQL  bool                            // the database/sql connector delivered a query
	doubles int                             // pgx records of statements the connector recorded too, left out
}

// New returns a Recorder bound to tb. With [Strict], it checks everything it saw for N+1s when tb's test ends.
func New(tb testing.TB, opts ...Option) *Recorder {
	tb.Helper()
	r := &Recorder{tb: tb}
	for _, o := range opts {
		o.apply(&r.cfg)
	}
	r.resolver = callsite.NewResolver(r.cfg.library...)
	if r.cfg.strict {
		tb.Cleanup(func() {
			tb.Helper() // with New a helper too, the failure is reported at the test's line that called New
			if err := r.strictError(); err != nil {
				tb.Errorf("%s", err)
			}
		})
	}
	return r
}

// strictError is what Strict reports at cleanup: the findings of every block, and of the queries outside blocks.
func (r *Recorder) strictError() error {
	checks := []Check{NoNPlusOne()}
	errs, failed := verify(r.Queries(), checks)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w\n%s (assertq.Strict)", errors.Join(errs...), summary(failed, checks, nil))
}

// Queries returns what the Recorder saw so far, in the order the statements started, without the queries a
// [WithIgnore] option of [New] leaves out. Queries still running (rows not closed) are not included.
func (r *Recorder) Queries() Queries {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queriesLocked(func(*entry) bool { return true })
}

// queriesLocked builds the Queries of the entries keep selects.
func (r *Recorder) queriesLocked(keep func(*entry) bool) Queries {
	if r.built == nil {
		r.built = make(map[*entry]*Query, len(r.entries))
		r.stacks = make(map[*callsite.Captured]resolved)
	}
	out := make(Queries, 0, len(r.entries))
	for _, e := range r.entries {
		if !keep(e) {
			continue
		}
		q, ok := r.built[e]
		if !ok {
			q = r.build(e)
			r.built[e] = q
		}
		if q == nil || len(r.cfg.ignore) > 0 && matchAny(q, r.cfg.ignore) {
			continue
		}
		out = append(out, *q)
	}
	return out
}

// build turns an entry into a Query: fingerprint, call site and stack. It returns nil for a pgx record of a
// statement that this Recorder's database/sql connector recorded already (both wirings on one connection).
func (r *Recorder) build(e *entry) *Query {
	st, ok := r.stacks[e.stack]
	if !ok {
		st = r.resolve(e.stack)
		r.stacks[e.stack] = st
	}
	if e.key != nil && st.throughSQL && r.viaSQL {
		r.doubles++
		if r.doubles == 1 {
			r.tb.Logf("assertq: this Recorder's pgx tracer and its database/sql connector are wired on the same connection, so each statement reaches it twice; it keeps the connector's record. Keep one wiring: sql.OpenDB(rec.Connector(...)) alone, or the pgx config's Tracer alone")
		}
		return nil
	}
	fp := fingerprint.Of(e.sql)
	b := e.blockFor(r)
	q := &Query{
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
		unit:        b.top().id(),
		byTime:      b != nil && b == e.block,
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
	return q
}

// resolved is a captured stack as a Recorder shows it.
type resolved struct {
	frames     []Frame
	key        uint64
	throughSQL bool // the stack runs through this package's database/sql connector
}

// sqlWrapper is the prefix of the functions of this package's database/sql wrapper.
const sqlWrapper = "github.com/dbsuite/dbsuite/assertq.(*"

func (r *Recorder) resolve(c *callsite.Captured) resolved {
	var st resolved
	cs := r.resolver.Resolve(c.PCs)
	st.key = cs.Key
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

// add stores a finished entry, keeping entries in start order.
func (r *Recorder) add(e *entry) {
	r.mu.Lock()
	r.viaSQL = r.viaSQL || e.key == nil
	r.entries = append(r.entries, e)
	for i := len(r.entries) - 1; i > 0 && r.entries[i-1].seq > e.seq; i-- {
		r.entries[i], r.entries[i-1] = r.entries[i-1], r.entries[i]
	}
	r.mu.Unlock()
}

// sequence orders queries and blocks across every Recorder.
var sequence atomic.Uint64

// entry is one query being recorded. For pgx it is also the context pgx carries from the start of the query to
// its end: one allocation holds the query's state and its context.
type entry struct {
	context.Context
	key   any       // for Value: the *Tracer that made the entry; nil for database/sql
	owner *Recorder // records the entry when its context names no Recorder
	scope *scope
	block *block // for an entry whose context names no block: the one block open while it ran

	seq   uint64
	sql   string
	args  []any
	start time.Time
	dur   time.Duration
	rows  int64
	err   error
	batch uint64

	drows driver.Rows // database/sql: the driver's rows, while they are read

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
	if owner == nil && (s == nil || !s.routes()) && open.n.Load() == 0 {
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
		e.attribute()
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
