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
// The test fails with each full message when it ends (once, with a count when the same message stopped several
// statements), whether or not the code passed the error on. The plan checks' verdict on a shape is kept: a shape
// that passed is not explained again, and the same statement with the same arguments is stopped again without a
// second EXPLAIN, while other arguments are explained again until one passes; [NoLongLists] reads every
// execution's own arguments. Statements of a pgx batch
// and CopyFrom are not checked before they run (they are by [Verify] and [Expect]).
//
// checks are plan checks: [NoRowExplosion], [NoSeqScan], [NoLongLists]; other checks are ignored here. The
// checks that read the statement's text ([NoLongLists]) run first: when one fails, the statement is stopped
// without an EXPLAIN.
//
//	rec := assertq.New(t, assertq.Preflight(assertq.NoRowExplosion()))
func Preflight(checks ...Check) Option {
	return newOption("Preflight(...)", func(c *config) { c.preflight = append(c.preflight, checks...) })
}

// preflightLog is what Preflight stopped, reported when the test ends: each message once, with how many times.
type preflightLog struct {
	mu      sync.Mutex
	order   []error        // the first stop of each message
	stopped map[string]int // message -> times stopped
}

func (l *preflightLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := err.Error()
	if l.stopped[msg] == 0 {
		l.order = append(l.order, err)
	}
	l.stopped[msg]++
}

// startPreflight arms Preflight for r: counted while tb runs, findings reported at its cleanup.
func (r *Recorder) startPreflight(tb testing.TB) {
	if len(r.cfg.preflight) == 0 {
		return
	}
	preflightOn.Add(1)
	log := &preflightLog{stopped: map[string]int{}}
	r.preflight = log
	tb.Cleanup(func() {
		preflightOn.Add(-1)
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, err := range log.order {
			if n := log.stopped[err.Error()]; n > 1 {
				tb.Errorf("%v\n(assertq.Preflight stopped this statement before it ran, %d times)", err, n)
			} else {
				tb.Errorf("%v\n(assertq.Preflight stopped this statement before it ran)", err)
			}
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

// preflightCheck runs the preflight checks on e's statement and returns the stop error, or nil.
//
// The checks that read the text and arguments ([NoLongLists]) run on every execution: their verdict depends on the
// arguments (an "= ANY($1)" of 100,000 ids and one of 1,000 share a fingerprint), and they cost no EXPLAIN. The
// checks that read the plan keep one verdict per statement shape (database and fingerprint): a shape that passed
// is not explained again. EXPLAIN plans the statement with its own arguments, so a plan's estimates can depend on
// them: a "stop" verdict is reused only for the same arguments, and an execution of a stopped shape with other
// arguments is explained again (a stopped statement does not run, so that EXPLAIN is all it costs), until one
// passes. Once a shape passed, executions with arguments not stopped before pass without an EXPLAIN: the plan
// checks judge a shape once, as [Verify] does, and a plan that explodes only for some values can be missed when
// values that pass ran first.
func (r *Recorder) preflightCheck(e *entry, sess session) error {
	q := new(Query)
	r.mu.Lock()
	kept := r.fill(e, q)
	r.mu.Unlock()
	if !kept || q.plan == nil || !explainable(q) { // not kept: a double of a statement the connector records
		return nil
	}
	var errs []error
	for _, c := range r.cfg.preflight {
		if c, ok := c.(textCheck); ok {
			errs = append(errs, c.judgeText(q)...)
		}
	}
	var verdict error
	if len(errs) > 0 {
		// stopped without an EXPLAIN: planning a 100,000-item list costs about as much as running it
		verdict = &stopError{cause: errors.Join(errs...)}
	} else {
		verdict = r.planVerdict(e.Context, sess, q)
	}
	if verdict == nil {
		return nil
	}
	if r.preflight != nil {
		r.preflight.add(verdict)
	}
	return verdict
}

// shapeVerdict is the plan checks' verdict on one statement shape: whether an execution passed, and the stop of
// each execution stopped, by a digest of its arguments.
type shapeVerdict struct {
	passed bool
	stops  map[uint64]error
}

// planVerdict returns the verdict of the plan checks on q: a stop kept for the same arguments, else a pass kept for
// the shape, else q explained (again) in sess. A shape never stopped pays no digest of its arguments.
func (r *Recorder) planVerdict(ctx context.Context, sess session, q *Query) error {
	key := planKey{q.plan.database(), q.Fingerprint}
	r.plans.mu.Lock()
	v := r.plans.verdicts[key]
	passed, stopped := v != nil && v.passed, v != nil && len(v.stops) > 0
	r.plans.mu.Unlock()
	var digest uint64
	if stopped {
		digest = valuesHash(q)
		r.plans.mu.Lock()
		err := v.stops[digest]
		r.plans.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if passed {
		return nil
	}
	if v != nil {
		r.plans.mu.Lock()
		delete(r.plans.plans, key) // planned with other arguments
		r.plans.mu.Unlock()
	}
	err := r.preflightPlans(ctx, sess, q)
	if err != nil && !stopped {
		digest = valuesHash(q)
	}
	r.plans.mu.Lock()
	defer r.plans.mu.Unlock()
	if r.plans.verdicts == nil {
		r.plans.verdicts = map[planKey]*shapeVerdict{}
	}
	if v = r.plans.verdicts[key]; v == nil {
		v = &shapeVerdict{stops: map[uint64]error{}}
		r.plans.verdicts[key] = v
	}
	if err == nil {
		v.passed = true
	} else {
		v.stops[digest] = err
	}
	return err
}

// preflightPlans runs the checks that read the plan on q, explained in sess.
func (r *Recorder) preflightPlans(ctx context.Context, sess session, q *Query) error {
	var errs []error
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
