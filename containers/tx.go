package containers

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
		db, note, err := s.createDatabase(ctx, c, "x")
		if err != nil {
			e.err = err
			return
		}
		if note != "" {
			tb.Logf("%s", note)
		}
		e.name = db.name
		e.pool, e.err = s.openPool(ctx, db.dsn, nil, 0)
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
