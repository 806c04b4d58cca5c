//go:build unix

package containers_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

func TestTestDatabaseWithoutCatalogMaps(t *testing.T) {
	checkWithoutCatalogMaps(t, containers.Postgres(t))
}

// checkWithoutCatalogMaps checks that a test's database has no free space
// or visibility map on its catalogs (slimCatalogMaps, and the Docker seed's
// pack), and that PostgreSQL makes them again when VACUUM wants them,
// with the database working as any other meanwhile.
func checkWithoutCatalogMaps(t *testing.T, srv *containers.Server) {
	t.Helper()
	pool := srv.Database(t).Pool(t)
	ctx := t.Context()
	maps := func(fork string) int {
		t.Helper()
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_class
			WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r' AND NOT relisshared AND pg_relation_size(oid, $1) > 0`, fork).Scan(&n))
		return n
	}
	assert.Zero(t, maps("fsm"), "catalogs with a free space map in a new test database")
	assert.Zero(t, maps("vm"), "catalogs with a visibility map in a new test database")

	// Catalog rows are added, changed and removed; VACUUM then makes both maps.
	for _, q := range []string{
		"CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)",
		"CREATE INDEX ON item (name)",
		"INSERT INTO item SELECT i, 'n' || i FROM generate_series(1, 1000) i",
		"ALTER TABLE item ADD COLUMN price int DEFAULT 0",
		"DROP INDEX item_name_idx",
		"VACUUM",
	} {
		_, err := pool.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	var rows, withFSM, withVM int
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM item WHERE price = 0),
		pg_relation_size('pg_class', 'fsm'), pg_relation_size('pg_class', 'vm')`).Scan(&rows, &withFSM, &withVM))
	assert.Equal(t, 1000, rows)
	assert.Positive(t, withFSM, "pg_class's free space map after VACUUM")
	assert.Positive(t, withVM, "pg_class's visibility map after VACUUM")
}
