package assertq_test

import (
	"context"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// trapSchema holds every join the plan checks must judge, with data inserted and never analyzed: the template's
// clones have no planner statistics, as a test's freshly inserted rows have none. Sizes: 2 stores, 20
// departments, 2,000 employees (100 per department), 1,000 products (500 per store), 500 projects, 4,000
// employee_projects, 200 authors, 4,000 books and 4,000 co-authorships (20 each per author).
const trapSchema = `
CREATE TABLE stores (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE departments (id int PRIMARY KEY, store_id int NOT NULL REFERENCES stores, name text NOT NULL);
CREATE TABLE employees (id int PRIMARY KEY, department_id int NOT NULL REFERENCES departments, name text NOT NULL);
CREATE INDEX ON employees (department_id);
CREATE TABLE products (id int PRIMARY KEY, store_id int NOT NULL REFERENCES stores, name text NOT NULL);
CREATE INDEX ON products (store_id);
CREATE TABLE projects (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE employee_projects (employee_id int REFERENCES employees, project_id int REFERENCES projects,
	PRIMARY KEY (employee_id, project_id));
CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (id int PRIMARY KEY, author_id int NOT NULL REFERENCES authors, title text NOT NULL);
CREATE INDEX ON books (author_id);
CREATE TABLE coauthorships (book_id int NOT NULL, author_id int NOT NULL REFERENCES authors);
CREATE INDEX ON coauthorships (author_id);
INSERT INTO stores SELECT i, 'store ' || i FROM generate_series(1, 2) i;
INSERT INTO departments SELECT i, 1 + (i - 1) / 10, 'department ' || i FROM generate_series(1, 20) i;
INSERT INTO employees SELECT i, 1 + (i - 1) / 100, 'employee ' || i FROM generate_series(1, 2000) i;
INSERT INTO products SELECT i, 1 + (i - 1) / 500, 'product ' || i FROM generate_series(1, 1000) i;
INSERT INTO projects SELECT i, 'project ' || i FROM generate_series(1, 500) i;
INSERT INTO employee_projects SELECT e, 1 + (e * 7 + k) % 500 FROM generate_series(1, 2000) e, generate_series(0, 1) k;
INSERT INTO authors SELECT i, 'author ' || i FROM generate_series(1, 200) i;
INSERT INTO books SELECT i, 1 + (i - 1) / 20, 'book ' || i FROM generate_series(1, 4000) i;
INSERT INTO coauthorships SELECT 1 + (i * 13) % 4000, 1 + (i - 1) / 20 FROM generate_series(1, 4000) i;
`

// trapTemplate is the database every plan test clones: built once per server.
var trapTemplate = containers.NewTemplate("assertq_plan_traps", containers.HashOf(trapSchema),
	func(ctx context.Context, conn *pgx.Conn) error { _, err := conn.Exec(ctx, trapSchema); return err })

// The statements of the table.
const (
	seedTrap = `SELECT s.id, count(DISTINCT e.id), count(DISTINCT p.id)
		FROM stores s
		LEFT JOIN departments d ON d.store_id = s.id
		LEFT JOIN employees e ON e.department_id = d.id
		LEFT JOIN products p ON p.store_id = s.id
		GROUP BY s.id ORDER BY s.id`
	coauthored = `SELECT a.id, count(b.id), count(c.book_id)
		FROM authors a
		JOIN books b ON b.author_id = a.id
		JOIN coauthorships c ON c.author_id = a.id
		GROUP BY a.id`
	selfJoin    = `SELECT count(*) FROM employees e1 JOIN employees e2 ON e1.department_id = e2.department_id`
	noPredicate = `SELECT count(*) FROM departments d, products p`
	oneToMany   = `SELECT d.name, e.name FROM departments d JOIN employees e ON e.department_id = d.id`
	grouped     = `SELECT d.id, count(*) FROM departments d JOIN employees e ON e.department_id = d.id GROUP BY d.id`
	chain       = `SELECT s.name, d.name, e.name FROM stores s JOIN departments d ON d.store_id = s.id
		JOIN employees e ON e.department_id = d.id`
	junction = `SELECT e.name, p.name FROM employees e
		JOIN employee_projects ep ON ep.employee_id = e.id JOIN projects p ON p.id = ep.project_id`
	tinyCross = `SELECT s.name, d.name FROM stores s CROSS JOIN departments d`
	subquery  = `SELECT s.id,
		(SELECT count(*) FROM employees e JOIN departments d ON d.id = e.department_id WHERE d.store_id = s.id),
		(SELECT count(*) FROM products p WHERE p.store_id = s.id)
		FROM stores s ORDER BY s.id`
	preAggregated = `SELECT s.id, e.n, p.n FROM stores s
		LEFT JOIN (SELECT d.store_id, count(*) AS n FROM employees e JOIN departments d ON d.id = e.department_id GROUP BY d.store_id) e ON e.store_id = s.id
		LEFT JOIN (SELECT store_id, count(*) AS n FROM products GROUP BY store_id) p ON p.store_id = s.id`
	oneStore = `SELECT e.name, p.name FROM departments d JOIN employees e ON e.department_id = d.id
		JOIN products p ON p.store_id = d.store_id WHERE d.store_id = $1`
)

// logTB is a fake test over t that keeps what the code under test logs (Logs); its errors fail t.
func logTB(t *testing.T) *faketb.TB {
	f := faketb.New(t, "")
	f.OnError = func(msg string) { t.Errorf("%s", msg) }
	return f
}

// trapPool returns a pool on a fresh clone of the trap database, traced by rec, with runtime parameters params.
func trapPool(t *testing.T, rec *assertq.Recorder, params map[string]string) (*pgxpool.Pool, *containers.Database) {
	t.Helper()
	db := containers.Postgres(t).Database(t, containers.WithTemplate(trapTemplate))
	cfg, err := pgxpool.ParseConfig(db.DSN())
	require.NoError(t, err)
	cfg.ConnConfig.Tracer = rec.Tracer()
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, db
}

// runAll runs a statement and reads all its rows.
func runAll(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}

func TestNoRowExplosion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sql    string
		args   []any
		params map[string]string // the code's connection settings (the side connection uses them too)
		want   []string          // substrings of the violation; none: must pass
	}{
		{name: "seed trap: two to-many joins from one parent", sql: seedTrap,
			want: []string{"row explosion: a join estimated at 1,000,000 rows over tables of at most 2,000 rows", "outer side:", "products p (1,000 rows)", "aggregate each to-many side"}},
		{name: "authors, books and co-authored books", sql: coauthored,
			want: []string{"row explosion", "80,000", "books b (4,000 rows)", "coauthorships c (4,000 rows)"}},
		{name: "self-join on a non-unique key", sql: selfJoin,
			want: []string{"row explosion: a join estimated at 200,000 rows", "self-join on a column that is not unique"}},
		{name: "join with no predicate", sql: noPredicate,
			want: []string{"row explosion: a join estimated at 20,000 rows", "with no join condition", "add the missing join condition"}},
		{name: "two to-many joins with an argument (custom plan)", sql: oneStore, args: []any{1},
			want: []string{"row explosion: a join estimated at 500,000 rows"}},
		{name: "seed trap as nested loops", sql: seedTrap, params: map[string]string{"enable_hashjoin": "off", "enable_mergejoin": "off"},
			want: []string{"row explosion: a join estimated at 1,000,000 rows", "Nested Loop"}},
		{name: "one-to-many", sql: oneToMany},
		{name: "one-to-many with GROUP BY", sql: grouped},
		{name: "one-to-many chain", sql: chain},
		{name: "one-to-many chain as nested loops", sql: chain, params: map[string]string{"enable_hashjoin": "off", "enable_mergejoin": "off"}},
		{name: "one-to-many with GROUP BY as nested loops", sql: grouped, params: map[string]string{"enable_hashjoin": "off", "enable_mergejoin": "off"}},
		{name: "many-to-many through a junction table", sql: junction},
		{name: "tiny cross join", sql: tinyCross},
		{name: "the correlated-subquery fix", sql: subquery},
		{name: "the pre-aggregated fix", sql: preAggregated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ltb := logTB(t)
			rec := assertq.New(ltb)
			pool, _ := trapPool(t, rec, tt.params)
			ctx := context.Background()
			require.NoError(t, runAll(ctx, pool, tt.sql, tt.args...))
			err := assertq.Verify(rec.Queries(), assertq.NoRowExplosion())
			if len(tt.want) == 0 {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, w := range tt.want {
					assert.Contains(t, err.Error(), w)
				}
				assert.Contains(t, err.Error(), "plan_test.go:", "the call site")
			}
			assert.Contains(t, strings.Join(ltb.Logs(), "\n"), "(never analyzed): plan checks need fresh planner statistics",
				"the clone's tables were never analyzed: the check must say it analyzed them")
		})
	}
}

func TestNoRowExplosionOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []assertq.Option
		sql  string
		args []any
		fail bool
	}{
		{name: "a lower floor flags a small fan-out", sql: oneStore, args: []any{1}, opts: []assertq.Option{assertq.MinRows(100), assertq.Factor(100)}, fail: true},
		{name: "a higher factor lets the fan-out pass", sql: oneStore, args: []any{1}, opts: []assertq.Option{assertq.Factor(1000)}},
		{name: "a higher factor lets the self-join pass", sql: selfJoin, opts: []assertq.Option{assertq.Factor(1000)}},
		{name: "a higher floor lets the cross join pass", sql: noPredicate, opts: []assertq.Option{assertq.MinRows(1e6)}},
		{name: "Only leaves out other statements", sql: seedTrap, opts: []assertq.Option{assertq.Only(assertq.Table("authors"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			pool, _ := trapPool(t, rec, nil)
			require.NoError(t, runAll(context.Background(), pool, tt.sql, tt.args...))
			err := assertq.Verify(rec.Queries(), assertq.NoRowExplosion(tt.opts...))
			assert.Equal(t, tt.fail, err != nil, "violation: %v", err)
		})
	}
}

// TestNoRowExplosionSessions: where the plan comes from. A table created, or rows inserted, in the code's own
// transaction are invisible to a side connection: the check explains in that session while it is open.
func TestNoRowExplosionSessions(t *testing.T) {
	t.Parallel()
	const create = `CREATE TABLE parents (id int PRIMARY KEY);
		CREATE TABLE kids (parent_id int NOT NULL);
		CREATE TABLE toys (parent_id int NOT NULL);
		INSERT INTO parents SELECT generate_series(1, 10);
		INSERT INTO kids SELECT 1 + i % 10 FROM generate_series(1, 1000) i;
		INSERT INTO toys SELECT 1 + i % 10 FROM generate_series(1, 1000) i`
	const fan = `SELECT p.id, count(k.*), count(t.*) FROM parents p JOIN kids k ON k.parent_id = p.id
		JOIN toys t ON t.parent_id = p.id GROUP BY p.id`
	tests := []struct {
		name string
		run  func(t *testing.T, rec *assertq.Recorder, db *containers.Database) error
		want string
	}{
		{
			name: "pgx: tables created in the code's open transaction",
			run: func(t *testing.T, rec *assertq.Recorder, db *containers.Database) error {
				tx, err := tracedPool(t, db, rec.Tracer()).Begin(context.Background())
				require.NoError(t, err)
				defer tx.Rollback(context.Background())
				_, err = tx.Exec(context.Background(), create)
				require.NoError(t, err)
				require.NoError(t, runAll(context.Background(), tx, fan))
				return assertq.Verify(rec.Queries(), assertq.NoRowExplosion(assertq.MinRows(1000)))
			},
			want: "row explosion: a join estimated at 100,000 rows",
		},
		{
			name: "pgx: the transaction rolled back before the check",
			run: func(t *testing.T, rec *assertq.Recorder, db *containers.Database) error {
				tx, err := tracedPool(t, db, rec.Tracer()).Begin(context.Background())
				require.NoError(t, err)
				_, err = tx.Exec(context.Background(), create)
				require.NoError(t, err)
				require.NoError(t, runAll(context.Background(), tx, fan))
				require.NoError(t, tx.Rollback(context.Background()))
				return assertq.Verify(rec.Queries(), assertq.NoRowExplosion(assertq.MinRows(1000)))
			},
			want: "no plan for a statement, want its plan checked by NoRowExplosion(MinRows(1000))\n  why: the statement ran in a transaction that ended before the check",
		},
		{
			name: "database/sql: rows inserted in the code's open transaction",
			run: func(t *testing.T, rec *assertq.Recorder, db *containers.Database) error {
				ctx := context.Background()
				_, err := db.Pool(t).Exec(ctx, `CREATE TABLE parents (id int PRIMARY KEY);
					CREATE TABLE kids (parent_id int NOT NULL); CREATE TABLE toys (parent_id int NOT NULL)`)
				require.NoError(t, err)
				sdb := recordedSQL(t, rec, db)
				tx, err := sdb.BeginTx(ctx, nil)
				require.NoError(t, err)
				defer tx.Rollback()
				_, err = tx.ExecContext(ctx, strings.SplitN(create, ";", 4)[3])
				require.NoError(t, err)
				rows, err := tx.QueryContext(ctx, fan)
				require.NoError(t, err)
				require.NoError(t, rows.Close())
				return assertq.Verify(rec.Queries(), assertq.NoRowExplosion(assertq.MinRows(1000)))
			},
			want: "row explosion: a join estimated at 100,000 rows",
		},
		{
			name: "database/sql: a side connection through the connector",
			run: func(t *testing.T, rec *assertq.Recorder, db *containers.Database) error {
				ctx := context.Background()
				_, err := db.Pool(t).Exec(ctx, create)
				require.NoError(t, err)
				sdb := recordedSQL(t, rec, db)
				rows, err := sdb.QueryContext(ctx, fan)
				require.NoError(t, err)
				require.NoError(t, rows.Close())
				return assertq.Verify(rec.Queries(), assertq.NoRowExplosion(assertq.MinRows(1000)))
			},
			want: "row explosion: a join estimated at 100,000 rows",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			err := tt.run(t, rec, database(t))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// onSQLMock runs a statement on go-sqlmock and returns what NoRowExplosion says of it.
func onSQLMock(t *testing.T) error {
	t.Helper()
	rec := assertq.New(t)
	db, mock := mockDB(t, rec)
	mock.ExpectQuery("SELECT id FROM product").WillReturnRows(sqlmock.NewRows([]string{"id"}))
	rows, err := db.QueryContext(context.Background(), "SELECT id FROM product")
	require.NoError(t, err)
	require.NoError(t, rows.Close())
	err = assertq.Verify(rec.Queries(), assertq.NoRowExplosion())
	require.Error(t, err)
	return err
}

// TestNoRowExplosionWithoutPlan: no plan is a violation that says why, never a silent pass.
func TestNoRowExplosionWithoutPlan(t *testing.T) {
	t.Parallel()
	t.Run("go-sqlmock", func(t *testing.T) {
		t.Parallel()
		err := onSQLMock(t)
		assert.Contains(t, err.Error(), "no plan for a statement, want its plan checked by NoRowExplosion()")
		assert.Contains(t, err.Error(), "go-sqlmock, which has no planner")
	})
	t.Run("a query built by hand", func(t *testing.T) {
		t.Parallel()
		err := assertq.Verify(assertq.Queries{{SQL: "SELECT 1", Fingerprint: "SELECT ?", Kind: assertq.Select}}, assertq.NoRowExplosion())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not recorded by a Recorder that knows its connection")
	})
}

// TestNoRowExplosionWithExpect: the check works in Expect, and each shape is explained once.
func TestNoRowExplosionWithExpect(t *testing.T) {
	t.Parallel()
	ft := faketb.New(nil, t.Name())
	rec := assertq.New(t)
	pool, _ := trapPool(t, rec, nil)
	assertq.Expect(ft, rec, func(ctx context.Context) {
		for range 3 {
			require.NoError(t, runAll(ctx, pool, coauthored))
		}
	}, assertq.NoRowExplosion())
	ft.Finish()
	got := ft.Failures()
	assert.Equal(t, 1, strings.Count(got, "row explosion"), got)
	assert.Contains(t, got, "assertq: 1 of 1 check failed: NoRowExplosion()")
}

// TestAnalyzeOncePerChange: the check analyzes a table once, and again only after it changed much.
func TestAnalyzeOncePerChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ltb := logTB(t)
	logged := func() string { return strings.Join(ltb.Logs(), "\n") }
	rec := assertq.New(ltb)
	pool, _ := trapPool(t, rec, nil)
	analyzed := func(table string) int { return strings.Count(logged(), "ANALYZE public."+table+" (") }

	require.NoError(t, runAll(ctx, pool, oneToMany))
	require.NoError(t, assertq.Verify(rec.Queries(), assertq.NoRowExplosion()))
	require.NoError(t, runAll(ctx, pool, grouped))
	require.NoError(t, assertq.Verify(rec.Queries(), assertq.NoRowExplosion()))
	assert.Equal(t, 1, analyzed("employees"), "two statements on one unchanged table: one ANALYZE\n%s", logged())

	// twenty times the rows: the statistics no longer describe the table
	_, err := pool.Exec(ctx, `INSERT INTO employees SELECT i, 1 + i % 20, 'new ' || i FROM generate_series(10001, 50000) i`)
	require.NoError(t, err)
	require.NoError(t, runAll(ctx, pool, chain))
	require.NoError(t, assertq.Verify(rec.Queries(), assertq.NoRowExplosion()))
	assert.Equal(t, 2, analyzed("employees"), "after 40,000 new rows: analyzed again\n%s", logged())
	assert.Regexp(t, `ANALYZE public\.employees \((40,000 rows changed since its last ANALYZE|grew from \d+ to \d+ pages since its last ANALYZE)\)`, logged())
}

// TestRecorderTx: a transaction from containers' Server.Tx, whose pool no tracer is on, recorded through
// Recorder.Tx: its statements are checked in the transaction, where the tables it created are.
func TestRecorderTx(t *testing.T) {
	t.Parallel()
	const create = `CREATE TABLE parents (id int PRIMARY KEY);
		CREATE TABLE kids (parent_id int NOT NULL);
		CREATE TABLE toys (parent_id int NOT NULL);
		INSERT INTO parents SELECT generate_series(1, 10)`
	const fan = `SELECT p.id, count(k.*), count(t.*) FROM parents p JOIN kids k ON k.parent_id = p.id
		JOIN toys t ON t.parent_id = p.id GROUP BY p.id`
	tests := []struct {
		name      string
		preflight bool
	}{
		{name: "Verify after the statements ran"},
		{name: "Preflight before they run", preflight: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { // not parallel: both create the same tables in the one Tx database
			ctx := context.Background()
			ft := faketb.New(nil, t.Name())
			var opts []assertq.Option
			if tt.preflight {
				opts = append(opts, assertq.Preflight(assertq.NoRowExplosion(assertq.MinRows(1000))))
			}
			rec := assertq.New(ft, opts...)
			tx := rec.Tx(containers.Postgres(t).Tx(t))
			_, err := tx.Exec(ctx, create)
			require.NoError(t, err)
			for _, table := range []string{"kids", "toys"} {
				n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"parent_id"},
					pgx.CopyFromSlice(1000, func(i int) ([]any, error) { return []any{1 + i%10}, nil }))
				require.NoError(t, err)
				require.EqualValues(t, 1000, n)
			}
			var kids int
			require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM kids").Scan(&kids))
			assert.Equal(t, 1000, kids)
			err = runAll(ctx, tx, fan)
			if tt.preflight {
				require.ErrorIs(t, err, assertq.ErrPreflight)
				require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM toys").Scan(&kids), "the transaction stays usable")
				ft.Finish()
				assert.Contains(t, ft.Failures(), "row explosion: a join estimated at 100,000 rows")
				return
			}
			require.NoError(t, err)
			qs := rec.Queries()
			assert.Len(t, qs, 5, "Exec, two CopyFrom, QueryRow, Query")
			err = assertq.Verify(qs, assertq.NoRowExplosion(assertq.MinRows(1000)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "row explosion: a join estimated at 100,000 rows")
			ft.Finish()
		})
	}
}
