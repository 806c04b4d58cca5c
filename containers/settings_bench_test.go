//go:build unix

package containers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/benchtb"
	"github.com/dbsuite/dbsuite/internal/interleave"
)

// stockSettings are PostgreSQL 15's defaults for every setting
// ThrowawaySettings changes: the baseline the preset is measured against.
var stockSettings = containers.Settings{
	"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
	"checkpoint_timeout": "5min", "max_wal_size": "1GB", "autovacuum": "on", "jit": "on",
	"wal_level": "replica", "max_wal_senders": "10", "max_connections": "100",
}

// BenchmarkSettings runs the same work on a server with PostgreSQL's
// stock settings and on one with ThrowawaySettings, side by side: each
// operation is a sub-benchmark whose rounds run stock then tuned (in a
// rotating order), reporting both medians and tuned/stock. Every
// sub-benchmark run works in databases of its own, so -count repeats it.
//
//	go test -run '^$' -bench BenchmarkSettings -benchtime 50x -count 3 ./containers/
func BenchmarkSettings(b *testing.B) {
	servers := map[string]*containers.Server{
		// No warm pool: the clones are what is compared.
		"stock": containers.Postgres(b, containers.WithSettings(stockSettings), containers.WithWarmDatabases(0)),
		"tuned": containers.Postgres(b, containers.WithWarmDatabases(0)),
	}
	// each makes the variant of an operation for one server; its set-up
	// (a database, a connection, a table) is made once per sub-benchmark
	// run and is not timed.
	ops := []struct {
		name string
		each func(b *testing.B, srv *containers.Server) func(tb testing.TB) time.Duration
	}{
		{"clone", func(b *testing.B, srv *containers.Server) func(tb testing.TB) time.Duration {
			return func(tb testing.TB) time.Duration {
				u := benchtb.New(tb)
				defer u.Done() // dropped after the operation, untimed
				t0 := time.Now()
				srv.Database(u)
				return time.Since(t0)
			}
		}},
		{"commit", func(b *testing.B, srv *containers.Server) func(tb testing.TB) time.Duration {
			conn := connect(b, srv, "CREATE TABLE t (id int PRIMARY KEY, v text)")
			i := 0
			return func(tb testing.TB) time.Duration {
				i++
				t0 := time.Now()
				if _, err := conn.Exec(b.Context(), "INSERT INTO t VALUES ($1, 'x')", i); err != nil {
					tb.Fatal(err)
				}
				return time.Since(t0)
			}
		}},
		{"copy15k", func(b *testing.B, srv *containers.Server) func(tb testing.TB) time.Duration {
			conn := connect(b, srv)
			rows := make([][]any, 15000)
			for i := range rows {
				rows[i] = []any{i, fmt.Sprintf("row %d", i)}
			}
			n := 0
			return func(tb testing.TB) time.Duration {
				n++
				tbl := fmt.Sprintf("c%d", n)
				t0 := time.Now()
				tx, err := conn.Begin(b.Context())
				if err != nil {
					tb.Fatal(err)
				}
				if _, err := tx.Exec(b.Context(), "CREATE TABLE "+tbl+" (id int primary key, v text)"); err != nil {
					tb.Fatal(err)
				}
				if _, err := tx.CopyFrom(b.Context(), pgx.Identifier{tbl}, []string{"id", "v"}, pgx.CopyFromRows(rows)); err != nil {
					tb.Fatal(err)
				}
				if err := tx.Commit(b.Context()); err != nil {
					tb.Fatal(err)
				}
				return time.Since(t0)
			}
		}},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			interleave.Run(b, time.Millisecond,
				interleave.Variant{Name: "stock", Op: op.each(b, servers["stock"])},
				interleave.Variant{Name: "tuned", Op: op.each(b, servers["tuned"])})
		})
	}
}

// connect opens a connection on a new database of srv for this
// sub-benchmark run, runs setup there, and closes it when the run ends.
func connect(b *testing.B, srv *containers.Server, setup ...string) *pgx.Conn {
	conn, err := pgx.Connect(b.Context(), srv.Database(b).DSN())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	for _, q := range setup {
		if _, err := conn.Exec(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
	return conn
}
