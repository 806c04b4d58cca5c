// Package suitebench measures what a user feels: `go test -count=1 ./...`
// of a generated module whose tests each take a database and run three
// statements, with each way of getting that database, side by side.
package suitebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/interleave"
)

// EnvSize sets the size of the generated suite, packages x tests:
// "6x20" is the suite of the README. Default: 2x3, to run quickly in CI.
const EnvSize = "DBSUITE_SUITE_SIZE"

// modes are the ways a test gets its database; "none" is the floor: the
// same binaries built, started and run, with no database.
var modes = []string{"none", "database", "raw", "tx", "private", "pgtestdb", "handrolled"}

// EnvModes narrows the run to some of the modes, comma-separated ("none"
// is always run: it is the floor), such as "tx,handrolled" for more
// rounds of one comparison in the same time. Default: all.
const EnvModes = "DBSUITE_SUITE_MODES"

// BenchmarkSuite runs `go test -count=1 ./...` over a generated module,
// once per mode per round (in internal/interleave's order: over a cycle
// of rounds each mode follows each other one equally often, since a run
// pays for what the run before it left), and reports each mode's
// median wall time, its database work (wall minus the floor's, in the
// same round; the median over rounds), and the
// ratios the README quotes: pgtestdb's database work over Database(t)'s,
// and Tx(t)'s over a hand-rolled pgxpool + BEGIN/ROLLBACK.
//
//	cd examples/bench && DBSUITE_SUITE_SIZE=6x20 go test -run '^$' -bench BenchmarkSuite -benchtime 14x ./suite/
//
// (14 rounds: one cycle of internal/interleave's order for the 7 modes.)
//
// The modes: database is containers.Postgres(t).Database(t).Pool(t); tx
// is containers.Postgres(t).Tx(t); private is a private server per
// package, then .Database(t).Pool(t); pgtestdb is pgtestdb.New with a
// no-op migrator on one server started beforehand (as a user runs one);
// handrolled is a pgxpool per package on that server and a transaction
// per test, rolled back at cleanup. raw is the least a database per test
// costs on dbsuite's server: each test clones template1 (FILE_COPY, as
// dbsuite does), connects, runs its statements, closes, waits for its
// backend to exit and drops the database, in its own time, over one
// admin connection per package; Database(t)'s work over raw's is what
// dbsuite adds to PostgreSQL's own cost of a database per test. The peers' server is a private dbsuite
// server with the same settings, started outside the timing, with its
// template1 as initdb leaves it (see asInitdbLeftIt); dbsuite's own server
// starts inside every timed run, from its warm cache.
func BenchmarkSuite(b *testing.B) {
	pkgs, tests := suiteSize(b)
	modes := suiteModes(b)
	dir := generate(b, pkgs, tests)
	peer := containers.Postgres(b, containers.WithPrivate(true), containers.WithWarmDatabases(0))
	asInitdbLeftIt(b, peer.DSN())

	// Build once, untimed: every round then links and runs as a user's
	// second `go test` does.
	if out, err := goTest(dir, "none", peer.DSN(), "-run", "^$"); err != nil {
		b.Fatalf("go test in %s: %v\n%s", dir, err, out)
	}
	var variants []interleave.Variant
	cpu := map[string][]time.Duration{}      // busy CPU of the machine per run, by mode
	binaries := map[string][]time.Duration{} // the test binaries' run times per run, summed, by mode
	// A server an earlier go test left; each run waits for its own below.
	waitServersGone(b)
	for _, mode := range modes {
		variants = append(variants, interleave.Variant{Name: mode, Op: func(tb testing.TB) time.Duration {
			c0, cpuOK := busyCPU()
			t0 := time.Now()
			out, err := goTest(dir, mode, peer.DSN(), "-json")
			d := time.Since(t0)
			if err != nil {
				tb.Fatalf("mode %s: go test: %v\n%s", mode, err, out)
			}
			binaries[mode] = append(binaries[mode], binaryTime(tb, out))
			// The CPU counts until dbsuite's server is gone, so that no run
			// joins the server of the one before it, and what its supervisor
			// removes after go test returns counts as work.
			waitServersGone(tb)
			if c1, ok := busyCPU(); ok && cpuOK {
				cpu[mode] = append(cpu[mode], c1-c0)
			}
			return d
		}})
	}
	got := interleave.Run(b, time.Second, variants...)
	reportWork(b, got, modes, "work")
	if len(cpu["none"]) > 0 { // on Linux
		reportWork(b, cpu, modes, "cpu-work")
	}
	reportWork(b, binaries, modes, "binary-work")
}

// binaryTime sums the run times go test -json reports for each package's
// test binary: the run without its link, whose time swings more from run
// to run than the smallest works measured here (about 0.1 s in 5 s on the
// benchmark machine, against the hand-rolled way's 0.1-0.4 s). Two
// binaries run at once, so it is in binary-seconds, like CPU-seconds.
func binaryTime(tb testing.TB, out []byte) time.Duration {
	var sum time.Duration
	for _, line := range bytes.Split(out, []byte("\n")) {
		var ev struct {
			Action, Package, Test string
			Elapsed               float64
		}
		if json.Unmarshal(line, &ev) != nil || ev.Test != "" || ev.Package == "" {
			continue
		}
		if ev.Action == "pass" || ev.Action == "fail" {
			sum += time.Duration(ev.Elapsed * float64(time.Second))
		}
	}
	if sum == 0 {
		tb.Fatalf("go test -json reported no package's run time:\n%s", out)
	}
	return sum
}

// reportWork reports each mode's work, "<mode>-<kind>-s": what it took
// minus what the floor took in the same round, the median over rounds; and
// the ratios the README quotes: pgtestdb's over Database(t)'s, Tx(t)'s
// over a hand-rolled pgxpool + BEGIN/ROLLBACK's, Database(t)'s over raw's.
// The kinds: "work", of wall time; "cpu-work", of the machine's busy CPU
// time during the run and until dbsuite's server is gone, in CPU-seconds
// of all cores together; "binary-work", of the test binaries' run times
// (binaryTime), which leaves out the linking and its swings, and what
// runs outside the binaries (the server's removal after the run). On a
// shared machine wall time swings with the load; the CPU a run costs
// swings less, and counts what a way leaves to do after go test returns
// rather than what it spends waiting.
func reportWork(b *testing.B, got map[string][]time.Duration, modes []string, kind string) {
	work := func(mode string) float64 { return interleave.MedianOver(got, mode, "none").Seconds() }
	for _, mode := range modes[1:] {
		b.ReportMetric(work(mode), mode+"-"+kind+"-s")
	}
	// A ratio of two works is only reported when both ran and stand above
	// the floor: at the small CI size they are lost in its noise.
	for _, r := range [][2]string{{"pgtestdb", "database"}, {"tx", "handrolled"}, {"database", "raw"}} {
		if got[r[0]] == nil || got[r[1]] == nil {
			continue
		}
		if n, d := work(r[0]), work(r[1]); n > 0 && d > 0 {
			b.ReportMetric(n/d, r[0]+"/"+r[1]+"-"+kind)
		}
	}
}

// asInitdbLeftIt gives the peers' server back the template1 a user's
// server has: dbsuite's cached data directory strips the free space and
// visibility maps of template1's catalogs (containers/cache_slim.go), which
// makes every clone cheaper, pgtestdb's too; a pgtestdb user's server does
// not have that. VACUUM (FREEZE) in template1 is initdb's last step there
// and makes them again: the same 299 files and bytes as initdb's.
func asInitdbLeftIt(b *testing.B, dsn string) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Database = "template1"
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (FREEZE)"); err != nil {
		b.Fatal(err)
	}
}

func suiteModes(b *testing.B) []string {
	only := os.Getenv(EnvModes)
	if only == "" {
		return modes
	}
	picked := []string{"none"}
	for _, m := range strings.Split(only, ",") {
		switch {
		case !slices.Contains(modes, m):
			b.Fatalf("%s=%q: %q is not a mode, want some of %s", EnvModes, only, m, strings.Join(modes, ","))
		case !slices.Contains(picked, m):
			picked = append(picked, m)
		}
	}
	return picked
}

func suiteSize(b *testing.B) (pkgs, tests int) {
	size := os.Getenv(EnvSize)
	if size == "" {
		size = "2x3"
	}
	p, t, ok := strings.Cut(size, "x")
	pkgs, err1 := strconv.Atoi(p)
	tests, err2 := strconv.Atoi(t)
	if !ok || err1 != nil || err2 != nil || pkgs < 1 || tests < 1 {
		b.Fatalf("%s=%q: want packages x tests, such as 6x20", EnvSize, size)
	}
	return pkgs, tests
}

// goTest runs `go test -count=1 ./...` in dir for one mode.
func goTest(dir, mode, peerDSN string, extra ...string) ([]byte, error) {
	args := append([]string{"test", "-count=1"}, extra...)
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SUITE_MODE="+mode, "SUITE_PEER_DSN="+peerDSN, "GOFLAGS=-mod=mod")
	return cmd.CombinedOutput()
}

// waitServersGone waits until the shared server of the previous `go test`
// has been stopped by its supervisor (it checks twice a second), so that
// no run joins a server another run started.
func waitServersGone(tb testing.TB) {
	dir := os.Getenv(containers.EnvCacheDir)
	if dir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "dbsuite")
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		states, _ := filepath.Glob(filepath.Join(dir, "server-*.json"))
		running := false
		for _, st := range states {
			b, err := os.ReadFile(st)
			if err != nil {
				continue
			}
			run := between(string(b), `"run_dir":"`, `"`)
			if _, err := os.Stat(filepath.Join(run, "data")); err == nil {
				running = true
			}
		}
		if !running {
			return
		}
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// generate writes the module: pkgs packages of one test each, with tests
// subtests (subtests of one parent, so that a private server per package
// is one call).
func generate(b *testing.B, pkgs, tests int) string {
	dir := b.TempDir()
	root, err := filepath.Abs("../../..")
	if err != nil {
		b.Fatal(err)
	}
	gomod := fmt.Sprintf(`module suitebench.example

go 1.26.0

require (
	github.com/dbsuite/dbsuite v0.0.0
	github.com/jackc/pgx/v5 v5.12.0
	github.com/peterldowns/pgtestdb v0.1.1
)

replace github.com/dbsuite/dbsuite => %s
`, root)
	write(b, filepath.Join(dir, "go.mod"), gomod)
	sum, err := os.ReadFile("../go.sum")
	if err != nil {
		b.Fatal(err)
	}
	write(b, filepath.Join(dir, "go.sum"), string(sum))
	for p := range pkgs {
		src := strings.NewReplacer("PKG", fmt.Sprintf("p%d", p), "TESTS", strconv.Itoa(tests)).Replace(suiteTest)
		write(b, filepath.Join(dir, fmt.Sprintf("p%d", p), "suite_test.go"), src)
	}
	return dir
}

func write(b *testing.B, path, s string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.TrimLeft([]byte(s), "\n"), 0o644); err != nil {
		b.Fatal(err)
	}
}

// suiteTest is each generated package's test file.
const suiteTest = `
package PKG

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/peterldowns/pgtestdb"

	"github.com/dbsuite/dbsuite/containers"
)

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// work is what every test does: three statements.
func work(t *testing.T, q querier) {
	ctx := t.Context()
	if _, err := q.Exec(ctx, "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Exec(ctx, "INSERT INTO item VALUES ($1, $2)", 1, "one"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := q.QueryRow(ctx, "SELECT count(*) FROM item").Scan(&n); err != nil || n != 1 {
		t.Fatal(n, err)
	}
}

func workSQL(t *testing.T, db *sql.DB) {
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO item VALUES ($1, $2)", 1, "one"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM item").Scan(&n); err != nil || n != 1 {
		t.Fatal(n, err)
	}
}

// The raw mode's admin connection, the statement that clones template1
// and the configuration of a clone's connection but for its name: one of
// each per package.
var (
	rawAdmin  *pgx.Conn
	rawCreate string
	rawCfg    *pgx.ConnConfig
)

// raw gives the test a database the least costly way there is on srv:
// clone, connect, work, close, wait for the backend to exit, drop.
func raw(t *testing.T, srv *containers.Server, i int) {
	ctx := context.Background()
	if rawAdmin == nil {
		c, err := pgx.Connect(ctx, srv.DSN())
		if err != nil {
			t.Fatal(err)
		}
		rawAdmin, rawCreate = c, "CREATE DATABASE %s"
		major, _, _ := strings.Cut(c.PgConn().ParameterStatus("server_version"), ".")
		if v, _ := strconv.Atoi(major); v >= 15 {
			rawCreate += " STRATEGY FILE_COPY" // as dbsuite clones when fsync is off
		}
		if rawCfg, err = pgx.ParseConfig(srv.DSN()); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("raw_%d_%d", os.Getpid(), i)
	if _, err := rawAdmin.Exec(ctx, fmt.Sprintf(rawCreate, name)); err != nil {
		t.Fatal(err)
	}
	cfg := rawCfg.Copy()
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	work(t, conn)
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for n := 1; n > 0; time.Sleep(200 * time.Microsecond) {
		if err := rawAdmin.QueryRow(ctx, "SELECT pg_stat_get_db_numbackends(oid) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rawAdmin.Exec(ctx, "DROP DATABASE "+name); err != nil {
		t.Fatal(err)
	}
}

func peerConfig(t *testing.T) pgtestdb.Config {
	cfg, err := pgconn.ParseConfig(os.Getenv("SUITE_PEER_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	return pgtestdb.Config{DriverName: "pgx", User: cfg.User, Port: fmt.Sprint(cfg.Port),
		Database: cfg.Database, Options: "sslmode=disable&host=" + cfg.Host}
}

func TestSuite(t *testing.T) {
	mode := os.Getenv("SUITE_MODE")
	var srv *containers.Server
	var pool *pgxpool.Pool
	switch mode {
	case "private":
		srv = containers.Postgres(t, containers.WithPrivate(true))
	case "handrolled":
		var err error
		if pool, err = pgxpool.New(context.Background(), os.Getenv("SUITE_PEER_DSN")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
	}
	for i := range TESTS {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			switch mode {
			case "none":
			case "database":
				work(t, containers.Postgres(t).Database(t).Pool(t))
			case "raw":
				raw(t, containers.Postgres(t), i)
			case "tx":
				work(t, containers.Postgres(t).Tx(t))
			case "private":
				work(t, srv.Database(t).Pool(t))
			case "pgtestdb":
				workSQL(t, pgtestdb.New(t, peerConfig(t), pgtestdb.NoopMigrator{}))
			case "handrolled":
				tx, err := pool.Begin(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
				work(t, tx)
			default:
				t.Fatalf("SUITE_MODE=%q: want one of none, database, raw, tx, private, pgtestdb, handrolled", mode)
			}
		})
	}
}
`
