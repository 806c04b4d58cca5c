package assertq

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// ErrPreflight is matched (errors.Is) by the error a statement stopped by [Preflight] returns to the code that
// ran it. The error's text is the plan check's full message.
var ErrPreflight = errors.New("assertq: Preflight stopped the statement before it ran")

// preflightOn counts the live Recorders made with Preflight: while it is 0, the query path pays one atomic load.
var preflightOn atomic.Int32

// Preflight makes the Recorder check each new statement shape (fingerprint, per database) with checks BEFORE the
// statement runs, by running EXPLAIN in the code's own session (pgx: from the tracer's TraceQueryStart, on the
// same connection, which is idle at that point; database/sql: on the wrapped driver connection, before the call
// reaches the driver). When a check fails, the statement does not run:
//
//   - pgx: the context the tracer hands back is already done, and its Err is the finding, so pgx returns before
//     sending anything and the connection stays usable; the error reads "timeout: context already done: assertq:
//     row explosion: ..." (pgx's wrapping) and matches [ErrPreflight] and context.Canceled;
//   - database/sql: the driver call returns the finding itself, which matches [ErrPreflight].
//
// The test fails with each full message when it ends, whether or not the code passed the error on. A shape's
// verdict is kept: the same statement shape is stopped again without a second EXPLAIN. Statements of a pgx batch
// and CopyFrom are not checked before they run (they are by [Verify] and [Expect]).
//
// checks are plan checks: [NoRowExplosion], [NoSeqScan], [NoLongLists]; other checks are ignored here. The
// checks that read the statement's text ([NoLongLists]) run first: when one fails, the statement is stopped
// without an EXPLAIN.
//
//	rec := assertq.New(t, assertq.Preflight(assertq.NoRowExplosion()))
func Preflight(checks ...Check) Option {
	return optionFunc(func(c *config) { c.preflight = append(c.preflight, checks...) })
}

// preflightLog is what Preflight stopped, reported when the test ends.
type preflightLog struct {
	mu      sync.Mutex
	stopped []error
}

var preflightLogs sync.Map // *Recorder -> *preflightLog

// startPreflight arms Preflight for r: counted while tb runs, findings reported at its cleanup.
func (r *Recorder) startPreflight(tb testing.TB) {
	if len(r.cfg.preflight) == 0 {
		return
	}
	preflightOn.Add(1)
	log := &preflightLog{}
	preflightLogs.Store(r, log)
	tb.Cleanup(func() {
		preflightOn.Add(-1)
		preflightLogs.Delete(r)
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, err := range log.stopped {
			tb.Errorf("%v\n(assertq.Preflight stopped this statement before it ran)", err)
		}
	})
}

// preflightRecorder returns the Recorder that records e and has Preflight, or nil.
func (e *entry) preflightRecorder() *Recorder {
	for s := e.scope; s != nil; s = s.parent {
		if s.rec != nil && len(s.rec.cfg.preflight) > 0 {
			return s.rec
		}
	}
	if e.owner != nil && len(e.owner.cfg.preflight) > 0 {
		return e.owner
	}
	return nil
}

// preflight runs r's preflight checks on a pgx statement about to run on conn; a failure comes back as a context
// that is already done.
func (t *Tracer) preflight(e *entry, conn *pgx.Conn) context.Context {
	r := e.preflightRecorder()
	if r == nil || conn == nil || conn.PgConn().TxStatus() == 'E' {
		return e // an aborted transaction refuses the statement anyway
	}
	if err := r.preflightCheck(e, pgxSession{conn: conn, owned: true}); err != nil {
		return &stoppedCtx{entry: e, err: err}
	}
	return e
}

// preflightSQL runs the preflight checks of e's Recorder on a database/sql statement about to run on c.
func (e *entry) preflightSQL(c *conn, query string, args []driver.NamedValue) error {
	r := e.preflightRecorder()
	if r == nil {
		return nil
	}
	e.sql, e.args = query, argValues(e.argBuf[:0], args)
	e.src = sqlSource(c)
	return r.preflightCheck(e, sqlSession{conn: c.Conn, owned: true, tx: c.inTx})
}

// preflightCheck explains e's statement in sess (once per shape) and returns the stop error of the first failed
// check, or nil.
func (r *Recorder) preflightCheck(e *entry, sess session) error {
	q := new(Query)
	r.mu.Lock()
	kept := r.fill(e, q)
	r.mu.Unlock()
	if !kept || q.plan == nil || !explainable(q) { // not kept: a double of a statement the connector records
		return nil
	}
	key := planKey{q.plan.database(), q.Fingerprint}
	r.plans.mu.Lock()
	verdict, done := r.plans.verdicts[key]
	r.plans.mu.Unlock()
	if !done {
		verdict = r.preflightVerdict(e.Context, sess, q)
		r.plans.mu.Lock()
		if r.plans.verdicts == nil {
			r.plans.verdicts = map[planKey]error{}
		}
		r.plans.verdicts[key] = verdict
		r.plans.mu.Unlock()
	}
	if verdict == nil {
		return nil
	}
	if v, ok := preflightLogs.Load(r); ok {
		log := v.(*preflightLog)
		log.mu.Lock()
		log.stopped = append(log.stopped, verdict)
		log.mu.Unlock()
	}
	return verdict
}

// preflightVerdict runs the checks on q: the checks that read the text first, and when one fails the statement is
// stopped without an EXPLAIN (planning a 100,000-item list costs about as much as running it); then the checks
// that read the plan.
func (r *Recorder) preflightVerdict(ctx context.Context, sess session, q *Query) error {
	var errs []error
	for _, c := range r.cfg.preflight {
		if c, ok := c.(textCheck); ok {
			errs = append(errs, c.judgeText(q)...)
		}
	}
	if len(errs) == 0 {
		ss := sessions{forced: sess}
		for _, c := range r.cfg.preflight {
			c, ok := c.(planCheck)
			if !ok || !matchAll(q, c.config().only) {
				continue
			}
			if p, err := r.planFor(ctx, &ss, q, true); err != nil {
				errs = append(errs, noPlan(c, q, err))
			} else {
				errs = append(errs, c.judge(q, p)...)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &stopError{cause: errors.Join(errs...)}
}

// stopError is what a statement stopped by Preflight returns.
type stopError struct{ cause error }

func (e *stopError) Error() string { return fmt.Sprint(e.cause) }
func (e *stopError) Unwrap() error { return e.cause }

// Is matches ErrPreflight, and context.Canceled: pgx sees the stop as a context that is done.
func (e *stopError) Is(target error) bool {
	return target == ErrPreflight || target == context.Canceled
}

// stoppedCtx is the context Preflight hands pgx for a statement that must not run: done, with the finding as Err.
type stoppedCtx struct {
	*entry
	err error
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (s *stoppedCtx) Done() <-chan struct{} { return closed }
func (s *stoppedCtx) Err() error            { return s.err }
func (s *stoppedCtx) Value(key any) any     { return s.entry.Value(key) }
