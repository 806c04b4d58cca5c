package assertq

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"weak"
)

// This file ties queries to tests and Expect blocks: by context when the code passes one along, by time when it
// does not and exactly one block was open, and not at all (said in the block's failure) when several were.

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

// hasBlock reports whether any scope of the chain names an Expect block.
func (s *scope) hasBlock() bool {
	for ; s != nil; s = s.parent {
		if s.block != nil {
			return true
		}
	}
	return false
}

// block is one Expect call.
type block struct {
	rec     *Recorder
	parent  *block // the enclosing block of the same test on the same Recorder
	start   uint64 // sequence number when it opened: its identity
	stray   atomic.Int64
	entries []*entry // its queries and those of blocks nested in it, ordered by start; guarded by rec.mu

	strayMu      sync.Mutex
	strayEntries []*entry // the first maxStrayKept of its stray queries, checked for findings by Expect
}

// maxStrayKept bounds the stray queries a block keeps to look for findings among them.
const maxStrayKept = 4096

// addStray counts e as a stray query of b, and keeps it while b keeps fewer than maxStrayKept.
func (b *block) addStray(e *entry) {
	b.stray.Add(1)
	b.strayMu.Lock()
	if len(b.strayEntries) < maxStrayKept {
		b.strayEntries = append(b.strayEntries, e)
	}
	b.strayMu.Unlock()
}

// id identifies the block among Queries (Query.unit); 0 for no block.
func (b *block) id() uint64 {
	if b == nil {
		return 0
	}
	return b.start
}

// top returns the outermost block of b's test that encloses b: findings are grouped per top block.
func (b *block) top() *block {
	for b != nil && b.parent != nil {
		b = b.parent
	}
	return b
}

// open is the set of Expect blocks running now, across every Recorder: the candidates for a query that carries
// no block's context. n lets the recording path skip the lock when no block is open.
var open struct {
	n      atomic.Int32
	mu     sync.Mutex
	blocks map[*block]struct{}
}

func openBlock(b *block) {
	open.mu.Lock()
	if open.blocks == nil {
		open.blocks = map[*block]struct{}{}
	}
	b.start = sequence.Add(1)
	open.blocks[b] = struct{}{}
	open.n.Add(1)
	open.mu.Unlock()
}

func closeBlock(b *block) {
	open.mu.Lock()
	delete(open.blocks, b)
	open.n.Add(-1)
	open.mu.Unlock()
}

// attribute ties an entry whose context names no block to the block open since before it started, if there is
// one (innermost, for nested blocks); with several, the entry belongs to none, and each of them counts it as a
// stray query it will report: attribute then reports true.
func (e *entry) attribute() (stray bool) {
	var cands []*block
	open.mu.Lock()
	for b := range open.blocks {
		if b.start < e.seq && e.goesTo(b.rec) {
			cands = append(cands, b)
		}
	}
	open.mu.Unlock()
	cands = innermost(cands)
	if len(cands) == 1 {
		e.block = cands[0]
		return false
	}
	for _, b := range cands {
		for x := b; x != nil; x = x.parent {
			x.addStray(e)
		}
	}
	return len(cands) > 0
}

// live is the set of Recorders whose test is running. A query through a shared tracer or connector that names no
// Recorder and runs while no block is open goes to the only live Recorder; with several, to none, and each
// counts it as a stray that Strict reports. The set holds weak pointers: a Recorder nothing else uses any more
// (one replaced in a benchmark loop, whose test has not ended) is not kept alive by it.
var live struct {
	n    atomic.Int32
	mu   sync.Mutex
	recs map[weak.Pointer[Recorder]]struct{}
}

// addLive adds r to the live set and returns what removes it, which holds r weakly too.
func addLive(r *Recorder) (remove func()) {
	p := weak.Make(r)
	live.mu.Lock()
	defer live.mu.Unlock()
	if live.recs == nil {
		live.recs = map[weak.Pointer[Recorder]]struct{}{}
	}
	live.recs[p] = struct{}{}
	live.n.Store(int32(len(live.recs)))
	return func() {
		live.mu.Lock()
		defer live.mu.Unlock()
		delete(live.recs, p)
		live.n.Store(int32(len(live.recs)))
	}
}

// onlyLive returns the only live Recorder, or nil; with several, each counts a stray.
func onlyLive() *Recorder {
	live.mu.Lock()
	defer live.mu.Unlock()
	var only *Recorder
	n := 0
	for p := range live.recs {
		if r := p.Value(); r != nil {
			only = r
			n++
		} else {
			delete(live.recs, p)
		}
	}
	live.n.Store(int32(len(live.recs)))
	if n == 1 {
		return only
	}
	for p := range live.recs {
		if r := p.Value(); r != nil {
			r.strays.Add(1)
		}
	}
	return nil
}

// innermost drops the blocks that enclose another block of bs.
func innermost(bs []*block) []*block {
	out := bs[:0:0]
	for _, b := range bs {
		enclosing := false
		for _, c := range bs {
			for x := c.parent; x != nil && !enclosing; x = x.parent {
				enclosing = x == b
			}
		}
		if !enclosing {
			out = append(out, b)
		}
	}
	return out
}

// runBlock runs fn in a new block and returns the block's queries, and how many queries ran while it was open
// without a block's context and could not be attributed because other blocks were open too.
//
// When the block is outermost and checks for findings itself (NoNPlusOne among checks), Strict leaves its
// findings to it rather than report them twice.
func (r *Recorder) runBlock(tb testing.TB, fn func(ctx context.Context), checks ...Check) (Queries, *block) {
	b := &block{rec: r}
	r.mu.Lock()
	if r.active == nil {
		r.active = map[testing.TB]*block{}
	}
	b.parent = r.active[tb]
	r.active[tb] = b
	r.mu.Unlock()
	openBlock(b)

	func() {
		defer func() {
			closeBlock(b)
			r.mu.Lock()
			if b.parent != nil {
				r.active[tb] = b.parent
			} else {
				delete(r.active, tb)
			}
			r.mu.Unlock()
		}()
		fn(context.WithValue(tb.Context(), scopeKey{}, &scope{rec: r, block: b}))
	}()

	r.mu.Lock()
	defer r.mu.Unlock()
	if b.parent == nil && checksFindings(checks) {
		if r.checked == nil {
			r.checked = map[uint64]bool{}
		}
		r.checked[b.id()] = true
	}
	qs := r.queriesLocked(b.entries)
	r.noteDoublesLocked()
	return qs, b
}

// strayFindings returns the findings among the stray queries of b (those that ran while it and other blocks were
// open, with no block's context): a lazy loop that belongs to this block or to another one, which no block can
// claim. Queries are built for the check only; they stay out of every block's queries.
func (r *Recorder) strayFindings(b *block) []Finding {
	b.strayMu.Lock()
	entries := slices.Clone(b.strayEntries)
	b.strayMu.Unlock()
	if len(entries) < 2 {
		return nil
	}
	r.mu.Lock()
	qs := make(Queries, 0, len(entries))
	for _, e := range entries {
		var q Query
		if r.fill(e, &q) && !r.ignored(&q) {
			q.stray = false // analysed as a group of their own
			q.unit = b.id()
			qs = append(qs, q)
		}
	}
	r.mu.Unlock()
	return qs.Findings()
}

// blockFor returns the innermost block of r that e belongs to: the one its context names, or the one it was tied
// to by time; nil if none.
func (e *entry) blockFor(r *Recorder) *block {
	for s := e.scope; s != nil; s = s.parent {
		if s.block != nil && s.block.rec == r {
			return s.block
		}
	}
	if e.block != nil && e.block.rec == r {
		return e.block
	}
	return nil
}
