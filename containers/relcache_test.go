//go:build unix

package containers_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

func TestTemplatesHaveRelcacheInit(t *testing.T) {
	checkRelcacheInit(t, containers.Postgres(t))
}

// checkRelcacheInit checks that template1 and a template whose setup
// vacuums catalogs (which removes the file) hold a relation cache init
// file for their clones to copy (relcache.go).
func checkRelcacheInit(t *testing.T, srv *containers.Server) {
	t.Helper()
	tpl := containers.NewTemplate("primed", containers.HashOf(t.Name(), time.Now().String()),
		func(ctx context.Context, conn *pgx.Conn) error {
			for _, q := range []string{"CREATE TABLE item (id int PRIMARY KEY)", "VACUUM pg_class", "VACUUM pg_attribute"} {
				if _, err := conn.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
	pool := srv.Database(t, containers.WithTemplate(tpl)).Pool(t)
	assertRelcacheInit(t, pool, "template1", "dbsuite_tpl_primed_%")
}

// assertRelcacheInit asserts that every database whose name is LIKE one of
// the patterns has its relation cache init file (pool is a superuser's).
func assertRelcacheInit(t *testing.T, pool *pgxpool.Pool, patterns ...string) {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT datname, (pg_stat_file('base/' || oid || '/pg_internal.init', true)).size IS NOT NULL
		FROM pg_database WHERE datname LIKE ANY ($1) ORDER BY datname`, patterns)
	require.NoError(t, err)
	type db struct {
		Name   string
		Primed bool
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[db])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(got), len(patterns), "databases named like %q", patterns)
	for _, d := range got {
		assert.True(t, d.Primed, "%s has no pg_internal.init: every clone's first connection builds its relation cache", d.Name)
	}
}
