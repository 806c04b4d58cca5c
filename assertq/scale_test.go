package assertq_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// famLoad returns a loader of 10 parents with 50×size kids and 50×size toys each, never analyzed, on a pool rec
// traces.
func famLoad(t *testing.T, rec *assertq.Recorder) func(size float64) *pgxpool.Pool {
	return func(size float64) *pgxpool.Pool {
		db := database(t)
		n := int(50 * size)
		_, err := db.Pool(t).Exec(context.Background(), fmt.Sprintf(`
			CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL);
			CREATE TABLE kids (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES parents);
			CREATE TABLE toys (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES parents);
			INSERT INTO parents SELECT i, 'parent ' || i FROM generate_series(1, 10) i;
			INSERT INTO kids (parent_id) SELECT p FROM generate_series(1, 10) p, generate_series(1, %[1]d);
			INSERT INTO toys (parent_id) SELECT p FROM generate_series(1, 10) p, generate_series(1, %[1]d)`, n))
		require.NoError(t, err)
		return tracedPool(t, db, rec.Tracer())
	}
}

func TestExpectScaling(t *testing.T) {
	t.Parallel()
	const fan = `SELECT p.id, count(DISTINCT k.id), count(DISTINCT t.id) FROM parents p
		LEFT JOIN kids k ON k.parent_id = p.id LEFT JOIN toys t ON t.parent_id = p.id GROUP BY p.id`
	const fix = `SELECT p.id, (SELECT count(*) FROM kids k WHERE k.parent_id = p.id),
		(SELECT count(*) FROM toys t WHERE t.parent_id = p.id) FROM parents p`
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, pool *pgxpool.Pool)
		opts []assertq.Option
		want []string
	}{
		{
			name: "two to-many joins grow with the square of the data",
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
				require.NoError(t, runAll(ctx, pool, fan))
			},
			want: []string{"rows processed grow faster than the data: exponent 1.9", "at sizes 1, 2, 4, want at most 1.3", "aggregate each to-many side"},
		},
		{
			name: "the correlated-subquery fix grows linearly",
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
				require.NoError(t, runAll(ctx, pool, fix))
			},
		},
		{
			name: "a loop of one query per kid",
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
				rows, err := pool.Query(ctx, "SELECT id FROM kids WHERE parent_id = 1")
				require.NoError(t, err)
				var ids []int
				for rows.Next() {
					var id int
					require.NoError(t, rows.Scan(&id))
					ids = append(ids, id)
				}
				require.NoError(t, rows.Err())
				for _, id := range ids {
					require.NoError(t, runAll(ctx, pool, "SELECT count(*) FROM toys WHERE parent_id = (SELECT parent_id FROM kids WHERE id = $1)", id))
				}
			},
			opts: []assertq.Option{assertq.NoRowGrowth()},
			want: []string{"queries grow with the data: one statement ran 50, 100, 200 times at sizes 1, 2, 4 (exponent 1.00)", "at plan_test.go:"},
		},
		{
			name: "a higher exponent lets the fan pass",
			run: func(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
				require.NoError(t, runAll(ctx, pool, fan))
			},
			opts: []assertq.Option{assertq.MaxExponent(2.5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := faketb.New(nil, t.Name())
			rec := assertq.New(t)
			runs := assertq.ExpectScaling(ft, rec, []float64{1, 2, 4}, famLoad(t, rec),
				func(ctx context.Context, pool *pgxpool.Pool) { tt.run(t, ctx, pool) }, tt.opts...)
			ft.Finish()
			assert.Len(t, runs, 3)
			if len(tt.want) == 0 {
				assert.Empty(t, ft.Failures())
				return
			}
			for _, w := range tt.want {
				assert.Contains(t, ft.Failures(), w)
			}
		})
	}
}

func TestExpectScalingBadSizes(t *testing.T) {
	t.Parallel()
	for _, sizes := range [][]float64{{1}, {0, 1}} {
		ft := faketb.New(nil, t.Name())
		ft.Run(func(tb testing.TB) {
			assertq.ExpectScaling(tb, assertq.New(t), sizes, func(float64) int { return 0 }, func(context.Context, int) {})
		})
		assert.Contains(t, ft.Failures(), "assertq.ExpectScaling: ")
	}
}
