// Package assertqbench compares the per-query cost of recording queries with assertq against a generic
// database/sql interceptor (ngrok/sqlmw, the middleware a hand-rolled query counter is usually built on), side by
// side on one connection to the same server.
package assertqbench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ngrok/sqlmw"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/overhead"
)

// counter is the least a query counter built on sqlmw does: count each query.
type counter struct {
	sqlmw.NullInterceptor
	n atomic.Int64
}

func (c *counter) ConnQueryContext(ctx context.Context, conn driver.QueryerContext, query string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	c.n.Add(1)
	return c.NullInterceptor.ConnQueryContext(ctx, conn, query, args)
}

// BenchmarkPeers runs SELECT 1 over database/sql (pgx stdlib, unix socket) bare, through an sqlmw counter, and
// through an assertq Recorder, in turn on one connection, and reports each one's time per query and overhead over
// bare.
func BenchmarkPeers(b *testing.B) {
	db := containers.Postgres(b).Database(b)
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sw := &overhead.Switch{}
	rec := assertq.New(b)
	count := &counter{}
	sdb := sql.OpenDB(overhead.NewConnector(sw, stdlib.GetConnector(*cfg),
		func(raw driver.Conn, _ driver.Driver) (driver.Conn, error) {
			return sqlmw.Driver(overhead.Fixed{Conn: raw}, count).Open("")
		},
		func(raw driver.Conn, _ driver.Driver) (driver.Conn, error) {
			return rec.Connector(overhead.Fixed{Conn: raw}).Connect(ctx)
		}))
	sdb.SetMaxOpenConns(1)
	defer sdb.Close()
	var n int
	overhead.Compare(b, sw, []string{"bare", "sqlmw", "assertq"}, func() {
		if err := sdb.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
			b.Fatal(err)
		}
	})
	if count.n.Load() == 0 || len(rec.Queries()) == 0 {
		b.Fatalf("a variant saw no queries: sqlmw %d, assertq %d", count.n.Load(), len(rec.Queries()))
	}
}
