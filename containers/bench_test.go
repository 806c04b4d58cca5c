//go:build unix

package containers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// latencies collects one duration per operation and reports percentiles,
// since the targets are medians, not means.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(s[len(s)/2]), "p50-ms")
	b.ReportMetric(ms(s[len(s)*95/100]), "p95-ms")
}

// BenchmarkServerReady measures how long a local server takes to be ready
// from the cached data directory, side by side with what tools without a
// cache do (rubenv/pgtest, zombiezen/postgrestest, embedded-postgres):
// initdb --no-sync, then start. Target: ≤ 300 ms from the cache.
//
//	go test -run '^$' -bench BenchmarkServerReady -benchtime 20x ./containers/
func BenchmarkServerReady(b *testing.B) {
	bins, err := findBinaries("")
	if err != nil {
		b.Fatal(err)
	}
	id, err := serverIdentity("")
	if err != nil {
		b.Fatal(err)
	}
	c, err := serverConfig([]Option{WithPrivate(true)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The cache is built once, before timing (warm).
	if _, err := cachedDataDir(ctx, bins, id, c.settings); err != nil {
		b.Fatal(err)
	}
	b.Run("dbsuite-cached", func(b *testing.B) {
		var lat latencies
		for b.Loop() {
			t0 := time.Now()
			srv, err := startServer(ctx, c)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			b.StopTimer()
			if err := srv.stop(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		lat.report(b)
	})
	b.Run("initdb+start", func(b *testing.B) {
		root, err := runRoot(id)
		if err != nil {
			b.Fatal(err)
		}
		var lat latencies
		for b.Loop() {
			work := filepath.Join(root, "bench-"+randomHex(4))
			if err := privateDir(work, id); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			cmd := exec.Command(filepath.Join(bins.dir, "initdb"), "-D", filepath.Join(work, "data"), "--no-sync",
				"-U", "postgres", "-E", "UTF8", "--locale=C", "-A", "trust")
			cmd.Env = serverEnv()
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("initdb: %v\n%s", err, out)
			}
			ls, err := launchIn(ctx, bins, id, work, filepath.Join(work, "data"), false, "")
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			b.StopTimer()
			if err := ls.stopProcess(); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(work)
			b.StartTimer()
		}
		lat.report(b)
	})
}

// BenchmarkDatabase measures handing a test its database: from the warm
// pool (refilled between operations, as the time a test runs allows),
// by cloning on demand, and a transaction of Server.Tx (begin + rollback).
// The peer, pgtestdb on the same server, is in examples/bench/containers.
// Target: p50 ≤ 5 ms with a warm pool.
//
//	go test -run '^$' -bench BenchmarkDatabase -benchtime 200x ./containers/
func BenchmarkDatabase(b *testing.B) {
	srv := Postgres(b, WithPrivate(true))
	// handOut times create, then drops what it made untimed.
	handOut := func(b *testing.B, before func(), create func() (*Database, error)) {
		var lat latencies
		for b.Loop() {
			b.StopTimer()
			before()
			b.StartTimer()
			t0 := time.Now()
			db, err := create()
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			b.StopTimer()
			if err := srv.dropDatabase(b.Context(), db.name); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		lat.report(b)
	}
	b.Run("warm-pool", func(b *testing.B) {
		wp := srv.warmPool("template1")
		wp.refill()
		full := func() {
			for len(wp.ready) < cap(wp.ready) {
				time.Sleep(time.Millisecond)
			}
		}
		handOut(b, full, func() (*Database, error) {
			db, _, err := srv.createDatabase(b.Context(), &databaseOptions{}, "t")
			return db, err
		})
	})
	b.Run("clone", func(b *testing.B) {
		handOut(b, func() {}, func() (*Database, error) { return srv.clone(b.Context(), "template1", "t") })
	})
	b.Run("clone+drop", func(b *testing.B) {
		var lat latencies
		for b.Loop() {
			t0 := time.Now()
			db, err := srv.clone(b.Context(), "template1", "t")
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.dropDatabase(b.Context(), db.name); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		lat.report(b)
	})
	b.Run("tx", func(b *testing.B) {
		srv.Tx(b) // create the shared database first; then what Tx does per test
		var lat latencies
		for b.Loop() {
			t0 := time.Now()
			tx, err := srv.txDBs[""].pool.Begin(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if err := tx.Rollback(b.Context()); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		lat.report(b)
	})
}
