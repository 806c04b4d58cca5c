package containers

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// readyPool is a pool on a warm database with its first connection
// open, made before the test asks for it: connecting to a fresh database
// (a backend started, its caches filled) is most of what a short test
// pays for otherwise. Its tracer is set when the test takes it.
type readyPool struct {
	pool   *pgxpool.Pool
	tracer *lateTracer
}

// openReady opens a pool on a database waiting to be handed out, with one
// connection open and used once.
func (s *Server) openReady(ctx context.Context, dsn string) (*readyPool, error) {
	lt := &lateTracer{}
	pool, err := s.openPool(ctx, dsn, lt, connsPerTest)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		pool.Close()
		return nil, err
	}
	return &readyPool{pool: pool, tracer: lt}, nil
}

// openPool opens a pgx pool on a database of the server with the tracer,
// holding at most maxConns connections (0: pgxpool's default).
func (s *Server) openPool(ctx context.Context, dsn string, tracer pgx.QueryTracer, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = tracer
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// lateTracer is the tracer of connections opened before the test says
// which tracer it wants: it passes every event to the tracer set later,
// if that tracer handles that kind of event.
type lateTracer struct {
	to atomic.Pointer[pgx.QueryTracer]
}

func (l *lateTracer) set(t pgx.QueryTracer) {
	if t != nil {
		l.to.Store(&t)
	}
}

func (l *lateTracer) get() pgx.QueryTracer {
	if p := l.to.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *lateTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if t := l.get(); t != nil {
		return t.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (l *lateTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if t := l.get(); t != nil {
		t.TraceQueryEnd(ctx, conn, data)
	}
}

func (l *lateTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if t, ok := l.get().(pgx.BatchTracer); ok {
		return t.TraceBatchStart(ctx, conn, data)
	}
	return ctx
}

func (l *lateTracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if t, ok := l.get().(pgx.BatchTracer); ok {
		t.TraceBatchQuery(ctx, conn, data)
	}
}

func (l *lateTracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if t, ok := l.get().(pgx.BatchTracer); ok {
		t.TraceBatchEnd(ctx, conn, data)
	}
}

func (l *lateTracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if t, ok := l.get().(pgx.CopyFromTracer); ok {
		return t.TraceCopyFromStart(ctx, conn, data)
	}
	return ctx
}

func (l *lateTracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if t, ok := l.get().(pgx.CopyFromTracer); ok {
		t.TraceCopyFromEnd(ctx, conn, data)
	}
}

func (l *lateTracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if t, ok := l.get().(pgx.PrepareTracer); ok {
		return t.TracePrepareStart(ctx, conn, data)
	}
	return ctx
}

func (l *lateTracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if t, ok := l.get().(pgx.PrepareTracer); ok {
		t.TracePrepareEnd(ctx, conn, data)
	}
}
