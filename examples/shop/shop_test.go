package shop_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/shop"
	"github.com/dbsuite/dbsuite/fixtures"
)

// joined counts employees and products per store with three LEFT JOINs:
// every employee of a store meets every product of that store.
const joined = `SELECT s.id, count(DISTINCT e.id), count(DISTINCT p.id)
	FROM stores s
	LEFT JOIN departments d ON d.store_id = s.id
	LEFT JOIN employees e ON e.department_id = d.id
	LEFT JOIN products p ON p.store_id = s.id
	GROUP BY s.id ORDER BY s.id`

// subqueries gives the same answer with one correlated subquery per count.
const subqueries = `SELECT s.id,
	(SELECT count(*) FROM employees e JOIN departments d ON d.id = e.department_id WHERE d.store_id = s.id),
	(SELECT count(*) FROM products p WHERE p.store_id = s.id)
	FROM stores s ORDER BY s.id`

// TestCartesianTrap shows why the data set is production-sized: the planner
// expects the joined query to build 25,000,000 rows on it, and 2,500 on
// a hundredth of it, where the trap goes unnoticed. EXPLAIN does not run the
// query, so this takes milliseconds.
func TestCartesianTrap(t *testing.T) {
	t.Parallel()
	srv := containers.Postgres(t)
	tests := []struct {
		name    string
		scale   float64
		atLeast float64
		atMost  float64
		counts  [][3]int64
	}{
		{name: "production-sized", scale: 1, atLeast: 20_000_000, atMost: 30_000_000, counts: [][3]int64{{1, 5000, 2500}, {2, 5000, 2500}}},
		{name: "a hundredth", scale: 0.01, atLeast: 1, atMost: 10_000, counts: [][3]int64{{1, 50, 25}, {2, 50, 25}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := srv.Database(t, containers.WithTemplate(shop.Data.With(fixtures.WithScale(tt.scale)))).Pool(t)

			var plan []struct {
				Plan struct {
					Plans []struct {
						PlanRows float64 `json:"Plan Rows"`
					} `json:"Plans"`
				} `json:"Plan"`
			}
			var raw []byte
			require.NoError(t, pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+joined).Scan(&raw))
			require.NoError(t, json.Unmarshal(raw, &plan))
			require.NotEmpty(t, plan[0].Plan.Plans)
			rows := plan[0].Plan.Plans[0].PlanRows // what feeds the GROUP BY
			t.Logf("estimated rows into the GROUP BY at scale %v: %.0f", tt.scale, rows)
			assert.GreaterOrEqual(t, rows, tt.atLeast, "estimated join rows")
			assert.LessOrEqual(t, rows, tt.atMost, "estimated join rows")

			got, err := pool.Query(ctx, subqueries)
			require.NoError(t, err)
			var counts [][3]int64
			for got.Next() {
				var c [3]int64
				require.NoError(t, got.Scan(&c[0], &c[1], &c[2]))
				counts = append(counts, c)
			}
			require.NoError(t, got.Err())
			assert.Equal(t, tt.counts, counts)
		})
	}
}
