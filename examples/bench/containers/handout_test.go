// Package containersbench compares handing a test its database with
// dbsuite and with pgtestdb, side by side on the same server.
package containersbench

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // pgtestdb's driver
	"github.com/peterldowns/pgtestdb"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/bench/internal/benchtb"
)

// BenchmarkHandout gives each iteration a fresh database, the way each
// test gets one, and reports the median time to hand it out (the drop at
// cleanup is not timed, for either tool). Both run against one private
// server; pgtestdb clones a template made by a no-op migrator, dbsuite an
// empty database, both with their defaults (pgtestdb: WAL_LOG; dbsuite:
// FILE_COPY since fsync is off, with and without its warm pool).
//
//	cd examples/bench && go test -run '^$' -bench BenchmarkHandout -benchtime 100x ./containers/
func BenchmarkHandout(b *testing.B) {
	srv := containers.Postgres(b, containers.WithPrivate(true), containers.WithWarmDatabases(0))
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
	warm := containers.Postgres(b, containers.WithPrivate(true))

	run := func(b *testing.B, handOut func(tb testing.TB)) {
		var lat []time.Duration
		for b.Loop() {
			u := benchtb.New(b)
			t0 := time.Now()
			handOut(u)
			lat = append(lat, time.Since(t0))
			b.StopTimer()
			u.Done()
			time.Sleep(5 * time.Millisecond) // the rest of a short test; lets a warm pool refill
			b.StartTimer()
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*95/100])/float64(time.Millisecond), "p95-ms")
	}
	b.Run("pgtestdb", func(b *testing.B) {
		run(b, func(tb testing.TB) { pgtestdb.Custom(tb, conf, pgtestdb.NoopMigrator{}) })
	})
	b.Run("dbsuite-clone", func(b *testing.B) {
		run(b, func(tb testing.TB) { srv.Database(tb) })
	})
	b.Run("dbsuite-warm-pool", func(b *testing.B) {
		run(b, func(tb testing.TB) { warm.Database(tb) })
	})
}
