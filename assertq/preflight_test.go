package assertq_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/faketb"
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
			ft := faketb.New(nil, t.Name())
			rec := assertq.New(ft, assertq.Preflight(assertq.NoRowExplosion()))
			err = tt.run(t, rec, db, tt.sql)
			var rows int
			require.NoError(t, db.Pool(t).QueryRow(context.Background(), "SELECT count(*) FROM report").Scan(&rows))
			ft.Finish()
			if !tt.stopped {
				require.NoError(t, err)
				assert.Equal(t, 2, rows, "the fix ran")
				assert.Empty(t, ft.Failures())
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, assertq.ErrPreflight), "errors.Is(err, ErrPreflight): %v", err)
			assert.Contains(t, err.Error(), tt.errorSay)
			assert.Equal(t, 0, rows, "the trap must not have run")
			assert.Contains(t, ft.Failures(), "assertq: row explosion: a join estimated at 1,000,000 rows")
			assert.Contains(t, ft.Failures(), "(assertq.Preflight stopped this statement before it ran)")
		})
	}
}

// TestPreflightVerdictKept: a stopped shape is stopped again without another EXPLAIN, and other shapes run.
func TestPreflightVerdictKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := containers.Postgres(t).Database(t, containers.WithTemplate(trapTemplate))
	ft := faketb.New(nil, t.Name())
	rec := assertq.New(ft, assertq.Preflight(assertq.NoRowExplosion(), assertq.NoLongLists(assertq.MaxItems(3))))
	explains := &explainCounter{}
	conn := tracedConn(t, db, multitracer.New(rec.Tracer(), explains))
	var after []int64
	for range 2 {
		err := runAll(ctx, conn, selfJoin)
		require.ErrorIs(t, err, assertq.ErrPreflight)
		after = append(after, explains.n.Load())
	}
	require.Positive(t, after[0], "the first run is explained")
	assert.Equal(t, after[0], after[1], "the second run is stopped by the kept verdict, without another EXPLAIN")
	require.NoError(t, runAll(ctx, conn, oneToMany))
	err := runAll(ctx, conn, "SELECT name FROM stores WHERE id IN (1, 2, 3, 4)")
	require.ErrorIs(t, err, assertq.ErrPreflight)
	assert.Contains(t, err.Error(), "long list: an IN (...) list of 4 items in one statement, want at most 3")
	ft.Finish()
	assert.Equal(t, 1, strings.Count(ft.Failures(), "row explosion"), "the same stop is reported once, with a count: %s", ft.Failures())
	assert.Contains(t, ft.Failures(), "(assertq.Preflight stopped this statement before it ran, 2 times)")
	qs := rec.Queries()
	require.Len(t, qs, 4, "stopped statements are recorded, with their error")
	assert.ErrorIs(t, qs[0].Err, assertq.ErrPreflight)
}

// TestPreflightVerdictPerArguments: the verdict of a check that reads the arguments is made for each execution (an
// array argument of 100,000 ids and one of 1,000 share a statement shape), and a plan check's stop does not stop
// the same shape with other arguments whose plan is fine.
func TestPreflightVerdictPerArguments(t *testing.T) {
	t.Parallel()
	const anyIDs = "SELECT count(*) FROM employees WHERE id = ANY($1)"
	type run func(ctx context.Context, rec *assertq.Recorder, db *containers.Database, t *testing.T) func(args ...any) error
	viaPgx := func(ctx context.Context, rec *assertq.Recorder, db *containers.Database, t *testing.T) func(args ...any) error {
		conn := tracedConn(t, db, rec.Tracer())
		return func(args ...any) error { return runAll(ctx, conn, args[0].(string), args[1:]...) }
	}
	viaSQL := func(ctx context.Context, rec *assertq.Recorder, db *containers.Database, t *testing.T) func(args ...any) error {
		sdb := recordedSQL(t, rec, db)
		sdb.SetMaxOpenConns(1)
		return func(args ...any) error {
			rows, err := sdb.QueryContext(ctx, args[0].(string), args[1:]...)
			if err != nil {
				return err
			}
			return rows.Close()
		}
	}
	ids := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i%2000 + 1)
		}
		return out
	}
	type step struct {
		sql     string
		arg     any
		stopped bool
	}
	lists := []step{{anyIDs, ids(100_000), true}, {anyIDs, ids(1_000), false}, {anyIDs, ids(100_000), true}}
	listsSmallFirst := []step{{anyIDs, ids(1_000), false}, {anyIDs, ids(100_000), true}}
	stores := []step{{oneStore, 1, true}, {oneStore, 3, false}, {oneStore, 1, true}}
	tests := []struct {
		name  string
		run   run
		check assertq.Check
		steps []step
		say   string // the end-of-test failure, once
	}{
		{name: "pgx: 100k stopped, the 1k batch runs", run: viaPgx, check: assertq.NoLongLists(), steps: lists,
			say: "(assertq.Preflight stopped this statement before it ran, 2 times)"},
		{name: "database/sql: 100k stopped, the 1k batch runs", run: viaSQL, check: assertq.NoLongLists(), steps: lists,
			say: "(assertq.Preflight stopped this statement before it ran, 2 times)"},
		{name: "pgx: a 1k batch first does not let the 100k run", run: viaPgx, check: assertq.NoLongLists(), steps: listsSmallFirst,
			say: "(assertq.Preflight stopped this statement before it ran)"},
		{name: "database/sql: a 1k batch first does not let the 100k run", run: viaSQL, check: assertq.NoLongLists(), steps: listsSmallFirst,
			say: "(assertq.Preflight stopped this statement before it ran)"},
		{name: "pgx: a fan stopped for one store does not stop a store with no rows", run: viaPgx, check: assertq.NoRowExplosion(), steps: stores,
			say: "(assertq.Preflight stopped this statement before it ran, 2 times)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := containers.Postgres(t).Database(t, containers.WithTemplate(trapTemplate))
			ft := faketb.New(nil, t.Name())
			rec := assertq.New(ft, assertq.Preflight(tt.check))
			exec := tt.run(ctx, rec, db, t)
			for i, s := range tt.steps {
				err := exec(s.sql, s.arg)
				if s.stopped {
					require.ErrorIs(t, err, assertq.ErrPreflight, "step %d", i)
				} else {
					require.NoError(t, err, "step %d", i)
				}
			}
			ft.Finish()
			assert.Equal(t, 1, strings.Count(ft.Failures(), "assertq.Preflight stopped"), ft.Failures())
			assert.Contains(t, ft.Failures(), tt.say)
		})
	}
}

// TestPreflightOnSQLMock: on go-sqlmock Preflight sends no EXPLAIN (it would use up an expectation of the test's),
// says why in words, and reports a repeated stop once.
func TestPreflightOnSQLMock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		runs  int
		count string
	}{
		{name: "one statement", runs: 1, count: "(assertq.Preflight stopped this statement before it ran)"},
		{name: "the same statement twice", runs: 2, count: "(assertq.Preflight stopped this statement before it ran, 2 times)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn := fmt.Sprintf("assertq/%s/%d", t.Name(), mockDSNs.Add(1))
			mdb, mock, err := sqlmock.NewWithDSN(dsn) // the default matcher: a regular expression, which EXPLAIN ... SELECT matches
			require.NoError(t, err)
			t.Cleanup(func() { mdb.Close() })
			mock.ExpectQuery("SELECT").WillReturnRows(sqlmock.NewRows([]string{"id", "n"}).AddRow(1, 2))
			ft := faketb.New(nil, t.Name())
			rec := assertq.New(ft, assertq.Preflight(assertq.NoRowExplosion()))
			db := sql.OpenDB(rec.Connector(assertq.ConnectorOf(mdb.Driver(), dsn)))
			t.Cleanup(func() { db.Close() })
			for range tt.runs {
				_, err = db.QueryContext(context.Background(), "SELECT s.id, count(*) FROM stores s JOIN products p ON p.store_id = s.id GROUP BY s.id")
				require.ErrorIs(t, err, assertq.ErrPreflight)
			}
			assert.Contains(t, err.Error(), "why: the statement ran on go-sqlmock, which has no planner: no EXPLAIN was sent to it")
			assert.NotContains(t, err.Error(), "Go value of type")
			assert.Error(t, mock.ExpectationsWereMet(), "the test's expectation is left for its own statement")
			ft.Finish()
			assert.Equal(t, 1, strings.Count(ft.Failures(), "no plan for a statement"), ft.Failures())
			assert.Contains(t, ft.Failures(), tt.count)
		})
	}
}

// explainCounter counts the EXPLAIN statements a connection runs.
type explainCounter struct{ n atomic.Int64 }

func (c *explainCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(data.SQL)), "EXPLAIN") {
		c.n.Add(1)
	}
	return ctx
}

func (c *explainCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
