package assertq

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tracer records pgx queries. It implements [pgx.QueryTracer], [pgx.BatchTracer] (each statement of a batch is a
// query of its own), [pgx.CopyFromTracer] (a CopyFrom is one query, "COPY t (cols) FROM STDIN") and
// [pgx.PrepareTracer] (so a statement run by its prepared name is recorded with its SQL). It passes every call on
// to the tracers it was made with, including [pgx.ConnectTracer] and the pgxpool acquire and release tracers, so
// adding a Recorder never replaces a tracer already set. Per-query state travels in the context pgx hands back.
//
// A Tracer is safe for concurrent use. Make one with [Recorder.Tracer] or [SharedTracer].
type Tracer struct {
	rec *Recorder // nil for a shared tracer

	next        pgx.QueryTracer
	nextBatch   pgx.BatchTracer
	nextCopy    pgx.CopyFromTracer
	nextPrepare pgx.PrepareTracer
	nextConnect pgx.ConnectTracer
	nextAcquire pgxpool.AcquireTracer
	nextRelease pgxpool.ReleaseTracer

	named     atomic.Bool  // whether prepared holds any name
	prepared  sync.Map     // preparedKey -> SQL
	preparedN atomic.Int64 // names in prepared, up to maxPrepared
}

// maxPrepared is how many statement names (per connection) a Tracer remembers: past it, a statement prepared under
// a new name is recorded under its name rather than its SQL, and the Tracer's memory stops growing.
const maxPrepared = 1 << 14

type preparedKey struct {
	conn *pgx.Conn
	name string
}

// Tracer returns a pgx tracer that records into r, and passes every call on to next (typically the tracer the
// configuration already had):
//
//	cfg.ConnConfig.Tracer = rec.Tracer(cfg.ConnConfig.Tracer)
//
// Queries whose context comes from another Recorder's [Recorder.Context] or [Expect] go to that Recorder instead.
func (r *Recorder) Tracer(next ...pgx.QueryTracer) *Tracer { return newTracer(r, next) }

// SharedTracer returns a pgx tracer for a pool that many tests share (built in TestMain, say). It records a query
// only into the Recorder its context names, through [Recorder.Context] or [Expect], so parallel tests each see
// their own queries; queries with no such context are passed on to next and not recorded.
func SharedTracer(next ...pgx.QueryTracer) *Tracer { return newTracer(nil, next) }

func newTracer(r *Recorder, next []pgx.QueryTracer) *Tracer {
	t := &Tracer{rec: r}
	var tracers []pgx.QueryTracer
	for _, n := range next {
		if n != nil {
			tracers = append(tracers, n)
		}
	}
	switch len(tracers) {
	case 0:
		return t
	case 1:
		t.next = tracers[0]
	default:
		t.next = multitracer.New(tracers...)
	}
	t.nextBatch, _ = t.next.(pgx.BatchTracer)
	t.nextCopy, _ = t.next.(pgx.CopyFromTracer)
	t.nextPrepare, _ = t.next.(pgx.PrepareTracer)
	t.nextConnect, _ = t.next.(pgx.ConnectTracer)
	t.nextAcquire, _ = t.next.(pgxpool.AcquireTracer)
	t.nextRelease, _ = t.next.(pgxpool.ReleaseTracer)
	return t
}

// TraceQueryStart implements [pgx.QueryTracer].
func (t *Tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if _, ok := ctx.(planCtx); ok {
		return ctx // plan hook: assertq's own EXPLAIN on the code's connection is not the code's query
	}
	if t.next != nil {
		ctx = t.next.TraceQueryStart(ctx, conn, data)
	}
	e := begin(ctx, t.rec)
	if e == nil {
		return ctx
	}
	e.key = t
	e.sql = t.statementSQL(conn, data.SQL)
	e.args = copyArgs(e.argBuf[:0], data.Args)
	e.src = pgxSource(conn) // plan hook (explain.go)
	if preflightOn.Load() > 0 {
		return t.preflight(e, conn) // plan hook (preflight.go)
	}
	return e
}

// TraceQueryEnd implements [pgx.QueryTracer].
func (t *Tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if _, ok := ctx.(planCtx); ok {
		return // plan hook
	}
	if e := t.entryOf(ctx); e != nil {
		e.finish(data.CommandTag.RowsAffected(), data.Err)
	}
	if t.next != nil {
		t.next.TraceQueryEnd(ctx, conn, data)
	}
}

// entryOf finds the entry this tracer put in ctx.
func (t *Tracer) entryOf(ctx context.Context) *entry {
	if e, ok := ctx.(*entry); ok && e.key == any(t) {
		return e
	}
	e, _ := ctx.Value(t).(*entry)
	return e
}

// batchCtx carries a batch from SendBatch to its statements: the call stack and scope, captured once.
type batchCtx struct {
	context.Context
	key   batchKey
	proto *entry
}

type batchKey struct{ t *Tracer }

func (b *batchCtx) Value(key any) any {
	if key == any(b.key) {
		return b
	}
	return b.Context.Value(key)
}

var batchSequence atomic.Uint64

// TraceBatchStart implements [pgx.BatchTracer]. The call site of SendBatch is the call site of every statement
// of the batch.
func (t *Tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if t.nextBatch != nil {
		ctx = t.nextBatch.TraceBatchStart(ctx, conn, data)
	}
	e := begin(ctx, t.rec)
	if e == nil {
		return ctx
	}
	e.key = t
	e.batch = batchSequence.Add(1)
	e.src = pgxSource(conn) // plan hook (explain.go)
	return &batchCtx{Context: ctx, key: batchKey{t}, proto: e}
}

// TraceBatchQuery implements [pgx.BatchTracer]: each statement of a batch is recorded as a query.
func (t *Tracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if b, _ := ctx.Value(batchKey{t}).(*batchCtx); b != nil {
		e := new(entry)
		*e = *b.proto
		e.seq = sequence.Add(1)
		e.sql = t.statementSQL(conn, data.SQL)
		e.args = copyArgs(e.argBuf[:0], data.Args)
		e.start = data.ReadStartTime
		if e.start.IsZero() {
			e.start = time.Now()
		}
		e.finish(data.CommandTag.RowsAffected(), data.Err)
	}
	if t.nextBatch != nil {
		t.nextBatch.TraceBatchQuery(ctx, conn, data)
	}
}

// TraceBatchEnd implements [pgx.BatchTracer].
func (t *Tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if t.nextBatch != nil {
		t.nextBatch.TraceBatchEnd(ctx, conn, data)
	}
}

// TraceCopyFromStart implements [pgx.CopyFromTracer]: a CopyFrom is recorded as `COPY "table" ("col", ...) FROM
// STDIN`, an [Insert], with the rows copied as its Rows.
func (t *Tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if t.nextCopy != nil {
		ctx = t.nextCopy.TraceCopyFromStart(ctx, conn, data)
	}
	e := begin(ctx, t.rec)
	if e == nil {
		return ctx
	}
	e.key = t
	cols := make([]string, len(data.ColumnNames))
	for i, c := range data.ColumnNames {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	e.sql = "COPY " + data.TableName.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
	return e
}

// TraceCopyFromEnd implements [pgx.CopyFromTracer].
func (t *Tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if e := t.entryOf(ctx); e != nil {
		e.finish(data.CommandTag.RowsAffected(), data.Err)
	}
	if t.nextCopy != nil {
		t.nextCopy.TraceCopyFromEnd(ctx, conn, data)
	}
}

// TracePrepareStart implements [pgx.PrepareTracer]. Preparing is not a query; the tracer remembers the name so
// that running the statement by name records its SQL.
func (t *Tracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if data.Name != "" && data.Name != data.SQL && !strings.HasPrefix(data.Name, "stmtcache_") && t.preparedN.Load() < maxPrepared {
		if _, loaded := t.prepared.Swap(preparedKey{conn, data.Name}, data.SQL); !loaded {
			t.preparedN.Add(1)
		}
		t.named.Store(true)
	}
	if t.nextPrepare != nil {
		ctx = t.nextPrepare.TracePrepareStart(ctx, conn, data)
	}
	return ctx
}

// TracePrepareEnd implements [pgx.PrepareTracer].
func (t *Tracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if t.nextPrepare != nil {
		t.nextPrepare.TracePrepareEnd(ctx, conn, data)
	}
}

// statementSQL returns the SQL of a statement pgx was asked to run: sql itself, or the SQL prepared under that name
// on conn.
func (t *Tracer) statementSQL(conn *pgx.Conn, sql string) string {
	if !t.named.Load() {
		return sql
	}
	if v, ok := t.prepared.Load(preparedKey{conn, sql}); ok {
		return v.(string)
	}
	return sql
}

// TraceConnectStart implements [pgx.ConnectTracer] by passing the call on.
func (t *Tracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	if t.nextConnect != nil {
		ctx = t.nextConnect.TraceConnectStart(ctx, data)
	}
	return ctx
}

// TraceConnectEnd implements [pgx.ConnectTracer] by passing the call on.
func (t *Tracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if t.nextConnect != nil {
		t.nextConnect.TraceConnectEnd(ctx, data)
	}
}

// TraceAcquireStart implements [pgxpool.AcquireTracer] by passing the call on.
func (t *Tracer) TraceAcquireStart(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireStartData) context.Context {
	if t.nextAcquire != nil {
		ctx = t.nextAcquire.TraceAcquireStart(ctx, pool, data)
	}
	return ctx
}

// TraceAcquireEnd implements [pgxpool.AcquireTracer] by passing the call on.
func (t *Tracer) TraceAcquireEnd(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	if t.nextAcquire != nil {
		t.nextAcquire.TraceAcquireEnd(ctx, pool, data)
	}
}

// TraceRelease implements [pgxpool.ReleaseTracer] by passing the call on.
func (t *Tracer) TraceRelease(pool *pgxpool.Pool, data pgxpool.TraceReleaseData) {
	if t.nextRelease != nil {
		t.nextRelease.TraceRelease(pool, data)
	}
}

// copyArgs copies a query's arguments (the caller may reuse its slice) into dst, leaving out pgx's execution
// options. dst is the entry's own buffer: up to len(entry.argBuf) arguments cost no allocation.
func copyArgs(dst, args []any) []any {
	for len(args) > 0 {
		switch args[0].(type) {
		case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			args = args[1:]
			continue
		}
		break
	}
	if len(args) == 0 {
		return nil
	}
	return append(dst, args...)
}
