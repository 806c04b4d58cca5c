package containers

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

type txEntry struct {
	once sync.Once
	pool *pgxpool.Pool
	name string
	err  error
}

// Tx returns a transaction on a database shared by the tests of this
// process (one per template), rolled back when the test ends: the
// cheapest isolation there is (well under a millisecond). The code under
// test must use this transaction and must not commit it; tests running in
// parallel see each other's locks, and code that opens its own
// connections, commits or uses LISTEN/NOTIFY needs [Server.Database].
func (s *Server) Tx(tb testing.TB, opts ...Option) pgx.Tx {
	tb.Helper()
	c, err := databaseConfig("Server.Tx", opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	key := ""
	if c.template != nil {
		key = c.template.TemplateName() + "\x00" + c.template.TemplateHash()
	}
	s.mu.Lock()
	if s.txDBs == nil {
		s.txDBs = map[string]*txEntry{}
	}
	e, ok := s.txDBs[key]
	if !ok {
		e = &txEntry{}
		s.txDBs[key] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		ctx := context.WithoutCancel(tb.Context())
		var note string
		e.name, e.pool, note, e.err = s.txDatabase(ctx, c)
		if note != "" {
			tb.Logf("%s", note)
		}
	})
	if e.err != nil {
		tb.Fatalf("%v", tooManyClients(e.err))
	}
	tx, err := e.pool.Begin(tb.Context())
	if err != nil {
		tb.Fatalf("containers: begin a transaction on %s: %v", e.name, tooManyClients(err))
	}
	tb.Cleanup(func() {
		err := tx.Rollback(context.Background())
		if errors.Is(err, pgx.ErrTxClosed) {
			tb.Errorf("containers: the transaction from Server.Tx was committed or rolled back by the test; "+
				"its changes may now be visible to other tests in %s: use Server.Database for code that commits", e.name)
			return
		}
		if err != nil {
			tb.Errorf("containers: roll back the test's transaction: %v", err)
		}
	})
	return tx
}

// txDatabase opens a pool on the database that [Server.Tx] begins its
// transactions on, with its first connection open. On a local server
// shared by the test binaries of a run, they share one such database per
// template (named after the template, gone with the server): the first
// binary clones it, the others only connect to it. Without a template, on
// any local server, it is the server's postgres database: initdb made it
// as a copy of template1 and it goes with the server, so no binary clones
// it. Elsewhere each process clones its own, dropped when it exits.
func (s *Server) txDatabase(ctx context.Context, c *databaseOptions) (name string, pool *pgxpool.Pool, note string, err error) {
	if s.local == nil || (s.private && c.template != nil) {
		db, note, err := s.createDatabase(ctx, c, "x")
		if err != nil {
			return "", nil, "", err
		}
		pool, err := s.openPool(ctx, db.dsn, nil, 0)
		return db.name, pool, note, err
	}
	tpl, note, err := s.template(ctx, c.template)
	if err != nil {
		return "", nil, "", err
	}
	name = txSharedPrefix + HashOf(tpl)[:12]
	there := false // made with the server, not by a binary
	if tpl == "template1" {
		name, there = "postgres", true
	}
	d, err := dsn.WithDatabase(s.dsn, name)
	if err != nil {
		return "", nil, "", s.errorf("containers: %v", err)
	}
	if pool, err = s.openPool(ctx, d, nil, 0); err != nil {
		return "", nil, "", s.errorf("containers: pool for database %s: %v", name, err)
	}
	if !there && s.local.launched() {
		// This process started the server: the database cannot be there
		// yet, and a connection refused for it costs the server a backend.
		err = s.createShared(ctx, name, tpl)
	}
	if err == nil {
		err = pool.Ping(ctx)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // no such database: the first binary makes it
		if err = s.createShared(ctx, name, tpl); err == nil {
			err = pool.Ping(ctx)
		}
	}
	if err != nil {
		pool.Close()
		return "", nil, "", err
	}
	return name, pool, note, nil
}

// txSharedPrefix starts the names of the Tx databases test binaries
// share; the sweep (ownedNameRE) leaves them alone.
const txSharedPrefix = "dbsuite_xs_"

// createShared clones tpl as name, unless another test binary did first.
func (s *Server) createShared(ctx context.Context, name, tpl string) error {
	admin, err := s.adminPool(ctx)
	if err != nil {
		return err
	}
	err = s.createFrom(ctx, admin, name, tpl)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil // duplicate_database, or the same seen by a concurrent CREATE: another binary made it
	}
	return err
}
