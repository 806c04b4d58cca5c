//go:build unix

package containers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/interleave"
)

// The benchmarks here compare their variants side by side: every round
// (one iteration) runs each variant once, in an order that changes from
// round to round, and each reports its median ("<variant>-ms") and its
// ratio to the first variant ("<variant>/<first>"); see
// internal/interleave. Run them with -count for several runs of that.

// BenchmarkServerReady measures how long a local server takes to be ready
// from the cached data directory, side by side with what tools without a
// cache do (rubenv/pgtest, zombiezen/postgrestest, embedded-postgres):
// initdb --no-sync, then start. Target: ≤ 300 ms from the cache.
//
//	go test -run '^$' -bench BenchmarkServerReady -benchtime 20x ./containers/
func BenchmarkServerReady(b *testing.B) {
	// The cache is built once, before timing (warm).
	c, bins, id, _ := cachedForTest(b)
	ctx := context.Background()
	root, err := runRoot(id)
	if err != nil {
		b.Fatal(err)
	}
	interleave.Run(b, time.Millisecond,
		interleave.Variant{Name: "dbsuite-cached", Op: func(tb testing.TB) time.Duration {
			t0 := time.Now()
			srv, err := startServer(ctx, c)
			if err != nil {
				tb.Fatal(err)
			}
			d := time.Since(t0)
			if err := srv.stop(); err != nil {
				tb.Fatal(err)
			}
			return d
		}},
		interleave.Variant{Name: "initdb+start", Op: func(tb testing.TB) time.Duration {
			work := filepath.Join(root, "bench-"+randomHex(4))
			if err := privateDir(work, id); err != nil {
				tb.Fatal(err)
			}
			defer os.RemoveAll(work)
			t0 := time.Now()
			cmd := exec.Command(filepath.Join(bins.dir, "initdb"), "-D", filepath.Join(work, "data"), "--no-sync",
				"-U", "postgres", "-E", "UTF8", "--locale=C", "-A", "trust")
			cmd.Env = serverEnv()
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
			if out, err := cmd.CombinedOutput(); err != nil {
				tb.Fatalf("initdb: %v\n%s", err, out)
			}
			ls, err := launchIn(ctx, bins, id, work, filepath.Join(work, "data"), false, "")
			if err != nil {
				tb.Fatal(err)
			}
			d := time.Since(t0)
			if err := ls.stopProcess(); err != nil {
				tb.Fatal(err)
			}
			return d
		}})
}

// BenchmarkDatabase measures handing a test its database: from the warm
// pool (full, as the time a test runs allows it to be), by cloning on
// demand, a clone and its drop (as at cleanup), and a transaction of
// Server.Tx (begin + rollback). The peer, pgtestdb on the same server, is
// in examples/bench/containers. Target: p50 ≤ 5 ms with a warm pool.
//
//	go test -run '^$' -bench BenchmarkDatabase -benchtime 100x ./containers/
func BenchmarkDatabase(b *testing.B) {
	srv := Postgres(b, WithPrivate(true))
	ctx := b.Context()
	wp := srv.warmPool("template1")
	srv.Tx(b) // the shared database is made once; then what Tx does per test
	timed := func(tb testing.TB, create func() (*Database, error)) time.Duration {
		t0 := time.Now()
		db, err := create()
		if err != nil {
			tb.Fatal(err)
		}
		d := time.Since(t0)
		if err := srv.dropIdle(ctx, db.name); err != nil {
			tb.Fatal(err)
		}
		return d
	}
	interleave.Run(b, time.Millisecond,
		interleave.Variant{Name: "clone", Op: func(tb testing.TB) time.Duration {
			return timed(tb, func() (*Database, error) { return srv.clone(ctx, "template1", "t") })
		}},
		interleave.Variant{Name: "warm-pool", Op: func(tb testing.TB) time.Duration {
			// Filled to its target (not its capacity: only tests that find
			// it empty grow it there, and this one never does).
			wp.refill()
			for !wp.full() {
				time.Sleep(time.Millisecond)
			}
			return timed(tb, func() (*Database, error) {
				db, _, err := srv.createDatabase(ctx, &databaseOptions{}, "t")
				return db, err
			})
		}},
		interleave.Variant{Name: "clone+drop", Op: func(tb testing.TB) time.Duration {
			t0 := time.Now()
			db, err := srv.clone(ctx, "template1", "t")
			if err != nil {
				tb.Fatal(err)
			}
			if err := srv.dropIdle(ctx, db.name); err != nil {
				tb.Fatal(err)
			}
			return time.Since(t0)
		}},
		interleave.Variant{Name: "tx", Op: func(tb testing.TB) time.Duration {
			t0 := time.Now()
			tx, err := srv.txDBs[""].pool.Begin(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			if err := tx.Rollback(ctx); err != nil {
				tb.Fatal(err)
			}
			return time.Since(t0)
		}})
}

// BenchmarkReadCache is the check of a cache entry against its manifest
// (every file's size, two hashes), paid once per process before a server
// is copied from it.
func BenchmarkReadCache(b *testing.B) {
	_, _, _, cd := cachedForTest(b)
	for b.Loop() {
		if _, err := readCache(cd.dir); err != nil {
			b.Fatal(err)
		}
	}
}
