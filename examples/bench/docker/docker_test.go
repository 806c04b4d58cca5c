// Package dockerbench compares dbsuite's Docker provider with
// testcontainers-go's postgres module used directly, side by side on the
// same image: how long until a container answers, and how long a test
// waits for a fresh copy of a migrated database.
//
// The image is DBSUITE_POSTGRES_IMAGE, else dbsuite/postgres:15 (built by
// scripts/build-postgres-image.sh where nothing can be pulled):
//
//	cd examples/bench && go test -run '^$' -bench . -benchtime 10x ./docker/
package dockerbench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver Snapshot/Restore use
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/benchtb"
	"github.com/dbsuite/dbsuite/internal/interleave"
)

func image() string {
	if img := os.Getenv(containers.EnvImage); img != "" {
		return img
	}
	return "dbsuite/postgres:15"
}

// requireDocker skips where no Docker engine answers; under CI=true a
// benchmark that cannot run fails instead.
func requireDocker(b *testing.B) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := testcontainers.NewDockerClientWithOpts(ctx) // it asks the engine for its info
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		b.Fatalf("CI=true and no Docker engine answers: %v", err)
	}
	b.Skipf("skipped: no Docker engine answers: %v", err)
}

// TestMain makes testcontainers-go reach published ports on loopback when
// the engine runs on this machine (inside a container it would dial the
// bridge's gateway), and run without its reaper unless told otherwise
// (Ryuk cannot be pulled where no registry answers; both tools remove
// their containers themselves here). The generated suites inherit both.
func TestMain(m *testing.M) {
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" && os.Getenv("DOCKER_HOST") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	os.Exit(m.Run())
}

// answers connects to dsn and runs SELECT 1: what a test needs before it
// can use a container.
func answers(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// BenchmarkContainerReady starts a fresh container per iteration, in turn
// with each tool, until it answers SELECT 1 (interleaved, so that both see
// the same machine load), and reports the medians and their ratio.
//
//   - dbsuite: containers.Postgres with the Docker provider, a private
//     container (a shared one is started once per `go test` run): from the
//     seed image (initdb done once per image), data directory unpacked
//     onto a tmpfs, tuned with postgres -c, checked with SHOW. The first
//     call, which makes the seed image, is not timed.
//   - postgres.Run: testcontainers-go's module as its documentation shows
//     it, with BasicWaitStrategies (the log line twice, then the port),
//     then a connection answering SELECT 1.
//   - postgres.Run+tmpfs: the same with the data directory on a tmpfs.
func BenchmarkContainerReady(b *testing.B) {
	requireDocker(b)
	img := image()
	ctx := context.Background()
	opts := []containers.Option{containers.WithImage(img), containers.WithPrivate(true), containers.WithWarmDatabases(0)}
	warmup := benchtb.New(b)
	containers.Postgres(warmup, opts...) // makes the seed image once
	warmup.Done()

	tc := func(extra ...testcontainers.ContainerCustomizer) time.Duration {
		t0 := time.Now()
		ctr, err := tcpostgres.Run(ctx, img, append([]testcontainers.ContainerCustomizer{
			testcontainers.WithLogger(tclog.NewNoopLogger()),
			tcpostgres.BasicWaitStrategies(),
		}, extra...)...)
		if err != nil {
			b.Fatal(err)
		}
		dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
		if err == nil {
			err = answers(ctx, dsn)
		}
		d := time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := ctr.Terminate(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		return d
	}
	interleave.Run(b, time.Millisecond,
		interleave.Variant{Name: "dbsuite", Op: func(testing.TB) time.Duration {
			u := benchtb.New(b)
			t0 := time.Now()
			srv := containers.Postgres(u, opts...)
			if err := answers(ctx, srv.DSN()); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			b.StopTimer()
			u.Done()
			b.StartTimer()
			return d
		}},
		interleave.Variant{Name: "postgres.Run", Op: func(testing.TB) time.Duration { return tc() }},
		interleave.Variant{Name: "postgres.Run+tmpfs", Op: func(testing.TB) time.Duration {
			return tc(testcontainers.WithTmpfs(map[string]string{"/var/lib/postgresql/data": "rw"}))
		}})
}

// schema is the migrated database both tools copy per test: a table with
// 1,000 rows and an index.
const schema = `CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL);
INSERT INTO item SELECT i, 'item ' || i, i * 1.5 FROM generate_series(1, 1000) i;
CREATE INDEX item_name ON item (name);`

// BenchmarkIsolation gives each iteration a fresh copy of a migrated
// database, in turn with each tool on its own container of the same
// image, and reports the medians of how long a test waits for it:
//
//   - dbsuite clone: srv.Database(t, WithTemplate(...)) with no warm pool:
//     CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY, a database per
//     test (tests can run in parallel);
//   - dbsuite warm pool: the same, handed out from clones made in the
//     background (the default);
//   - Snapshot/Restore: testcontainers-go's module, Restore before each
//     test (drop the database, copy it back from the snapshot; one
//     database, so tests cannot run in parallel), with WithSQLDriver("pgx").
func BenchmarkIsolation(b *testing.B) {
	requireDocker(b)
	img := image()
	ctx := context.Background()
	tpl := containers.NewTemplate("items", containers.HashOf(schema), func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, schema)
		return err
	})
	cold := containers.Postgres(b, containers.WithImage(img), containers.WithWarmDatabases(0))
	warm := containers.Postgres(b, containers.WithImage(img), containers.WithWarmDatabases(2))

	ctr, err := tcpostgres.Run(ctx, img, testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcpostgres.WithDatabase("app"), tcpostgres.WithSQLDriver("pgx"), tcpostgres.BasicWaitStrategies())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ctr.Terminate(context.Background()) })
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, schema); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	if err := ctr.Snapshot(ctx); err != nil {
		b.Fatal(err)
	}

	handout := func(srv *containers.Server) time.Duration {
		u := benchtb.New(b)
		t0 := time.Now()
		srv.Database(u, containers.WithTemplate(tpl))
		d := time.Since(t0)
		b.StopTimer()
		u.Done()
		time.Sleep(5 * time.Millisecond) // the rest of a short test; lets the warm pool refill
		b.StartTimer()
		return d
	}
	handout(cold) // builds the template once, untimed
	handout(warm)
	interleave.Run(b, time.Millisecond,
		interleave.Variant{Name: "clone", Op: func(testing.TB) time.Duration { return handout(cold) }},
		interleave.Variant{Name: "warm", Op: func(testing.TB) time.Duration { return handout(warm) }},
		interleave.Variant{Name: "restore", Op: func(testing.TB) time.Duration {
			t0 := time.Now()
			if err := ctr.Restore(ctx); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			b.StopTimer()
			time.Sleep(5 * time.Millisecond)
			b.StartTimer()
			return d
		}})
}
