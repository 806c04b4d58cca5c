package assertq_test

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
)

// want describes one recorded query.
type want struct {
	fingerprint string
	kind        assertq.Kind
	args        []any
	rows        int64
	tables      []string
	batch       bool
	err         bool
}

func TestCapture(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, rec *assertq.Recorder)
		want []want
	}{
		{
			name: "pgx conn: Exec, Query, QueryRow",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				conn := tracedConn(t, db, rec.Tracer())
				_, err := conn.Exec(ctx, "UPDATE store SET name = name WHERE id = $1", 1)
				must(t, err)
				rows, err := conn.Query(ctx, "SELECT id FROM product WHERE store_id = $1 ORDER BY id", 2)
				must(t, err)
				ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
				must(t, err)
				if len(ids) != 4 {
					t.Fatalf("got %d products, want 4", len(ids))
				}
				var name string
				must(t, conn.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", 3).Scan(&name))
			},
			want: []want{
				{fingerprint: "UPDATE store SET name = name WHERE id = ?", kind: assertq.Update, args: []any{1}, rows: 1, tables: []string{"store"}},
				{fingerprint: "SELECT id FROM product WHERE store_id = ? ORDER BY id", kind: assertq.Select, args: []any{2}, rows: 4, tables: []string{"product"}},
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{3}, rows: 1, tables: []string{"store"}},
			},
		},
		{
			name: "pgxpool",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				pool := tracedPool(t, db, rec.Tracer())
				var n int
				must(t, pool.QueryRow(ctx, "SELECT count(*) FROM product WHERE store_id = ANY($1)", []int{1, 2}).Scan(&n))
				_, err := pool.Exec(ctx, "SELECT pg_sleep(0)")
				must(t, err)
			},
			want: []want{
				{fingerprint: "SELECT count(*) FROM product WHERE store_id = ANY (?)", kind: assertq.Select, args: []any{[]int{1, 2}}, rows: 1, tables: []string{"product"}},
				{fingerprint: "SELECT pg_sleep(?)", kind: assertq.Select, rows: 1},
			},
		},
		{
			name: "pgx batch: each statement a query",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				pool := tracedPool(t, db, rec.Tracer())
				b := &pgx.Batch{}
				b.Queue("SELECT name FROM store WHERE id = $1", 1)
				b.Queue("SELECT name FROM store WHERE id = $1", 2)
				b.Queue("UPDATE store SET name = name WHERE id = $1", 4)
				must(t, pool.SendBatch(ctx, b).Close())
			},
			want: []want{
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{1}, rows: 1, batch: true, tables: []string{"store"}},
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{2}, rows: 1, batch: true, tables: []string{"store"}},
				{fingerprint: "UPDATE store SET name = name WHERE id = ?", kind: assertq.Update, args: []any{4}, rows: 1, batch: true, tables: []string{"store"}},
			},
		},
		{
			name: "pgx CopyFrom",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				conn := tracedConn(t, db, rec.Tracer())
				_, err := conn.Exec(ctx, "CREATE TEMP TABLE copied (id int, name text)")
				must(t, err)
				n, err := conn.CopyFrom(ctx, pgx.Identifier{"copied"}, []string{"id", "name"},
					pgx.CopyFromRows([][]any{{1, "a"}, {2, "b"}, {3, "c"}}))
				must(t, err)
				if n != 3 {
					t.Fatalf("copied %d rows, want 3", n)
				}
			},
			want: []want{
				{fingerprint: "CREATE TEMP TABLE copied (id int, name text)", kind: assertq.Other, rows: 0, tables: []string{"copied"}},
				{fingerprint: "COPY copied (id, name) FROM STDIN", kind: assertq.Insert, rows: 3, tables: []string{"copied"}},
			},
		},
		{
			name: "pgx prepared statement run by name records its SQL",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				conn := tracedConn(t, db, rec.Tracer())
				_, err := conn.Prepare(ctx, "store_name", "SELECT name FROM store WHERE id = $1")
				must(t, err)
				var name string
				must(t, conn.QueryRow(ctx, "store_name", 5).Scan(&name))
			},
			want: []want{
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{5}, rows: 1, tables: []string{"store"}},
			},
		},
		{
			name: "pgx error and transaction control",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				conn := tracedConn(t, db, rec.Tracer())
				tx, err := conn.Begin(ctx)
				must(t, err)
				if _, err := tx.Exec(ctx, "SELECT * FROM no_such_table"); err == nil {
					t.Fatal("query on a missing table did not fail")
				}
				must(t, tx.Rollback(ctx))
			},
			want: []want{
				{fingerprint: "BEGIN", kind: assertq.Transaction},
				{fingerprint: "SELECT * FROM no_such_table", kind: assertq.Select, tables: []string{"no_such_table"}, err: true},
				{fingerprint: "ROLLBACK", kind: assertq.Transaction},
			},
		},
		{
			name: "database/sql through pgx stdlib",
			run: func(t *testing.T, ctx context.Context, rec *assertq.Recorder) {
				sdb := recordedSQL(t, rec, db)
				rows, err := sdb.QueryContext(ctx, "SELECT id FROM product WHERE store_id = $1", 3)
				must(t, err)
				n := 0
				for rows.Next() {
					n++
				}
				must(t, rows.Close())
				_, err = sdb.ExecContext(ctx, "UPDATE store SET name = name WHERE id = $1", 2)
				must(t, err)
				stmt, err := sdb.PrepareContext(ctx, "SELECT name FROM store WHERE id = $1")
				must(t, err)
				var name string
				must(t, stmt.QueryRowContext(ctx, 1).Scan(&name))
				must(t, stmt.QueryRowContext(ctx, 2).Scan(&name))
				must(t, stmt.Close())
				tx, err := sdb.BeginTx(ctx, nil)
				must(t, err)
				_, err = tx.ExecContext(ctx, "DELETE FROM product WHERE id = $1", -1)
				must(t, err)
				must(t, tx.Commit())
			},
			want: []want{
				{fingerprint: "SELECT id FROM product WHERE store_id = ?", kind: assertq.Select, args: []any{3}, rows: 4, tables: []string{"product"}},
				{fingerprint: "UPDATE store SET name = name WHERE id = ?", kind: assertq.Update, args: []any{2}, rows: 1, tables: []string{"store"}},
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{1}, rows: 1, tables: []string{"store"}},
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{2}, rows: 1, tables: []string{"store"}},
				{fingerprint: "BEGIN", kind: assertq.Transaction, rows: -1},
				{fingerprint: "DELETE FROM product WHERE id = ?", kind: assertq.Delete, args: []any{-1}, rows: 0, tables: []string{"product"}},
				{fingerprint: "COMMIT", kind: assertq.Transaction, rows: -1},
			},
		},
		{
			name: "database/sql without a context",
			run: func(t *testing.T, _ context.Context, rec *assertq.Recorder) {
				sdb := recordedSQL(t, rec, db)
				var n int
				must(t, sdb.QueryRow("SELECT count(*) FROM store").Scan(&n))
			},
			want: []want{
				{fingerprint: "SELECT count(*) FROM store", kind: assertq.Select, rows: 1, tables: []string{"store"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			tt.run(t, t.Context(), rec)
			checkRecorded(t, rec.Queries(), tt.want)
		})
	}
}

// checkRecorded compares recorded queries with what was wanted, and checks that each points at this file.
func checkRecorded(t *testing.T, got assertq.Queries, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("recorded %d queries, want %d:\n%s", len(got), len(wants), got)
	}
	for i, w := range wants {
		q := got[i]
		if q.Fingerprint != w.fingerprint {
			t.Errorf("query %d: fingerprint %q, want %q", i, q.Fingerprint, w.fingerprint)
		}
		if q.Kind != w.kind {
			t.Errorf("query %d (%s): kind %s, want %s", i, q.Fingerprint, q.Kind, w.kind)
		}
		if !reflect.DeepEqual(q.Args, w.args) {
			t.Errorf("query %d (%s): args %#v, want %#v", i, q.Fingerprint, q.Args, w.args)
		}
		if !w.err && q.Rows != w.rows {
			t.Errorf("query %d (%s): rows %d, want %d", i, q.Fingerprint, q.Rows, w.rows)
		}
		if !reflect.DeepEqual(q.Tables, w.tables) {
			t.Errorf("query %d (%s): tables %q, want %q", i, q.Fingerprint, q.Tables, w.tables)
		}
		if (q.Batch != 0) != w.batch {
			t.Errorf("query %d (%s): batch %d, want batch=%v", i, q.Fingerprint, q.Batch, w.batch)
		}
		if (q.Err != nil) != w.err {
			t.Errorf("query %d (%s): err %v, want err=%v", i, q.Fingerprint, q.Err, w.err)
		}
		if !strings.HasSuffix(q.Caller.File, "capture_test.go") || !strings.Contains(q.Caller.Func, "TestCapture") {
			t.Errorf("query %d (%s): caller %s, want a line of TestCapture in capture_test.go", i, q.Fingerprint, q.Caller)
		}
		if q.StackKey == 0 || q.Start.IsZero() || q.Duration <= 0 {
			t.Errorf("query %d (%s): stack key %x, start %v, duration %v: want all set", i, q.Fingerprint, q.StackKey, q.Start, q.Duration)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Start.Before(got[i-1].Start) && got[i].Batch == 0 {
			t.Errorf("queries %d and %d out of order: %v before %v", i-1, i, got[i-1].Start, got[i].Start)
		}
	}
}

func TestCaptureBatchSharesOneBatch(t *testing.T) {
	t.Parallel()
	db := shop(t)
	rec := assertq.New(t)
	pool := tracedPool(t, db, rec.Tracer())
	for range 2 {
		b := &pgx.Batch{}
		b.Queue("SELECT 1")
		b.Queue("SELECT 2")
		must(t, pool.SendBatch(t.Context(), b).Close())
	}
	qs := rec.Queries()
	if len(qs) != 4 {
		t.Fatalf("recorded %d queries, want 4:\n%s", len(qs), qs)
	}
	if qs[0].Batch == 0 || qs[0].Batch != qs[1].Batch || qs[2].Batch != qs[3].Batch || qs[1].Batch == qs[2].Batch {
		t.Errorf("batch ids %d %d %d %d, want two pairs of equal, non-zero ids", qs[0].Batch, qs[1].Batch, qs[2].Batch, qs[3].Batch)
	}
}

// countingTracer is a user's own tracer, for checking that the recorder passes every call on.
type countingTracer struct {
	queryStart, queryEnd, batchStart, batchQuery, batchEnd, copyStart, copyEnd, prepareStart, prepareEnd, connect atomic.Int32
	acquire, release                                                                                              atomic.Int32
}

type ctxKey struct{}

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.queryStart.Add(1)
	return context.WithValue(ctx, ctxKey{}, "mine")
}

func (c *countingTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if ctx.Value(ctxKey{}) == "mine" {
		c.queryEnd.Add(1)
	}
}

func (c *countingTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.batchStart.Add(1)
	return ctx
}
func (c *countingTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.batchQuery.Add(1)
}
func (c *countingTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {
	c.batchEnd.Add(1)
}
func (c *countingTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.copyStart.Add(1)
	return ctx
}
func (c *countingTracer) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {
	c.copyEnd.Add(1)
}
func (c *countingTracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.prepareStart.Add(1)
	return ctx
}
func (c *countingTracer) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {
	c.prepareEnd.Add(1)
}
func (c *countingTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	c.connect.Add(1)
	return ctx
}
func (c *countingTracer) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {}
func (c *countingTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	c.acquire.Add(1)
	return ctx
}
func (c *countingTracer) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {
}
func (c *countingTracer) TraceRelease(*pgxpool.Pool, pgxpool.TraceReleaseData) {
	c.release.Add(1)
}

func TestTracerComposes(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name  string
		users int // user tracers already set
	}{
		{name: "one tracer already set", users: 1},
		{name: "two tracers already set", users: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			rec := assertq.New(t)
			var users []pgx.QueryTracer
			var counters []*countingTracer
			for range tt.users {
				c := &countingTracer{}
				counters = append(counters, c)
				users = append(users, c)
			}
			pool := tracedPool(t, db, rec.Tracer(users...))
			must(t, pool.QueryRow(ctx, "SELECT 1").Scan(new(int)))
			b := &pgx.Batch{}
			b.Queue("SELECT 1")
			b.Queue("SELECT 2")
			must(t, pool.SendBatch(ctx, b).Close())
			conn, err := pool.Acquire(ctx)
			must(t, err)
			_, err = conn.Conn().Exec(ctx, "CREATE TEMP TABLE c (id int)")
			must(t, err)
			_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"c"}, []string{"id"}, pgx.CopyFromRows([][]any{{1}}))
			must(t, err)
			_, err = conn.Conn().Prepare(ctx, "one", "SELECT 1")
			must(t, err)
			conn.Release()

			for i, c := range counters {
				for _, n := range []struct {
					what      string
					got, want int32
				}{
					{"query start", c.queryStart.Load(), 2},
					{"query end with the user's context value", c.queryEnd.Load(), 2},
					{"batch start", c.batchStart.Load(), 1},
					{"batch query", c.batchQuery.Load(), 2},
					{"batch end", c.batchEnd.Load(), 1},
					{"copy start", c.copyStart.Load(), 1},
					{"copy end", c.copyEnd.Load(), 1},
					{"prepare start", c.prepareStart.Load(), 1},
					{"prepare end", c.prepareEnd.Load(), 1},
				} {
					if n.got < n.want {
						t.Errorf("user tracer %d: %s called %d times, want at least %d", i, n.what, n.got, n.want)
					}
				}
				if c.connect.Load() == 0 || c.acquire.Load() == 0 || c.release.Load() == 0 {
					t.Errorf("user tracer %d: connect %d, acquire %d, release %d: want each passed on", i, c.connect.Load(), c.acquire.Load(), c.release.Load())
				}
			}
			if got := len(rec.Queries()); got != 5 { // a Prepare is not a query
				t.Errorf("recorder saw %d queries, want 5:\n%s", got, rec.Queries())
			}
		})
	}
}

func TestArgsAreCopied(t *testing.T) {
	t.Parallel()
	db := shop(t)
	rec := assertq.New(t)
	conn := tracedConn(t, db, rec.Tracer())
	args := []any{1}
	for i := 1; i <= 2; i++ {
		args[0] = i // a caller reusing its argument slice must not rewrite what was recorded
		must(t, conn.QueryRow(t.Context(), "SELECT name FROM store WHERE id = $1", args...).Scan(new(string)))
	}
	must(t, conn.QueryRow(t.Context(), "SELECT $1::int", pgx.QueryExecModeSimpleProtocol, 7).Scan(new(int)))
	qs := rec.Queries()
	if !reflect.DeepEqual(qs[0].Args, []any{1}) || !reflect.DeepEqual(qs[1].Args, []any{2}) {
		t.Errorf("args %v then %v, want [1] then [2]", qs[0].Args, qs[1].Args)
	}
	if !reflect.DeepEqual(qs[2].Args, []any{7}) {
		t.Errorf("args %v, want [7]: pgx execution options are not arguments", qs[2].Args)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
