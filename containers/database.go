package containers

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// DatabaseOption configures [Server.Database] and [Server.Tx].
type DatabaseOption func(*dbConfig)

type dbConfig struct {
	template Template
}

// WithTemplate clones the database from t instead of an empty one.
// Default: an empty database (a clone of template1).
func WithTemplate(t Template) DatabaseOption {
	return func(c *dbConfig) { c.template = t }
}

// Database is a database of its own for one test, dropped when the test
// ends.
type Database struct {
	name string
	dsn  string
}

// Name returns the database's name.
func (d *Database) Name() string { return d.name }

// DSN returns a connection string for the database, for pgx or
// database/sql (pgx's stdlib driver, lib/pq).
func (d *Database) DSN() string { return d.dsn }

// Pool returns a pgx pool on the database, closed when the test ends.
func (d *Database) Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(tb.Context(), d.dsn)
	if err != nil {
		tb.Fatalf("containers: pool for database %s: %v", d.name, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// SQL returns a database/sql handle on the database (pgx's stdlib
// driver), closed when the test ends.
func (d *Database) SQL(tb testing.TB) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(d.dsn)
	if err != nil {
		tb.Fatalf("containers: database %s: %v", d.name, err)
	}
	db := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { db.Close() })
	return db
}

// Database returns a fresh database for the test, cloned from an empty
// database or from a [Template] ([WithTemplate]), and dropped when the
// test ends, whatever connections are still open. When the test failed
// and DBSUITE_KEEP_FAILED=1, it is kept instead, and the log says how to
// connect to it.
func (s *Server) Database(tb testing.TB, opts ...DatabaseOption) *Database {
	tb.Helper()
	var c dbConfig
	for _, o := range opts {
		o(&c)
	}
	ctx := tb.Context()
	db, err := s.createDatabase(ctx, c, "t")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	for _, err := range s.dropFailures() {
		tb.Logf("containers: a database of an earlier test was not dropped (the next test binary's sweep will): %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() && os.Getenv(EnvKeepFailed) == "1" {
			tb.Logf("containers: %s=1: kept database %s of the failed test; connect with: psql %q%s",
				EnvKeepFailed, db.name, dsn.Redact(db.dsn), s.keepServer())
			s.keepAtExit(db.name)
			return
		}
		if err := s.dropLater(db.name); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return db
}

// keepServer makes sure a local server outlives the run when a database
// on it is kept, and says how to stop it.
func (s *Server) keepServer() string {
	if s.local == nil {
		return ""
	}
	_ = os.WriteFile(filepath.Join(s.local.runDir, "keep"), nil, 0o600)
	return fmt.Sprintf("\nthe server stays up after the tests; stop it with: kill -INT %d && rm -rf %s", s.local.pid(), s.local.runDir)
}
