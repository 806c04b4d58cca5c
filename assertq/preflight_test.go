package assertq_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
)

// fanInsert writes the seed trap's counts into a table: if Preflight lets it run, the table has rows.
const fanInsert = `INSERT INTO report (store_id, employees, products) ` + seedTrap

// fixInsert is the same with the correlated-subquery fix.
const fixInsert = `INSERT INTO report (store_id, employees, products) ` + subquery

const reportTable = `CREATE TABLE report (store_id int, employees bigint, products bigint)`

func TestPreflight(t *testing.T) {
	t.Parallel()
	type runner func(t *testing.T, rec *assertq.Recorder, db *containers.Database, sql string) error
	viaPgx := func(t *testing.T, rec *assertq.Recorder, db *containers.Database, sql string) error {
		_, err := tracedPool(t, db, rec.Tracer()).Exec(context.Background(), sql)
		return err
	}
	viaPgxTx := func(t *testing.T, rec *assertq.Recorder, db *containers.Database, sql string) error {
		ctx := context.Background()
		conn := tracedConn(t, db, rec.Tracer())
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, sql)
		// the connection and its transaction stay usable after a stop
		var one int
		require.NoError(t, tx.QueryRow(ctx, "SELECT 1").Scan(&one))
		require.NoError(t, tx.Commit(ctx))
		return err
	}
	viaSQL := func(t *testing.T, rec *assertq.Recorder, db *containers.Database, sql string) error {
		_, err := recordedSQL(t, rec, db).ExecContext(context.Background(), sql)
		return err
	}
	viaSQLPrepared := func(t *testing.T, rec *assertq.Recorder, db *containers.Database, sql string) error {
		stmt, err := recordedSQL(t, rec, db).PrepareContext(context.Background(), sql)
		require.NoError(t, err, "preparing is not running")
		defer stmt.Close()
		_, err = stmt.ExecContext(context.Background())
		return err
	}
	tests := []struct {
		name     string
		run      runner
		sql      string
		stopped  bool
		errorSay string // what the error the code gets says
	}{
		{name: "pgx pool: the trap does not run", run: viaPgx, sql: fanInsert, stopped: true, errorSay: "context already done: assertq: row explosion"},
		{name: "pgx transaction: the trap does not run", run: viaPgxTx, sql: fanInsert, stopped: true, errorSay: "context already done: assertq: row explosion"},
		{name: "database/sql: the trap does not run", run: viaSQL, sql: fanInsert, stopped: true, errorSay: "assertq: row explosion"},
		{name: "database/sql prepared: the trap does not run", run: viaSQLPrepared, sql: fanInsert, stopped: true, errorSay: "assertq: row explosion"},
		{name: "pgx pool: the fix runs", run: viaPgx, sql: fixInsert},
		{name: "pgx transaction: the fix runs", run: viaPgxTx, sql: fixInsert},
		{name: "database/sql: the fix runs", run: viaSQL, sql: fixInsert},
		{name: "database/sql prepared: the fix runs", run: viaSQLPrepared, sql: fixInsert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := containers.Postgres(t).Database(t, containers.WithTemplate(trapTemplate))
			_, err := db.Pool(t).Exec(context.Background(), reportTable)
			require.NoError(t, err)
			ft := newFakeTB(t.Name())
			rec := assertq.New(ft, assertq.Preflight(assertq.NoRowExplosion()))
			err = tt.run(t, rec, db, tt.sql)
			var rows int
			require.NoError(t, db.Pool(t).QueryRow(context.Background(), "SELECT count(*) FROM report").Scan(&rows))
			ft.finish()
			if !tt.stopped {
				require.NoError(t, err)
				assert.Equal(t, 2, rows, "the fix ran")
				assert.Empty(t, ft.failures())
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, assertq.ErrPreflight), "errors.Is(err, ErrPreflight): %v", err)
			assert.Contains(t, err.Error(), tt.errorSay)
			assert.Equal(t, 0, rows, "the trap must not have run")
			assert.Contains(t, ft.failures(), "assertq: row explosion: a join estimated at 1,000,000 rows")
			assert.Contains(t, ft.failures(), "(assertq.Preflight stopped this statement before it ran)")
		})
	}
}

// TestPreflightVerdictKept: a stopped shape is stopped again without another EXPLAIN, and other shapes run.
func TestPreflightVerdictKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := containers.Postgres(t).Database(t, containers.WithTemplate(trapTemplate))
	ft := newFakeTB(t.Name())
	rec := assertq.New(ft, assertq.Preflight(assertq.NoRowExplosion(), assertq.NoLongLists(assertq.MaxItems(3))))
	conn := tracedConn(t, db, rec.Tracer())
	for range 2 {
		err := runAll(ctx, conn, selfJoin)
		require.ErrorIs(t, err, assertq.ErrPreflight)
	}
	require.NoError(t, runAll(ctx, conn, oneToMany))
	err := runAll(ctx, conn, "SELECT name FROM stores WHERE id IN (1, 2, 3, 4)")
	require.ErrorIs(t, err, assertq.ErrPreflight)
	assert.Contains(t, err.Error(), "long list: an IN (...) list of 4 items in one statement, want at most 3")
	ft.finish()
	assert.Equal(t, 1, strings.Count(ft.failures(), "row explosion"), "the same stop is reported once, with a count: %s", ft.failures())
	assert.Contains(t, ft.failures(), "(assertq.Preflight stopped this statement before it ran, 2 times)")
	qs := rec.Queries()
	require.Len(t, qs, 4, "stopped statements are recorded, with their error")
	assert.ErrorIs(t, qs[0].Err, assertq.ErrPreflight)
}
