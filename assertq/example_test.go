package assertq_test

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// listStores is the code under test: it lists stores with their product counts, counting store by store.
func listStores(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT id, name FROM store ORDER BY id")
	if err != nil {
		return nil, err
	}
	type store struct {
		id   int
		name string
	}
	var stores []store
	for rows.Next() {
		var s store
		if err := rows.Scan(&s.id, &s.name); err != nil {
			return nil, err
		}
		stores = append(stores, s)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range stores {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM product WHERE store_id = $1", s.id).Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s (%d)", s.name, n))
	}
	return out, nil
}

// exampleDB returns a database/sql handle recorded by rec, on go-sqlmock playing a shop with three stores, so the
// examples run without a server. In a real test the connector comes from pgx stdlib or lib/pq.
func exampleDB(rec *assertq.Recorder) *sql.DB {
	dsn := fmt.Sprintf("example/%d", mockDSNs.Add(1))
	mdb, mock, err := sqlmock.NewWithDSN(dsn, sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		panic(err)
	}
	mock.MatchExpectationsInOrder(false)
	for range 2 {
		mock.ExpectQuery("SELECT id, name FROM store ORDER BY id").WillReturnRows(
			sqlmock.NewRows([]string{"id", "name"}).AddRow(1, "Oslo").AddRow(2, "Bergen").AddRow(3, "Tromsø"))
		for _, n := range []int{12, 7, 3} {
			mock.ExpectQuery("SELECT count(*) FROM product WHERE store_id = $1").WillReturnRows(sqlmock.NewRows([]string{"count"}).AddRow(n))
		}
	}
	return sql.OpenDB(rec.Connector(assertq.ConnectorOf(mdb.Driver(), dsn)))
}

// exampleT is the *testing.T of the examples: it prints what the test would report.
func exampleT() *faketb.TB {
	t := faketb.New(nil, "TestListStores")
	t.OnError = func(msg string) { fmt.Println(msg) }
	return t
}

// Expect runs a block and checks its queries: here the code fetches the product counts store by store.
func Example() {
	t := exampleT()
	rec := assertq.New(t)
	db := exampleDB(rec)

	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(ctx, db)
	}, assertq.AtMost(2), assertq.NoNPlusOne())
	// Output:
	// assertq: 4 queries, want at most 2
	//   1× SELECT id, name FROM store ORDER BY id           example_test.go:16 (assertq_test.listStores)
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)  <- N+1: same statement from one call site, 3 different arguments
	//      args: (1) (2) (3)
	//      called from: example_test.go:79 (assertq_test.Example.func1) ← example_test.go:78 (assertq_test.Example)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
	// assertq: N+1: 3 queries of one statement from one call site with 3 different arguments, want 1 (listed above)
	// assertq: 2 of 2 checks failed: AtMost(2), NoNPlusOne()
}

func ExampleCount() {
	t := exampleT()
	rec := assertq.New(t)
	db := exampleDB(rec)

	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(ctx, db)
	}, assertq.Count(1, assertq.Table("product")))
	// Output:
	// assertq: 3 queries on product, want 1
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)  <- N+1: same statement from one call site, 3 different arguments
	//      args: (1) (2) (3)
	//      called from: example_test.go:98 (assertq_test.ExampleCount.func1) ← example_test.go:97 (assertq_test.ExampleCount)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
	// assertq: 1 of 1 check failed: Count(1, Table("product"))
}

func ExampleAtMost() {
	t := exampleT()
	rec := assertq.New(t)
	db := exampleDB(rec)

	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(ctx, db)
	}, assertq.AtMost(1, assertq.Select))
	// Output:
	// assertq: 4 SELECT queries, want at most 1
	//   1× SELECT id, name FROM store ORDER BY id           example_test.go:16 (assertq_test.listStores)
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)  <- N+1: same statement from one call site, 3 different arguments
	//      args: (1) (2) (3)
	//      called from: example_test.go:115 (assertq_test.ExampleAtMost.func1) ← example_test.go:114 (assertq_test.ExampleAtMost)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
	// assertq: 1 of 1 check failed: AtMost(1, Select)
}

func ExampleNoQueries() {
	t := exampleT()
	rec := assertq.New(t)
	db := exampleDB(rec)

	// A query the zone needs on purpose runs with a context from Allow:
	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(assertq.Allow(ctx), db)
	}, assertq.NoQueries())

	// Rendering must not query, but this template helper does:
	render := func(ctx context.Context) {
		var n int
		_ = db.QueryRowContext(ctx, "SELECT count(*) FROM product WHERE store_id = $1", 2).Scan(&n)
	}
	assertq.Expect(t, rec, render, assertq.NoQueries())
	// Output:
	// assertq: 1 query in a NoQueries zone, want none
	//   1× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:140 (assertq_test.ExampleNoQueries.func2)
	// fix: load what this code needs before the zone, or run a query that must happen here with the context from assertq.Allow(ctx)
	// assertq: 1 of 1 check failed: NoQueries()
}

func ExampleNoNPlusOne() {
	t := exampleT()
	rec := assertq.New(t)
	db := exampleDB(rec)

	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(ctx, db)
	}, assertq.NoNPlusOne())
	// Output:
	// assertq: N+1: 3 queries of one statement from one call site with 3 different arguments, want 1
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)
	//      args: (1) (2) (3)
	//      called from: example_test.go:156 (assertq_test.ExampleNoNPlusOne.func1) ← example_test.go:155 (assertq_test.ExampleNoNPlusOne)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
	// assertq: 1 of 1 check failed: NoNPlusOne()
}

// Verify is the data-first form: Queries as data, and an error joining every violation.
func ExampleVerify() {
	rec := assertq.New(exampleT())
	db := exampleDB(rec)
	_, _ = listStores(context.Background(), db)

	qs := rec.Queries()
	fmt.Println(len(qs), "queries;", qs[1].Fingerprint, "from", qs[1].Caller)
	fmt.Println(assertq.Verify(qs, assertq.Count(4), assertq.Count(1, assertq.Table("store")), assertq.NoNPlusOne()))
	// Output:
	// 4 queries; SELECT count(*) FROM product WHERE store_id = ? from example_test.go:38 (assertq_test.listStores)
	// assertq: N+1: 3 queries of one statement from one call site with 3 different arguments, want 1
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)
	//      args: (1) (2) (3)
	//      called from: example_test.go:171 (assertq_test.ExampleVerify)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
}

// Strict makes every N+1 a Recorder sees fail the test when it ends, without an Expect.
func ExampleStrict() {
	t := exampleT()
	rec := assertq.New(t, assertq.Strict())
	db := exampleDB(rec)
	_, _ = listStores(context.Background(), db)

	t.Finish() // the test ends
	// Output:
	// assertq: N+1: 3 queries of one statement from one call site with 3 different arguments, want 1
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)
	//      args: (1) (2) (3)
	//      called from: example_test.go:190 (assertq_test.ExampleStrict)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
	// assertq: 1 of 1 check failed: NoNPlusOne() (assertq.Strict)
}

// Ignore leaves queries out of the other checks of the call: here the budget is for the store listing alone.
func ExampleIgnore() {
	t := exampleT()
	rec := assertq.New(t)
	db := exampleDB(rec)

	// Passes: leaving out the product counts, one query remains.
	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(ctx, db)
	}, assertq.Count(1), assertq.Ignore(assertq.Table("product")))

	// Fails: leaving out the store listing (by its call site), the three counts remain.
	assertq.Expect(t, rec, func(ctx context.Context) {
		_, _ = listStores(ctx, db)
	}, assertq.Count(1), assertq.Ignore(assertq.CalledFrom("example_test.go:16")))
	// Output:
	// assertq: 3 queries, want 1
	//   3× SELECT count(*) FROM product WHERE store_id = ?  example_test.go:38 (assertq_test.listStores)  <- N+1: same statement from one call site, 3 different arguments
	//      args: (1) (2) (3)
	//      called from: example_test.go:215 (assertq_test.ExampleIgnore.func2) ← example_test.go:214 (assertq_test.ExampleIgnore)
	// fix: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY) instead of one query per row
	// assertq: 1 of 1 check failed: Count(1)
}
