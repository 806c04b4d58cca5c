// Package containersbench compares handing a test its database with
// dbsuite and with pgtestdb, side by side on the same server.
package containersbench

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // pgtestdb's driver
	"github.com/peterldowns/pgtestdb"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/benchtb"
	"github.com/dbsuite/dbsuite/internal/interleave"
)

// BenchmarkHandout gives each way a fresh database per round, the way
// each test gets one, in turn (internal/interleave's order), and reports the median
// time to hand it out and its ratio to pgtestdb (the drop at
// cleanup is not timed, for either tool). Both run against one server; pgtestdb clones a template made by a no-op migrator, dbsuite an
// empty database, both with their defaults (pgtestdb: WAL_LOG; dbsuite:
// FILE_COPY since fsync is off, with and without its warm pool).
//
//	cd examples/bench && go test -run '^$' -bench BenchmarkHandout -benchtime 100x ./containers/
func BenchmarkHandout(b *testing.B) {
	// Shared servers, which live as long as the process: pgtestdb
	// remembers per process the role and template it made, so a second
	// run (-count) must find them on the same server.
	srv := containers.Postgres(b, containers.WithWarmDatabases(0))
	cfg, err := pgconn.ParseConfig(srv.DSN())
	if err != nil {
		b.Fatal(err)
	}
	conf := pgtestdb.Config{
		DriverName: "pgx",
		User:       cfg.User,
		Port:       fmt.Sprint(cfg.Port),
		Database:   cfg.Database,
		Options:    "sslmode=disable&host=" + cfg.Host, // a unix socket directory
	}
	warm := containers.Postgres(b)

	// Each way hands out a database, timed; its cleanups (the drop) run
	// untimed, then the rest of a short test (which lets a warm pool refill).
	way := func(name string, handOut func(tb testing.TB)) interleave.Variant {
		return interleave.Variant{Name: name, Op: func(tb testing.TB) time.Duration {
			u := benchtb.New(tb)
			t0 := time.Now()
			handOut(u)
			d := time.Since(t0)
			u.Done()
			time.Sleep(5 * time.Millisecond)
			return d
		}}
	}
	interleave.Run(b, time.Millisecond,
		way("pgtestdb", func(tb testing.TB) { pgtestdb.Custom(tb, conf, pgtestdb.NoopMigrator{}) }),
		way("dbsuite-clone", func(tb testing.TB) { srv.Database(tb) }),
		way("dbsuite-warm-pool", func(tb testing.TB) { warm.Database(tb) }))
}
