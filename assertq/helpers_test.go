package assertq_test

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/golden"
)

// database returns a fresh database on the shared test server.
func database(t testing.TB) *containers.Database {
	t.Helper()
	return containers.Postgres(t).Database(t)
}

const schema = `
CREATE TABLE store (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE product (id int PRIMARY KEY, store_id int NOT NULL REFERENCES store, name text NOT NULL);
INSERT INTO store SELECT i, 'store ' || i FROM generate_series(1, 5) i;
INSERT INTO product SELECT i, 1 + i % 5, 'product ' || i FROM generate_series(1, 20) i;
`

// shop returns a fresh database with the shop schema and data, loaded without any recorder watching.
func shop(t testing.TB) *containers.Database {
	t.Helper()
	db := database(t)
	if _, err := db.Pool(t).Exec(context.Background(), schema); err != nil {
		t.Fatalf("loading the shop schema: %v", err)
	}
	return db
}

// tracedPool returns a pool on db with tracer set.
func tracedPool(t testing.TB, db *containers.Database, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.DSN())
	if err != nil {
		t.Fatalf("parsing DSN: %v", err)
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// tracedConn returns a single pgx connection on db with tracer set.
func tracedConn(t testing.TB, db *containers.Database, tracer pgx.QueryTracer) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		t.Fatalf("parsing DSN: %v", err)
	}
	cfg.Tracer = tracer
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// recordedSQL returns a database/sql handle on db (pgx stdlib) whose statements rec records.
func recordedSQL(t testing.TB, rec *assertq.Recorder, db *containers.Database) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		t.Fatalf("parsing DSN: %v", err)
	}
	sdb := sql.OpenDB(rec.Connector(stdlib.GetConnector(*cfg)))
	t.Cleanup(func() { sdb.Close() })
	return sdb
}

// update is the conventional -update flag: go test -update rewrites the golden files (assertq registers no flag).
var _ = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/<name>.golden; go test -update rewrites the file.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join(packageDir, "testdata", name+".golden"), got)
}

// packageDir is the package's directory, where go test starts the test binary.
var packageDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}()

var lineNumbers = regexp.MustCompile(`\.go:\d+`)

// stableLines replaces line numbers of call sites, so goldens of recorded flows survive edits of this file.
func stableLines(s string) string { return lineNumbers.ReplaceAllString(s, ".go:N") }

// sharedSQL returns a database/sql handle on db whose statements are recorded by the Recorder their context names.
func sharedSQL(t testing.TB, db *containers.Database) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		t.Fatalf("parsing DSN: %v", err)
	}
	sdb := sql.OpenDB(assertq.SharedConnector(stdlib.GetConnector(*cfg)))
	t.Cleanup(func() { sdb.Close() })
	return sdb
}
