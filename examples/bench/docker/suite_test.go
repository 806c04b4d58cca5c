package dockerbench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/interleave"
)

// suiteSize is the generated suite's packages and tests per package, from
// DBSUITE_SUITE_SIZE as in ../suite ("6x20" for the README; 2x3 by default,
// to keep CI's single run short).
func suiteSize(b *testing.B) (pkgs, tests int) {
	size := os.Getenv("DBSUITE_SUITE_SIZE")
	if size == "" {
		size = "2x3"
	}
	var err error
	if _, err = fmt.Sscanf(size, "%dx%d", &pkgs, &tests); err != nil || pkgs < 1 || tests < 1 {
		b.Fatalf("DBSUITE_SUITE_SIZE=%q: want packages x tests, such as 6x20", size)
	}
	return pkgs, tests
}

// suiteMigration is the schema every test's database starts from.
const suiteMigration = "CREATE TABLE account (id serial PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL DEFAULT 0); " +
	"INSERT INTO account (owner, balance) SELECT 'owner ' || i, i FROM generate_series(1, 100) i"

// suiteBody is what each test does with its database.
const suiteBody = `	if _, err := pool.Exec(ctx, "INSERT INTO account (owner, balance) VALUES ($1, 10)", t.Name()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM account").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 101 {
		t.Fatalf("%d accounts, want 101: the database is not the test's own", n)
	}
`

// suiteVariants are the ways the generated suite gets its databases.
var suiteVariants = []struct {
	name   string
	env    []string
	header string // package-level code: TestMain and helpers
	test   string // the start of a test body, which sets pool and ctx
}{
	{
		// The floor: the same tests with no database, to subtract.
		name: "no-database",
		test: "\tt.Parallel()\n\t_ = t.Context()\n",
	},
	{
		// dbsuite: one container per configuration shared by every
		// package's test binary; a database per test cloned from a
		// template; tests run in parallel.
		name: "dbsuite-shared",
		env:  []string{"DBSUITE_PROVIDER=docker"},
		header: `var tpl = containers.NewTemplate("accounts", "v1", func(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, migration)
	return err
})
`,
		test: "\tt.Parallel()\n\tctx := t.Context()\n\tpool := containers.Postgres(t).Database(t, containers.WithTemplate(tpl)).Pool(t)\n",
	},
	{
		// What a testcontainers-go user writes: a container per package
		// started in TestMain, migrated, snapshotted, and restored before
		// each test (one database: the tests run one at a time).
		name: "container-per-package",
		header: `var dsn string
var ctr *tcpostgres.PostgresContainer

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	ctr, err = tcpostgres.Run(ctx, os.Getenv("DBSUITE_POSTGRES_IMAGE"), tcpostgres.WithDatabase("app"),
		tcpostgres.WithSQLDriver("pgx"), tcpostgres.BasicWaitStrategies())
	if err != nil {
		panic(err)
	}
	dsn, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		panic(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		panic(err)
	}
	if _, err := conn.Exec(ctx, migration); err != nil {
		panic(err)
	}
	conn.Close(ctx)
	if err := ctr.Snapshot(ctx); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = ctr.Terminate(ctx)
	os.Exit(code)
}

func db(t *testing.T) *pgxpool.Pool {
	if err := ctr.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
`,
		test: "\tctx := t.Context()\n\tpool := db(t)\n",
	},
}

// writeSuite writes the generated module for a variant into dir.
func writeSuite(t testing.TB, dir string, v, pkgs, tests int) {
	t.Helper()
	bench, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(bench))
	mod, err := os.ReadFile(filepath.Join(bench, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(bench, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	// The bench module's requirements, under another name, with dbsuite
	// replaced by this checkout.
	gomod := strings.Replace(string(mod), "module github.com/dbsuite/dbsuite/examples/bench", "module suite", 1)
	gomod = strings.Replace(gomod, "replace github.com/dbsuite/dbsuite => ../..", "replace github.com/dbsuite/dbsuite => "+root, 1)
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", gomod)
	write("go.sum", string(sum))
	variant := suiteVariants[v]
	for p := 1; p <= pkgs; p++ {
		var b bytes.Buffer
		fmt.Fprintf(&b, "package p%d\n\nimport (\n\t\"context\"\n\t\"os\"\n\t\"testing\"\n\n", p)
		b.WriteString("\t\"github.com/jackc/pgx/v5\"\n\t\"github.com/jackc/pgx/v5/pgxpool\"\n\t_ \"github.com/jackc/pgx/v5/stdlib\"\n")
		b.WriteString("\ttcpostgres \"github.com/testcontainers/testcontainers-go/modules/postgres\"\n\n\t\"github.com/dbsuite/dbsuite/containers\"\n)\n\n")
		b.WriteString("var (\n\t_ = context.Background\n\t_ = os.Getenv\n\t_ *pgx.Conn\n\t_ *pgxpool.Pool\n\t_ = tcpostgres.Run\n\t_ = containers.Postgres\n)\n\n")
		fmt.Fprintf(&b, "const migration = %q\n\n%s\n", suiteMigration, variant.header)
		for i := 1; i <= tests; i++ {
			fmt.Fprintf(&b, "func Test%d(t *testing.T) {\n%s", i, variant.test)
			if variant.name != "no-database" {
				b.WriteString(suiteBody)
			}
			b.WriteString("}\n\n")
		}
		write(fmt.Sprintf("p%d/p_test.go", p), b.String())
	}
}

// goTest runs `go test ./...` in dir and returns how long it took.
func goTest(t testing.TB, dir string, env []string) time.Duration {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off"), env...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		t.Fatalf("go test ./... of the generated suite failed: %v\n%s", err, out)
	}
	return d
}

// BenchmarkSuite is the number a user feels: `go test ./...` of a
// generated module of packages × tests (DBSUITE_SUITE_SIZE; the README's
// figure is 6x20), each test with a fresh copy
// of a migrated database, run in turn (interleaved) with dbsuite's shared
// container and with a container per package (testcontainers-go used
// directly, Snapshot/Restore per test), and with no database at all (the
// floor: building is done beforehand, so this is starting the test
// binaries). It reports the medians and the ratio of the database work
// (wall time minus the floor).
//
//	cd examples/bench && DBSUITE_SUITE_SIZE=6x20 go test -run '^$' -bench BenchmarkSuite -benchtime 1x ./docker/
func BenchmarkSuite(b *testing.B) {
	requireDocker(b)
	pkgs, tests := suiteSize(b)
	if os.Getenv("DBSUITE_POSTGRES_IMAGE") == "" {
		b.Setenv("DBSUITE_POSTGRES_IMAGE", image())
	}
	dirs := make([]string, len(suiteVariants))
	for v := range suiteVariants {
		dirs[v] = b.TempDir()
		writeSuite(b, dirs[v], v, pkgs, tests)
		goTest(b, dirs[v], suiteVariants[v].env) // builds the test binaries (and dbsuite's seed image) untimed
	}
	var variants []interleave.Variant
	for v := range suiteVariants {
		variants = append(variants, interleave.Variant{Name: suiteVariants[v].name, Op: func(tb testing.TB) time.Duration {
			return goTest(tb, dirs[v], suiteVariants[v].env)
		}})
	}
	got := interleave.Run(b, time.Millisecond, variants...)
	// Database work: a way's wall minus the floor's in the same round, the
	// median over rounds.
	work := func(name string) time.Duration { return interleave.MedianOver(got, name, suiteVariants[0].name) }
	shared, perPackage := work(suiteVariants[1].name), work(suiteVariants[2].name)
	b.ReportMetric(float64(perPackage)/float64(max(shared, time.Millisecond)), "db-work-ratio")
}
