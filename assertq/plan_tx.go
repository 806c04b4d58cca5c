package assertq

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Tx returns tx with its statements recorded into r, for a transaction whose connection the Recorder's tracer is
// not on: the one containers' Server.Tx hands out, from a pool shared by the tests of a process. Exec, Query,
// QueryRow and CopyFrom are recorded, and checked by [Preflight] before they run; a savepoint from Begin is
// recorded too. Plan checks explain its statements in the transaction itself while it is open, so tables it
// created and rows it inserted are seen. Batches (SendBatch) pass through unrecorded. Do not use it on a
// transaction whose connection already has r's tracer: each statement would be recorded twice.
//
//	tx := assertq.New(t).Tx(srv.Tx(t))
func (r *Recorder) Tx(tx pgx.Tx) pgx.Tx {
	return &recordedTx{Tx: tx, t: r.Tracer()}
}

type recordedTx struct {
	pgx.Tx
	t *Tracer
}

func (x *recordedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := x.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &recordedTx{Tx: tx, t: x.t}, nil
}

func (x *recordedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	conn := x.Conn()
	ctx = x.t.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: sql, Args: args})
	tag, err := x.Tx.Exec(ctx, sql, args...)
	x.t.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{CommandTag: tag, Err: err})
	return tag, err
}

func (x *recordedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	conn := x.Conn()
	ctx = x.t.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: sql, Args: args})
	rows, err := x.Tx.Query(ctx, sql, args...)
	if err != nil {
		x.t.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{Err: err})
		return rows, err
	}
	return &recordedRows{Rows: rows, end: func(tag pgconn.CommandTag, err error) {
		x.t.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{CommandTag: tag, Err: err})
	}}, nil
}

func (x *recordedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := x.Query(ctx, sql, args...)
	return recordedRow{rows: rows, err: err}
}

func (x *recordedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	conn := x.Conn()
	ctx = x.t.TraceCopyFromStart(ctx, conn, pgx.TraceCopyFromStartData{TableName: table, ColumnNames: columns})
	n, err := x.Tx.CopyFrom(ctx, table, columns, src)
	x.t.TraceCopyFromEnd(ctx, conn, pgx.TraceCopyFromEndData{CommandTag: pgconn.NewCommandTag("COPY " + strconv.FormatInt(n, 10)), Err: err})
	return n, err
}

// recordedRows ends the query's record when the rows are closed, once.
type recordedRows struct {
	pgx.Rows
	end  func(pgconn.CommandTag, error)
	done bool
}

func (r *recordedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *recordedRows) Close() {
	r.Rows.Close()
	if !r.done {
		r.done = true
		r.end(r.Rows.CommandTag(), r.Rows.Err())
	}
}

// recordedRow is QueryRow over recorded rows, as pgx's own: the first row, or pgx.ErrNoRows.
type recordedRow struct {
	rows pgx.Rows
	err  error
}

func (r recordedRow) Scan(dest ...any) error {
	if r.err != nil {
		if r.rows != nil {
			r.rows.Close()
		}
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
