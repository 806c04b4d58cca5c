//go:build unix

package containers_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestTemplateKeptAcrossRuns builds a template on one local server, stops
// it (as a run ends), and asks for the same template on a new server (the
// next run): it is restored from the cache without running its setup, and
// its clones hold the rows and take new writes and VACUUM.
func TestTemplateKeptAcrossRuns(t *testing.T) {
	tests := []struct {
		name     string
		setup    string
		wantKept bool
		wantNote string
	}{
		{"plain", `CREATE TABLE person (id int PRIMARY KEY, name text NOT NULL);
			INSERT INTO person SELECT i, 'p' || i FROM generate_series(1, 500) i;
			DELETE FROM person WHERE id > 400; ANALYZE person`, true, "kept in the cache for the next run"},
		{"owned by a role it made", `CREATE ROLE ` + "dbsuite_test_owner_" + strconv.FormatInt(time.Now().UnixNano(), 36) + `;
			CREATE TABLE person (id int PRIMARY KEY, name text NOT NULL);
			INSERT INTO person SELECT i, 'p' || i FROM generate_series(1, 400) i;
			DO $$ BEGIN EXECUTE format('ALTER TABLE person OWNER TO %I', (SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbsuite_test_owner_%' ORDER BY oid DESC LIMIT 1)); END $$`,
			false, "not kept for the next run: it refers to roles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var setups atomic.Int32
			tpl := containers.NewTemplate("kept", containers.HashOf(t.Name(), time.Now().String()),
				func(ctx context.Context, conn *pgx.Conn) error {
					setups.Add(1)
					_, err := conn.Exec(ctx, tt.setup)
					return err
				})
			run := func() string {
				var out string
				t.Run("run", func(t *testing.T) {
					srv := containers.Postgres(t, containers.WithPrivate(true))
					f := runFake(t, false, func(tb testing.TB) {
						db := srv.Database(tb, containers.WithTemplate(tpl))
						pool := db.Pool(tb)
						var n int
						require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM person").Scan(&n))
						assert.Equal(t, 400, n, "the clone holds the template's rows")
						assertRelcacheInit(t, pool, "dbsuite_tpl_kept_%")
						_, err := pool.Exec(t.Context(), "INSERT INTO person VALUES (1000, 'new'); UPDATE person SET name = 'x' WHERE id < 10")
						require.NoError(t, err, "a clone of a restored template takes writes")
						_, err = pool.Exec(t.Context(), "VACUUM (FREEZE) person")
						require.NoError(t, err)
						require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM person WHERE name = 'x'").Scan(&n))
						assert.Equal(t, 9, n)
					})
					out = f.output()
				})
				return out
			}
			first := run()
			assert.Contains(t, first, "rebuilt: SetupTemplate took")
			assert.Contains(t, first, tt.wantNote)
			second := run()
			if tt.wantKept {
				assert.Equal(t, int32(1), setups.Load(), "the second run loads nothing")
				assert.Contains(t, second, "reused: restored from the cache")
			} else {
				assert.Equal(t, int32(2), setups.Load(), "a template that cannot be kept is rebuilt")
				assert.Contains(t, second, "rebuilt: SetupTemplate took")
			}
		})
	}
}

// TestStaleTemplates: on a server that outlives the run, building a new
// version of a template drops the versions no binary used for an hour,
// and keeps those used recently; Clean removes everything dbsuite made.
func TestStaleTemplates(t *testing.T) {
	host := containers.Postgres(t, containers.WithPrivate(true))
	t.Setenv(containers.EnvURL, host.DSN())
	srv := containers.Postgres(t, containers.WithProvider(containers.ProviderExisting))
	version := func(v string) containers.Template {
		return containers.NewTemplate("aging", v, func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "CREATE TABLE v (x text); INSERT INTO v VALUES ('"+v+"')")
			return err
		})
	}
	templates := func() []string {
		conn, err := pgx.Connect(t.Context(), host.DSN())
		require.NoError(t, err)
		defer conn.Close(context.Background())
		rows, err := conn.Query(t.Context(), "SELECT datname FROM pg_database WHERE datname LIKE 'dbsuite_tpl_aging_%' ORDER BY datname")
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return names
	}
	srv.Database(t, containers.WithTemplate(version("1")))
	srv.Database(t, containers.WithTemplate(version("2")))
	require.Len(t, templates(), 2, "a version used a moment ago stays")

	// Version 1 was last used two hours ago.
	exec(t, host.DSN(), `DO $$ BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L',
		(SELECT datname FROM pg_database WHERE datname LIKE 'dbsuite_tpl_aging_%' AND shobj_description(oid, 'pg_database') IS NOT NULL ORDER BY oid LIMIT 1),
		'dbsuite template, last used ' || to_char(now() AT TIME ZONE 'UTC' - interval '2 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')); END $$`)
	// A template whose name extends "aging_" is not a version of "aging", however old.
	other := containers.NewTemplate("aging_more", "1", func(ctx context.Context, conn *pgx.Conn) error { return nil })
	srv.Database(t, containers.WithTemplate(other))
	exec(t, host.DSN(), `DO $$ BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L',
		(SELECT datname FROM pg_database WHERE datname LIKE 'dbsuite_tpl_aging_more_%'),
		'dbsuite template, last used ' || to_char(now() AT TIME ZONE 'UTC' - interval '2 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')); END $$`)
	srv.Database(t, containers.WithTemplate(version("3")))
	assert.Len(t, templates(), 3, "building version 3 dropped version 1, unused for two hours, and kept version 2 and aging_more")
	assert.Equal(t, 1, query[int](t, host.DSN(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'dbsuite_tpl_aging_more_%'`))

	dropped, err := containers.Clean(t.Context(), host.DSN())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(dropped), 4, "three templates and the databases of this test: %v", dropped)
	assert.Empty(t, templates())
	assert.Zero(t, query[int](t, host.DSN(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'dbsuite\_%'`))
}
