package containers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// WithTracer sets the pgx tracer of the connections of [Database.Pool]
// and [Database.SQL], such as an assertq recorder's:
//
//	pool := db.Pool(t, containers.WithTracer(rec.Tracer()))
//
// The tracer may also implement pgx's BatchTracer, CopyFromTracer and
// PrepareTracer. Applies to [Database.Pool] and [Database.SQL].
// Default: none.
func WithTracer(t pgx.QueryTracer) Option {
	return option("WithTracer", forHandle, func(o *options) { o.db.tracer = t })
}

// WithConnector wraps the driver.Connector of [Database.SQL] with wrap,
// such as an assertq recorder's Connector:
//
//	sqlDB := db.SQL(t, containers.WithConnector(rec.Connector))
//
// Applies to [Database.SQL] (and is ignored by [Database.Pool]).
// Default: pgx's stdlib connector as it is.
func WithConnector(wrap func(driver.Connector) driver.Connector) Option {
	return option("WithConnector", forHandle, func(o *options) { o.db.connector = wrap })
}

// Database is a database of its own for one test, dropped when the test
// ends.
type Database struct {
	name string
	dsn  string
	srv  *Server
}

// Name returns the database's name.
func (d *Database) Name() string { return d.name }

// DSN returns a connection string for the database, for pgx or
// database/sql (pgx's stdlib driver, lib/pq).
func (d *Database) DSN() string { return d.dsn }

// URL returns the connection string as a postgres:// URL, for clients
// that take only a URL, such as bun's driver:
//
//	sqlDB := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(db.URL())))
//
// A unix socket is named by the socket file in the host parameter
// (postgres://postgres@/dbsuite_t_...?host=/dev/shm/.../.s.PGSQL.5432&sslmode=disable),
// which is what bun dials; libpq-style clients (pgx, lib/pq, psql) read
// host as the socket's directory, and take [Database.DSN].
func (d *Database) URL() string {
	u, err := connURL(d.dsn)
	if err != nil {
		return d.dsn // DSNs made by dbsuite always parse
	}
	return u
}

// Pool returns a pgx pool on the database, closed when the test ends.
// Its first connection is usually open already: the warm pool opens it
// while the database waits to be handed out.
func (d *Database) Pool(tb testing.TB, opts ...Option) *pgxpool.Pool {
	tb.Helper()
	pool, _ := d.handle(tb, "Database.Pool", opts)
	return pool
}

// handle opens the pool a handle of d stands on, closed when the test ends, with the options it was given.
func (d *Database) handle(tb testing.TB, what string, opts []Option) (*pgxpool.Pool, *databaseOptions) {
	tb.Helper()
	c, err := dbOptions(what, forHandle, opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	pool, err := d.pool(tb.Context(), c)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(pool.Close)
	return pool, c
}

// SQL returns a database/sql handle on the database (pgx's stdlib driver
// over a pgx pool), closed when the test ends.
func (d *Database) SQL(tb testing.TB, opts ...Option) *sql.DB {
	tb.Helper()
	pool, c := d.handle(tb, "Database.SQL", opts)
	var connector driver.Connector = stdlib.GetPoolConnector(pool)
	if c.connector != nil {
		connector = c.connector(connector)
	}
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(0) // the pool keeps the idle connections
	tb.Cleanup(func() { db.Close() })
	return db
}

// pool opens a pool on the database, with its first connection.
func (d *Database) pool(ctx context.Context, c *databaseOptions) (*pgxpool.Pool, error) {
	pool, err := d.srv.openPool(ctx, d.dsn, c.tracer, connsPerTest)
	if err != nil {
		return nil, d.srv.errorf("containers: pool for database %s: %v", d.name, err)
	}
	// Connect now: a refusal is reported here, with what to change.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, tooManyClients(err)
	}
	return pool, nil
}

// Database returns a fresh database for the test, cloned from an empty
// database or from a [Template] ([WithTemplate]), and dropped when the
// test ends, whatever connections are still open. When the test failed
// and DBSUITE_KEEP_FAILED=1, it is kept instead, and the log says how to
// connect to it.
func (s *Server) Database(tb testing.TB, opts ...Option) *Database {
	tb.Helper()
	c, err := databaseConfig("Server.Database", opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	release, err := s.reserve(tb)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	db, note, err := s.createDatabase(tb.Context(), c, "t")
	if err != nil {
		release()
		tb.Fatalf("%v", tooManyClients(err))
	}
	if note != "" {
		tb.Logf("%s", note)
	}
	for _, err := range s.dropFailures() {
		tb.Logf("containers: a database of an earlier test was not dropped (the next test binary's sweep will): %v", err)
	}
	tb.Cleanup(func() {
		defer release() // after the test's connections are closed
		if tb.Failed() && os.Getenv(EnvKeepFailed) == "1" {
			tb.Logf("containers: %s=1: kept database %s of the failed test; connect with: psql %q%s",
				EnvKeepFailed, db.name, dsn.Redact(db.dsn), s.keepServer(db.name))
			s.keepAtExit(db.name)
			return
		}
		if err := s.dropLater(db.name); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return db
}
