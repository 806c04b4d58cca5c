package assertq_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// TestPlanMessages pins every kind of plan-check message in testdata/messages/plans/*.golden (go test -update
// rewrites them), each produced on a real database (or go-sqlmock, for the statement with no plan).
func TestPlanMessages(t *testing.T) {
	t.Parallel()
	longIn := make([]string, 1500)
	for i := range longIn {
		longIn[i] = fmt.Sprint(i + 1)
	}
	params := make([]string, 12000)
	args := make([]any, 12000)
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
		args[i] = i + 1
	}
	ids := make([]int64, 2000)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	tests := []struct {
		name  string
		run   func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error
		check assertq.Check
	}{
		{name: "row_explosion", check: assertq.NoRowExplosion(),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, coauthored)
			}},
		{name: "row_explosion_self_join", check: assertq.NoRowExplosion(),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error { return runAll(ctx, pool, selfJoin) }},
		{name: "row_explosion_no_condition", check: assertq.NoRowExplosion(),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, noPredicate)
			}},
		{name: "long_list_in", check: assertq.NoLongLists(),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, "SELECT id FROM employees WHERE id IN ("+strings.Join(longIn, ",")+")")
			}},
		{name: "long_list_array_argument", check: assertq.NoLongLists(),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, "SELECT id FROM employees WHERE id = ANY($1)", ids)
			}},
		{name: "long_list_values", check: assertq.NoLongLists(assertq.MaxItems(10)),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				rows := make([]string, 20)
				for i := range rows {
					rows[i] = fmt.Sprintf("(%d, 'project %d')", 1000+i, i)
				}
				_, err := pool.Exec(ctx, "INSERT INTO projects (id, name) VALUES "+strings.Join(rows, ", "))
				return err
			}},
		{name: "too_many_params", check: assertq.NoLongLists(),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, "SELECT id FROM employees WHERE id IN ("+strings.Join(params, ", ")+")", args...)
			}},
		{name: "seq_scan_index_exists", check: assertq.NoSeqScan(assertq.MinRows(1000)),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, "SELECT name FROM employees WHERE department_id = ANY($1)", ids[:20])
			}},
		{name: "seq_scan_no_condition", check: assertq.NoSeqScan(assertq.MinRows(1000)),
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) error {
				return runAll(ctx, pool, "SELECT count(*) FROM books")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			pool, _ := trapPool(t, rec, nil)
			require.NoError(t, tt.run(t, context.Background(), pool))
			err := assertq.Verify(rec.Queries(), tt.check)
			require.Error(t, err)
			checkGolden(t, "messages/plans/"+tt.name, stableLines(err.Error()))
		})
	}
	t.Run("no_plan_sqlmock", func(t *testing.T) {
		t.Parallel()
		checkGolden(t, "messages/plans/no_plan_sqlmock", stableLines(onSQLMock(t).Error()))
	})
	for _, tt := range []struct {
		name string
		runs int
	}{{name: "preflight_stopped", runs: 1}, {name: "preflight_stopped_twice", runs: 2}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := faketb.New(nil, t.Name())
			rec := assertq.New(ft, assertq.Preflight(assertq.NoRowExplosion()))
			pool, _ := trapPool(t, rec, nil)
			for range tt.runs {
				require.ErrorIs(t, runAll(context.Background(), pool, seedTrap), assertq.ErrPreflight)
			}
			ft.Finish()
			checkGolden(t, "messages/plans/"+tt.name, stableLines(ft.Failures()))
		})
	}
	t.Run("no_plan_temp_table_side_connection", func(t *testing.T) {
		t.Parallel()
		checkGolden(t, "messages/plans/no_plan_temp_table_side_connection", stableLines(onTempSideConnection(t).Error()))
	})
	t.Run("scale_queries", func(t *testing.T) {
		t.Parallel()
		ft := faketb.New(nil, t.Name())
		rec := assertq.New(t)
		assertq.ExpectScaling(ft, rec, []float64{1, 2}, famLoad(t, rec), func(ctx context.Context, pool *pgxpool.Pool) {
			var ids []int
			rows, err := pool.Query(ctx, "SELECT id FROM kids WHERE parent_id = 1")
			require.NoError(t, err)
			for rows.Next() {
				var id int
				require.NoError(t, rows.Scan(&id))
				ids = append(ids, id)
			}
			for _, id := range ids {
				require.NoError(t, runAll(ctx, pool, "SELECT parent_id FROM kids WHERE id = $1", id))
			}
		}, assertq.NoRowGrowth())
		ft.Finish()
		checkGolden(t, "messages/plans/scale_queries", stableLines(ft.Failures()))
	})
}

// onTempSideConnection runs a statement over temporary tables on database/sql outside a transaction, and returns
// what NoRowExplosion says of it: a side connection explains it, where the tables are not.
func onTempSideConnection(t *testing.T) error {
	t.Helper()
	rec := assertq.New(t)
	sdb := recordedSQL(t, rec, containers.Postgres(t).Database(t))
	sdb.SetMaxOpenConns(1)
	for _, s := range []string{tempTraps, tempFan} {
		_, err := sdb.ExecContext(context.Background(), s)
		require.NoError(t, err)
	}
	err := assertq.Verify(rec.Queries(), assertq.NoRowExplosion())
	require.Error(t, err)
	return err
}
