package containers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// createDatabase hands out a database of kind "t" (a test's) or "x" (the
// database of Server.Tx), from the warm pool when it has one. note says
// how the template was had, the first time it was.
func (s *Server) createDatabase(ctx context.Context, c *databaseOptions, kind string) (db *Database, note string, err error) {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return nil, "", err
	}
	s.janitor.Do(func() { s.sweep(ctx, pool) })
	tpl, note, err := s.template(ctx, c.template)
	if err != nil {
		return nil, "", err
	}
	if kind == "t" && s.warmSize > 0 {
		wp := s.warmPool(tpl)
		wp.adopted.Do(func() { s.adoptSpares(ctx, wp, tpl) })
		if db, ok := wp.take(ctx); ok {
			return db, note, nil
		}
	}
	db, err = s.clone(ctx, tpl, dbName(kind))
	return db, note, err
}

// dbName returns a new name for a database of kind "t" or "x", with its
// owner in it (sweep.go).
func dbName(kind string) string {
	return fmt.Sprintf("dbsuite_%s_%s_%d", kind, owner(), dbSeq.Add(1))
}

// clone creates the database name from the template tpl.
func (s *Server) clone(ctx context.Context, tpl, name string) (*Database, error) {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return nil, err
	}
	// Recorded before CREATE DATABASE: a process killed between the
	// commit and its answer left a database no reaper knew of.
	s.reapAtExit(name)
	if err := s.createFrom(ctx, pool, name, tpl); err != nil {
		s.droppedBeforeExit(name)
		return nil, err
	}
	atStage("created", name)
	d, err := dsn.WithDatabase(s.dsn, name)
	if err != nil {
		return nil, s.errorf("containers: %v", err)
	}
	return &Database{name: name, dsn: d, srv: s}, nil
}

// fileCopy reports whether clones are made with STRATEGY FILE_COPY, which
// copies the files and checkpoints: about twice as fast as WAL_LOG when
// fsync is off, much slower when it is on.
func (s *Server) fileCopy() bool {
	return s.versionNum >= 150000 && s.fsyncOff.Load()
}

// createFrom creates the database name from the template tpl.
func (s *Server) createFrom(ctx context.Context, pool *pgxpool.Pool, name, tpl string) error {
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{tpl}.Sanitize()
	if s.fileCopy() {
		q += " STRATEGY FILE_COPY"
	}
	// Someone connected to the template (template1 is a popular place to
	// be) makes CREATE DATABASE fail: retry for a while.
	var last error
	for attempt := 0; attempt < 50; attempt++ {
		_, last = pool.Exec(ctx, q)
		var pgErr *pgconn.PgError
		if last == nil || !errors.As(last, &pgErr) || pgErr.Code != "55006" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last != nil {
		return s.errorf("containers: %s: %s: %v", s.provider, q, last)
	}
	return nil
}
