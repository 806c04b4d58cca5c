package assertq

import (
	"context"
	"database/sql/driver"
	"errors"
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
	cfg      config
	resolver *callsite.Resolver

	mu      sync.Mutex
	entries []*entry                        // finished queries, ordered by entry.seq
	built   map[*entry]*Query               // entries turned into Queries, on first use
	stacks  map[*callsite.Captured]resolved // stacks resolved to user frames
	active  map[testing.TB]*block           // innermost open Expect block per test, for nesting

	tb    testing.TB // the test New was given: plan checks log ANALYZE there, Preflight reports there
	plans planState  // plan checks: sources, plans cached per fingerprint, tables analyzed (plan*.go)
}

// An Option configures a [Recorder]: [Strict], [HideArgs], [LibraryCode], [Ignore]. When options conflict, the
// last wins.
type Option interface{ apply(*config) }

type config struct {
	strict   bool
	hideArgs bool
	ignore   []Filter
	library  []string

	preflight []Check // Preflight: plan checks run before each new statement shape (preflight.go)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Strict makes every N+1 and duplicate query the Recorder sees fail the test at cleanup, whether or not an
// [Expect] checked for it: the suite-wide switch that turns the finding into a test failure. Queries run under
// [Allow], or left out by an [Ignore] option, are exempt. Default: off.
func Strict() Option { return optionFunc(func(c *config) { c.strict = true }) }

// HideArgs keeps argument values out of failure messages (they are still compared, to tell an N+1 from a
// duplicate). Default: messages show up to three argument lists per finding, each value cut at 40 characters.
func HideArgs() Option { return optionFunc(func(c *config) { c.hideArgs = true }) }

// LibraryCode names packages, by import path prefix ("github.com/acme/dbutil"), that are not where a query
// comes from: call sites then point at the code that called them. The Go runtime, testing, database/sql, pgx,
// lib/pq, go-sqlmock, sqlx, scany, squirrel, bun, GORM and dbsuite are library code already.
func LibraryCode(prefixes ...string) Option {
	return optionFunc(func(c *config) { c.library = append(c.library, prefixes...) })
}

// New returns a Recorder bound to tb. With [Strict], it checks everything it saw for N+1s when tb's test ends.
func New(tb testing.TB, opts ...Option) *Recorder {
	tb.Helper()
	r := &Recorder{tb: tb}
	for _, o := range opts {
		o.apply(&r.cfg)
	}
	r.startPreflight(tb) // plan hook (preflight.go): no-op without Preflight
	r.resolver = callsite.NewResolver(r.cfg.library...)
	if r.cfg.strict {
		tb.Cleanup(func() {
			qs := r.Queries()
			checks := []Check{NoNPlusOne()}
			if errs, failed := verify(qs, checks); len(errs) > 0 {
				tb.Errorf("%s\n%s (assertq.Strict)", errors.Join(errs...), summary(failed, checks))
			}
		})
	}
	return r
}

// Queries returns what the Recorder saw so far, in the order the statements started, without the queries an
// [Ignore] option of [New] leaves out. Queries still running (rows not closed) are not included.
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
		q := r.built[e]
		if q == nil {
			q = r.build(e)
			r.built[e] = q
		}
		if len(r.cfg.ignore) > 0 && matchAny(q, r.cfg.ignore) {
			continue
		}
		out = append(out, *q)
	}
	return out
}

// build turns an entry into a Query: fingerprint, call site and stack.
func (r *Recorder) build(e *entry) *Query {
	fp := fingerprint.Of(e.sql)
	st, ok := r.stacks[e.stack]
	if !ok {
		cs := r.resolver.Resolve(e.stack.PCs)
		st.key = cs.Key
		if len(cs.Frames) > 0 {
			st.frames = make([]Frame, len(cs.Frames))
			for i, f := range cs.Frames {
				st.frames[i] = Frame(f)
			}
		}
		r.stacks[e.stack] = st
	}
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
		plan:        r.planSourceOf(e), // plan hook (explain.go): where EXPLAIN can reach this statement
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
	frames []Frame
	key    uint64
}

// add stores a finished entry, keeping entries in start order.
func (r *Recorder) add(e *entry) {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	for i := len(r.entries) - 1; i > 0 && r.entries[i-1].seq > e.seq; i-- {
		r.entries[i], r.entries[i-1] = r.entries[i-1], r.entries[i]
	}
	r.mu.Unlock()
}

// Context returns a copy of ctx whose queries this Recorder records, through any tracer or connector of this
// package: the way to tie queries to a test when many tests share one pool (see [SharedTracer]).
func (r *Recorder) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{parent: scopeOf(ctx), rec: r})
}

// Allow returns a copy of ctx whose queries are recorded but exempt from every check: the one query a
// [NoQueries] zone needs on purpose, or test set-up that would otherwise count as an N+1 under [Strict].
func Allow(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{parent: scopeOf(ctx), allow: true})
}

// scope is what a context says about its queries: which Recorder records them, which Expect block they belong
// to, whether they are allowed. Scopes chain outwards through parent.
type scope struct {
	parent *scope
	rec    *Recorder
	block  *block
	allow  bool
}

type scopeKey struct{}

func scopeOf(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// block is one Expect call.
type block struct {
	rec        *Recorder
	parent     *block // the enclosing block of the same test on the same Recorder
	start, end uint64 // sequence numbers around fn
}

// runBlock runs fn in a new block and returns the block's queries.
func (r *Recorder) runBlock(tb testing.TB, fn func(ctx context.Context)) Queries {
	b := &block{rec: r}
	r.mu.Lock()
	if r.active == nil {
		r.active = map[testing.TB]*block{}
	}
	b.parent = r.active[tb]
	r.active[tb] = b
	b.start = sequence.Add(1)
	r.mu.Unlock()

	func() {
		defer func() {
			r.mu.Lock()
			b.end = sequence.Add(1)
			if b.parent != nil {
				r.active[tb] = b.parent
			} else {
				delete(r.active, tb)
			}
			r.mu.Unlock()
		}()
		fn(context.WithValue(tb.Context(), scopeKey{}, &scope{parent: nil, rec: r, block: b}))
	}()

	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queriesLocked(b.owns)
}

// owns reports whether e belongs to the block: its context came from the block (or a block nested in it), or it
// carries no block of this Recorder and ran while the block was open.
func (b *block) owns(e *entry) bool {
	foreign := false
	for s := e.scope; s != nil; s = s.parent {
		if s.block == nil || s.block.rec != b.rec {
			continue
		}
		for x := s.block; x != nil; x = x.parent {
			if x == b {
				return true
			}
		}
		foreign = true
	}
	return !foreign && e.seq > b.start && e.seq < b.end
}

// sequence orders queries and blocks across every Recorder.
var sequence atomic.Uint64

// entry is one query being recorded. For pgx it is also the context pgx carries from the start of the query to
// its end: one allocation holds the query's state and its context.
type entry struct {
	context.Context
	key   any       // for Value: the *Tracer that made the entry
	owner *Recorder // records the entry when its context names no Recorder
	scope *scope

	seq   uint64
	sql   string
	args  []any
	start time.Time
	dur   time.Duration
	rows  int64
	err   error
	batch uint64

	drows driver.Rows // database/sql: the driver's rows, while they are read

	src  any  // plan hook (explain.go): the *pgx.Conn or *conn that ran it
	inTx bool // plan hook: it ran inside a transaction

	stack *callsite.Captured
}

// Value returns the entry itself for its tracer's key, and defers to the query's context otherwise.
func (e *entry) Value(key any) any {
	if key == e.key {
		return e
	}
	return e.Context.Value(key)
}

// begin starts an entry for a query with context ctx, or returns nil when no Recorder wants it. The captured
// stack starts at the caller's caller (a driver's frame): the user's frames are found when it is resolved.
func begin(ctx context.Context, owner *Recorder) *entry {
	s := scopeOf(ctx)
	if owner == nil && (s == nil || !s.routes()) {
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

// finish completes the entry and hands it to every Recorder its context names, or to its owner.
func (e *entry) finish(rows int64, err error) {
	e.dur = time.Since(e.start)
	e.rows = rows
	e.err = err
	delivered := false
	for s := e.scope; s != nil; s = s.parent {
		if s.rec == nil || seenBefore(e.scope, s) {
			continue
		}
		s.rec.add(e)
		delivered = true
	}
	if !delivered && e.owner != nil {
		e.owner.add(e)
	}
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
