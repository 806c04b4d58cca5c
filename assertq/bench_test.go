package assertq_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/overhead"
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

// BenchmarkOverheadInterleaved runs SELECT 1 bare and recorded in turn on one connection (one server backend),
// switching the recorder on and off between queries, and reports both times and the recorder's overhead in
// percent (median of 100-round chunks, and overall). The box is shared and noisy; this way both sides see the
// same moment, backend and core. Both pass through the same switch, which costs nanoseconds.
func BenchmarkOverheadInterleaved(b *testing.B) {
	db := database(b)
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	variants := []string{"bare", "assertq"}
	b.Run("pgx", func(b *testing.B) {
		sw := &overhead.Switch{}
		c := cfg.Copy()
		c.Tracer = overhead.NewTracer(sw, assertq.New(b).Tracer())
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		overhead.Compare(b, sw, variants, func() {
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("database-sql", func(b *testing.B) {
		sw := &overhead.Switch{}
		rec := assertq.New(b)
		sdb := sql.OpenDB(overhead.NewConnector(sw, stdlib.GetConnector(*cfg.Copy()),
			func(raw driver.Conn, _ driver.Driver) (driver.Conn, error) {
				return rec.Connector(overhead.Fixed{Conn: raw}).Connect(ctx)
			}))
		sdb.SetMaxOpenConns(1)
		defer sdb.Close()
		var n int
		overhead.Compare(b, sw, variants, func() {
			if err := sdb.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		})
	})
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
