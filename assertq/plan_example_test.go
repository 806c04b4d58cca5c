package assertq_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// serverTB is the examples' fake test for containers: never failed, so DBSUITE_KEEP_FAILED=1 keeps nothing.
type serverTB struct{ *faketb.TB }

func (serverTB) Failed() bool { return false }

// examplePool returns a pool traced by rec on a clone of the trap database (stores, departments, employees,
// products ... inserted and never analyzed), and the database.
func examplePool(t *faketb.TB, rec *assertq.Recorder) (*pgxpool.Pool, *containers.Database) {
	db := containers.Postgres(serverTB{t}).Database(serverTB{t}, containers.WithTemplate(trapTemplate))
	if db == nil {
		panic("no database for the example: " + t.Failures())
	}
	cfg, err := pgxpool.ParseConfig(db.DSN())
	if err != nil {
		panic(err)
	}
	cfg.ConnConfig.Tracer = rec.Tracer()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	t.Cleanup(pool.Close)
	return pool, db
}

// countPerStore is the code under test: employees and products per store, counted over two to-many joins.
func countPerStore(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT s.id, count(DISTINCT e.id), count(DISTINCT p.id)
		FROM stores s
		LEFT JOIN departments d ON d.store_id = s.id
		LEFT JOIN employees e ON e.department_id = d.id
		LEFT JOIN products p ON p.store_id = s.id
		GROUP BY s.id`)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// NoRowExplosion reads each statement's plan: every employee of a store meets every product of that store.
func ExampleNoRowExplosion() {
	t := exampleT()
	defer t.Finish()
	rec := assertq.New(t)
	pool, _ := examplePool(t, rec)

	assertq.Expect(t, rec, func(ctx context.Context) {
		_ = countPerStore(ctx, pool)
	}, assertq.NoRowExplosion())
	// Output:
	// assertq: row explosion: a join estimated at 1,000,000 rows over tables of at most 2,000 rows, want under 10× the largest table
	//   Nested Loop Left Join on (p.store_id = s.id): 1,000,000 estimated rows, 500× the largest table under it (2,000 rows)
	//     outer side: stores s (2 rows), employees e (2,000 rows), departments d (20 rows)
	//     inner side: products p (1,000 rows)
	//   statement: SELECT s.id, count(DISTINCT e.id), count(DISTINCT p.id) FROM stores s LEFT JOIN departments d ON d.…
	//     at plan_example_test.go:43 (assertq_test.countPerStore)
	// fix: the two sides are both to-many on the join key, so their rows multiply: aggregate each to-many side in its own subquery or CTE before joining (JOIN (SELECT store_id, count(*) FROM products GROUP BY store_id) p ON ...), or use one correlated subquery per count
	// assertq: 1 of 1 check failed: NoRowExplosion()
}

// Preflight explains each new statement shape before it runs: the trap never reaches the server.
func ExamplePreflight() {
	t := exampleT()
	rec := assertq.New(t, assertq.Preflight(assertq.NoRowExplosion()))
	pool, _ := examplePool(t, rec)

	err := countPerStore(context.Background(), pool)
	fmt.Println("the code got:", strings.SplitN(err.Error(), "\n", 2)[0])
	t.Finish() // the test ends: Preflight reports what it stopped
	// Output:
	// the code got: timeout: context already done: assertq: row explosion: a join estimated at 1,000,000 rows over tables of at most 2,000 rows, want under 10× the largest table
	// assertq: row explosion: a join estimated at 1,000,000 rows over tables of at most 2,000 rows, want under 10× the largest table
	//   Nested Loop Left Join on (p.store_id = s.id): 1,000,000 estimated rows, 500× the largest table under it (2,000 rows)
	//     outer side: stores s (2 rows), employees e (2,000 rows), departments d (20 rows)
	//     inner side: products p (1,000 rows)
	//   statement: SELECT s.id, count(DISTINCT e.id), count(DISTINCT p.id) FROM stores s LEFT JOIN departments d ON d.…
	//     at plan_example_test.go:43 (assertq_test.countPerStore)
	// fix: the two sides are both to-many on the join key, so their rows multiply: aggregate each to-many side in its own subquery or CTE before joining (JOIN (SELECT store_id, count(*) FROM products GROUP BY store_id) p ON ...), or use one correlated subquery per count
	// (assertq.Preflight stopped this statement before it ran)
}

// NoLongLists reads the statement's text and arguments: here a DELETE with an IN list of 5,000 ids.
func ExampleNoLongLists() {
	t := exampleT()
	defer t.Finish()
	rec := assertq.New(t)
	pool, _ := examplePool(t, rec)

	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = pool.Exec(ctx, "DELETE FROM employee_projects WHERE employee_id IN ("+strings.Join(ids, ", ")+")")
	}, assertq.NoLongLists())
	// Output:
	// assertq: long list: an IN (...) list of 5,000 items in one statement, want at most 1,000
	//   statement: DELETE FROM employee_projects WHERE employee_id IN (?)
	//     at plan_example_test.go:110 (assertq_test.ExampleNoLongLists.func1)
	// fix: a list this long is sent, parsed and planned on every call, and a long IN list or array is often planned as a filter over every row (a sequential scan): join a temporary table instead (COPY the ids in, then DELETE ... USING ids / JOIN ids), or pass = ANY($1) over a narrower set, in batches of at most 1,000
	// assertq: 1 of 1 check failed: NoLongLists()
}

// NoSeqScan checks the statements a test names for a sequential scan of a big table, and names the index.
func ExampleNoSeqScan() {
	t := exampleT()
	defer t.Finish()
	rec := assertq.New(t)
	pool, _ := examplePool(t, rec)

	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = pool.Exec(ctx, "DELETE FROM employee_projects WHERE project_id = $1", 7)
	}, assertq.NoSeqScan(assertq.MinRows(1000), assertq.Only(assertq.Delete)))
	// Output:
	// assertq: sequential scan of employee_projects (3,992 rows), want an index scan on tables of 1,000 rows or more
	//   Seq Scan on public.employee_projects: reads all 3,992 rows, 8 estimated to match
	//     filter: (employee_projects.project_id = 7)
	//   statement: DELETE FROM employee_projects WHERE project_id = ?
	//     at plan_example_test.go:128 (assertq_test.ExampleNoSeqScan.func1)
	// fix: consider an index on the filtered column: CREATE INDEX ON public.employee_projects (project_id)
	// assertq: 1 of 1 check failed: NoSeqScan(MinRows(1000), Only(Delete))
}

// ExpectScaling runs the same block on data of two or more sizes: the counts grow with the square of the data.
func ExampleExpectScaling() {
	t := exampleT()
	defer t.Finish()
	rec := assertq.New(t)
	srv := containers.Postgres(serverTB{t})
	load := func(size float64) *pgxpool.Pool {
		db := srv.Database(serverTB{t})
		if db == nil {
			panic("no database for the example: " + t.Failures())
		}
		conn, err := pgx.Connect(context.Background(), db.DSN())
		if err != nil {
			panic(err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), fmt.Sprintf(`
			CREATE TABLE stores (id int PRIMARY KEY);
			CREATE TABLE employees (store_id int NOT NULL);
			CREATE TABLE products (store_id int NOT NULL);
			INSERT INTO stores SELECT generate_series(1, 2);
			INSERT INTO employees SELECT 1 + i %% 2 FROM generate_series(1, %[1]d) i;
			INSERT INTO products SELECT 1 + i %% 2 FROM generate_series(1, %[1]d) i`, int(100*size)))
		if err != nil {
			panic(err)
		}
		cfg, _ := pgxpool.ParseConfig(db.DSN())
		cfg.ConnConfig.Tracer = rec.Tracer()
		pool, _ := pgxpool.NewWithConfig(context.Background(), cfg)
		t.Cleanup(pool.Close)
		return pool
	}
	assertq.ExpectScaling(t, rec, []float64{1, 2, 4}, load, func(ctx context.Context, pool *pgxpool.Pool) {
		rows, _ := pool.Query(ctx, `SELECT s.id, count(DISTINCT e.*), count(DISTINCT p.*) FROM stores s
			JOIN employees e ON e.store_id = s.id JOIN products p ON p.store_id = s.id GROUP BY s.id`)
		rows.Close()
	})
	// Output:
	// assertq: rows processed grow faster than the data: exponent 1.98 at sizes 1, 2, 4, want at most 1.3
	//   rows processed (actual rows and rows removed by filters, times loops, over every plan node): 10,357, 40,707, 161,407
	//   largest node at size 4: Merge Join on (s.id = e.store_id), 80,000 rows
	//   statement: SELECT s.id, count(DISTINCT e. *), count(DISTINCT p. *) FROM stores s JOIN employees e ON e.store_i…
	//     at plan_example_test.go:173 (assertq_test.ExampleExpectScaling.func2)
	// fix: a join whose rows grow with the square of the data multiplies two to-many sides: aggregate each to-many side in its own subquery or CTE before joining, or use one correlated subquery per count
	// assertq: ExpectScaling at sizes 1, 2, 4: 1 finding
}
