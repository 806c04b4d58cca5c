package assertq_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/assertq"
)

// queryPath is one way to run SELECT 1, bare or recorded.
type queryPath struct {
	name string
	bare func(b *testing.B) func() // returns a function that runs one query
	rec  func(b *testing.B, rec *assertq.Recorder) func()
}

func overheadPaths(b *testing.B) []queryPath {
	db := database(b)
	b.Logf("server: %s", db.DSN())
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	pgxQuery := func(tracer pgx.QueryTracer) func() {
		c := cfg.Copy()
		c.Tracer = tracer
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close(ctx) })
		var n int
		return func() {
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	}
	sqlQuery := func(wrap func(c driver.Connector) *sql.DB) func() {
		sdb := wrap(stdlib.GetConnector(*cfg.Copy()))
		sdb.SetMaxOpenConns(1)
		b.Cleanup(func() { sdb.Close() })
		var n int
		return func() {
			if err := sdb.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	}
	return []queryPath{
		{
			name: "pgx",
			bare: func(*testing.B) func() { return pgxQuery(nil) },
			rec:  func(_ *testing.B, rec *assertq.Recorder) func() { return pgxQuery(rec.Tracer()) },
		},
		{
			name: "database-sql",
			bare: func(*testing.B) func() {
				return sqlQuery(func(c driver.Connector) *sql.DB { return sql.OpenDB(c) })
			},
			rec: func(_ *testing.B, rec *assertq.Recorder) func() {
				return sqlQuery(func(c driver.Connector) *sql.DB { return sql.OpenDB(rec.Connector(c)) })
			},
		},
	}
}

// BenchmarkOverhead measures SELECT 1 over the test server's unix socket, bare and through a Recorder, with pgx and
// with database/sql (pgx stdlib). Compare bare and recorded of one path within one run.
func BenchmarkOverhead(b *testing.B) {
	for _, p := range overheadPaths(b) {
		b.Run(p.name+"/bare", func(b *testing.B) {
			query := p.bare(b)
			query() // connect and prepare outside the timing
			b.ReportAllocs()
			for b.Loop() {
				query()
			}
		})
		b.Run(p.name+"/recorded", func(b *testing.B) {
			query := p.rec(b, assertq.New(b))
			query()
			b.ReportAllocs()
			for b.Loop() {
				query()
			}
		})
	}
}

// BenchmarkOverheadInterleaved runs SELECT 1 bare and recorded alternately on one connection (one server
// backend), switching the recorder on and off between queries, and reports both times and the overhead in
// percent. The box is shared and noisy; this way both sides see the same moment, the same backend and the same
// core. Both sides pass through the same switch, which costs nanoseconds.
func BenchmarkOverheadInterleaved(b *testing.B) {
	db := database(b)
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("pgx", func(b *testing.B) {
		sw := &switchTracer{t: assertq.New(b).Tracer()}
		c := cfg.Copy()
		c.Tracer = sw
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		interleave(b, &sw.on, func() {
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("database-sql", func(b *testing.B) {
		sc := &switchConnector{raw: stdlib.GetConnector(*cfg.Copy()), rec: assertq.New(b)}
		sdb := sql.OpenDB(sc)
		sdb.SetMaxOpenConns(1)
		defer sdb.Close()
		var n int
		interleave(b, &sc.on, func() {
			if err := sdb.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// interleave times query with *on false (bare) and true (recorded), alternating which goes first. Besides the
// totals it reports the median overhead of chunks of 100 pairs, which a burst of noise from other processes on
// the box moves less than the total.
func interleave(b *testing.B, on *bool, query func()) {
	*on = false
	query()
	*on = true
	query()
	timed := func(rec bool) time.Duration {
		*on = rec
		t0 := time.Now()
		query()
		return time.Since(t0)
	}
	const chunk = 100
	var bare, recorded, chunkBare, chunkRecorded time.Duration
	var chunks []float64
	n := 0
	for b.Loop() {
		var tb, tr time.Duration
		if n%2 == 0 {
			tb = timed(false)
			tr = timed(true)
		} else {
			tr = timed(true)
			tb = timed(false)
		}
		bare, recorded = bare+tb, recorded+tr
		chunkBare, chunkRecorded = chunkBare+tb, chunkRecorded+tr
		n++
		if n%chunk == 0 {
			chunks = append(chunks, 100*float64(chunkRecorded-chunkBare)/float64(chunkBare))
			chunkBare, chunkRecorded = 0, 0
		}
	}
	b.ReportMetric(float64(bare.Nanoseconds())/float64(n), "bare-ns/query")
	b.ReportMetric(float64(recorded.Nanoseconds())/float64(n), "recorded-ns/query")
	b.ReportMetric(100*float64(recorded-bare)/float64(bare), "overhead-%")
	if len(chunks) > 0 {
		slices.Sort(chunks)
		b.ReportMetric(chunks[len(chunks)/2], "median-overhead-%")
	}
}

// switchTracer passes pgx's calls to the recorder's tracer only while on. It changes only between queries.
type switchTracer struct {
	on bool
	t  *assertq.Tracer
}

func (s *switchTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if s.on {
		return s.t.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (s *switchTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if s.on {
		s.t.TraceQueryEnd(ctx, conn, data)
	}
}

// switchConnector hands database/sql connections that send each call either straight to the driver's connection
// or through the recorder's wrapper around that same connection.
type switchConnector struct {
	on  bool
	raw driver.Connector
	rec *assertq.Recorder
}

func (s *switchConnector) Connect(ctx context.Context) (driver.Conn, error) {
	raw, err := s.raw.Connect(ctx)
	if err != nil {
		return nil, err
	}
	wrapped, err := s.rec.Connector(fixedConnector{raw, s.raw.Driver()}).Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &switchConn{raw: raw, wrapped: wrapped, on: &s.on}, nil
}

func (s *switchConnector) Driver() driver.Driver { return s.raw.Driver() }

type fixedConnector struct {
	c driver.Conn
	d driver.Driver
}

func (f fixedConnector) Connect(context.Context) (driver.Conn, error) { return f.c, nil }
func (f fixedConnector) Driver() driver.Driver                        { return f.d }

type switchConn struct {
	raw, wrapped driver.Conn
	on           *bool
}

func (c *switchConn) cur() driver.Conn {
	if *c.on {
		return c.wrapped
	}
	return c.raw
}

func (c *switchConn) Prepare(query string) (driver.Stmt, error) { return c.cur().Prepare(query) }
func (c *switchConn) Close() error                              { return c.raw.Close() }
func (c *switchConn) Begin() (driver.Tx, error)                 { return nil, errors.New("not in this benchmark") }

func (c *switchConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.cur().(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *switchConn) ResetSession(ctx context.Context) error {
	return c.raw.(driver.SessionResetter).ResetSession(ctx)
}

func (c *switchConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.raw.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// BenchmarkRecorderOnly isolates the recorder's own work per query, without a server: the two tracer calls pgx
// makes around one query (a fresh Recorder every 1000 queries, as in a test), and building the Queries.
func BenchmarkRecorderOnly(b *testing.B) {
	ctx := context.Background()
	start := pgx.TraceQueryStartData{SQL: "SELECT name FROM store WHERE id = $1", Args: []any{1}}
	b.Run("trace", func(b *testing.B) {
		var tracer *assertq.Tracer
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if n%1000 == 0 {
				tracer = assertq.New(b).Tracer()
			}
			n++
			qctx := tracer.TraceQueryStart(ctx, nil, start)
			tracer.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
		}
	})
	b.Run("queries", func(b *testing.B) {
		rec := assertq.New(b)
		tracer := rec.Tracer()
		for range 1000 {
			qctx := tracer.TraceQueryStart(ctx, nil, start)
			tracer.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
		}
		b.ReportAllocs()
		for b.Loop() {
			if len(rec.Queries()) != 1000 {
				b.Fatal("lost queries")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/query")
	})
}
