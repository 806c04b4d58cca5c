package shop_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/shop"
	"github.com/dbsuite/dbsuite/fixtures"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// joined counts employees and products per store with three LEFT JOINs:
// every employee of a store meets every product of that store, 25,000,000
// rows for a 2-row answer (about 10 s on the production-sized data).
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

// storeCounts is the code under test: the counts per store, by the given statement.
func storeCounts(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, query string) ([][3]int64, error) {
	rows, err := db.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([3]int64, error) {
		var c [3]int64
		err := r.Scan(&c[0], &c[1], &c[2])
		return c, err
	})
}

// tracedPool is a pool on db whose queries rec records; statementTimeout, if set, is the server's limit per
// statement (the trap at full size runs for about 10 s).
func tracedPool(t *testing.T, db *containers.Database, rec *assertq.Recorder, statementTimeout string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.DSN())
	require.NoError(t, err)
	cfg.ConnConfig.Tracer = rec.Tracer()
	if statementTimeout != "" {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = statementTimeout
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

var statements = []struct {
	name  string
	query string
	trap  bool
}{
	{name: "three LEFT JOINs", query: joined, trap: true},
	{name: "correlated subqueries", query: subqueries},
}

var want = [][3]int64{{1, 5000, 2500}, {2, 5000, 2500}}

// eachStatement runs check on the trap and on its fix, in parallel subtests sharing one server.
func eachStatement(t *testing.T, check func(t *testing.T, srv *containers.Server, query string, trap bool)) {
	t.Parallel()
	srv := containers.Postgres(t)
	for _, st := range statements {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			check(t, srv, st.query, st.trap)
		})
	}
}

// TestNoRowExplosion: on the production-sized template, the plan of the joined query builds 25,000,000 rows
// from tables of at most 10,000. The code runs with a 1 s statement timeout (the trap would take 10 s);
// NoRowExplosion reads the plan, not the run.
func TestNoRowExplosion(t *testing.T) {
	eachStatement(t, func(t *testing.T, srv *containers.Server, query string, trap bool) {
		rec := assertq.New(t)
		pool := tracedPool(t, srv.Database(t, containers.WithTemplate(shop.Data)), rec, "1s")
		counts, runErr := storeCounts(context.Background(), pool, query) // the trap: cancelled by the timeout
		err := assertq.Verify(rec.Queries(), assertq.NoRowExplosion())
		if !trap {
			require.NoError(t, runErr)
			assert.Equal(t, want, counts)
			assert.NoError(t, err)
			return
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), "row explosion: a join estimated at 25,000,000 rows over tables of at most 10,000 rows")
		t.Logf("caught:\n%v", err)
	})
}

// TestPreflight: with Preflight, the trap never reaches the server: the statement is explained when the code
// runs it, and stopped.
func TestPreflight(t *testing.T) {
	eachStatement(t, func(t *testing.T, srv *containers.Server, query string, trap bool) {
		ct := faketb.New(t, "")
		rec := assertq.New(ct, assertq.Preflight(assertq.NoRowExplosion()))
		pool := tracedPool(t, srv.Database(t, containers.WithTemplate(shop.Data)), rec, "")
		start := time.Now()
		counts, err := storeCounts(context.Background(), pool, query)
		took := time.Since(start)
		if !trap {
			require.NoError(t, err)
			assert.Equal(t, want, counts)
			t.Logf("the subquery version ran, explained first, in %v", took.Round(time.Microsecond))
			return
		}
		require.ErrorIs(t, err, assertq.ErrPreflight)
		assert.Contains(t, err.Error(), "row explosion: a join estimated at 25,000,000 rows")
		t.Logf("stopped in %v before it ran (the query itself takes about 10 s: go test -bench Trap ./examples/shop):\n%v",
			took.Round(time.Microsecond), err)
	})
}

// TestScaling: at a hundredth of the data the trap's plan is below NoRowExplosion's row floor, but its rows grow
// with the square of the data where the fix's grow linearly.
func TestScaling(t *testing.T) {
	eachStatement(t, func(t *testing.T, srv *containers.Server, query string, trap bool) {
		ct := faketb.New(t, "")
		rec := assertq.New(t)
		load := func(size float64) *pgxpool.Pool {
			return tracedPool(t, srv.Database(t, containers.WithTemplate(shop.Data.With(fixtures.WithScale(size)))), rec, "")
		}
		assertq.ExpectScaling(ct, rec, []float64{0.01, 0.02, 0.04}, load, func(ctx context.Context, pool *pgxpool.Pool) {
			_, err := storeCounts(ctx, pool, query)
			require.NoError(t, err)
		})
		if !trap {
			assert.Empty(t, ct.Failures())
			return
		}
		assert.Contains(t, ct.Failures(), "rows processed grow faster than the data: exponent 1.9")
		t.Logf("caught at a hundredth of the data:\n%s", ct.Failures())
	})
}

// BenchmarkTrap runs, side by side, the trap stopped by Preflight (a new Recorder each time: a fresh EXPLAIN) and
// the trap itself, on the production-sized data set, and reports both and their ratio.
func BenchmarkTrap(b *testing.B) {
	srv := containers.Postgres(b)
	db := srv.Database(b, containers.WithTemplate(shop.Data))
	ctx := context.Background()
	bare, err := pgx.Connect(ctx, db.DSN())
	require.NoError(b, err)
	defer bare.Close(ctx)
	stop := func() time.Duration {
		rec := assertq.New(faketb.New(b, ""), assertq.Preflight(assertq.NoRowExplosion()))
		cfg, err := pgx.ParseConfig(db.DSN())
		require.NoError(b, err)
		cfg.Tracer = rec.Tracer()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(b, err)
		defer conn.Close(ctx)
		start := time.Now()
		_, err = storeCounts(ctx, conn, joined)
		took := time.Since(start)
		require.ErrorIs(b, err, assertq.ErrPreflight)
		return took
	}
	run := func() time.Duration {
		start := time.Now()
		counts, err := storeCounts(ctx, bare, joined)
		took := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, want, counts)
		return took
	}
	var stops, runs []time.Duration
	for b.Loop() {
		for range 5 {
			stops = append(stops, stop())
		}
		runs = append(runs, run())
	}
	s, r := median(stops), median(runs)
	b.ReportMetric(float64(s.Microseconds())/1000, "ms-stopped")
	b.ReportMetric(float64(r.Microseconds())/1000, "ms-run")
	b.ReportMetric(float64(r)/float64(s), "x-faster")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
