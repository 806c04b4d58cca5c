package assertq_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/fingerprint"
)

// Call sites of an imaginary shop service, for messages that do not depend on this file's line numbers.
var (
	listStoresSite = assertq.Frame{File: "/src/shop/store.go", Line: 31, Func: "github.com/acme/shop.ListStores"}
	countLoop      = assertq.Frame{File: "/src/shop/store.go", Line: 38, Func: "github.com/acme/shop.ListStores"}
	handler        = assertq.Frame{File: "/src/shop/api/stores.go", Line: 12, Func: "github.com/acme/shop/api.Stores"}
	repoGet        = assertq.Frame{File: "/src/shop/repo.go", Line: 20, Func: "github.com/acme/shop.(*Repo).Get"}
	callerA        = assertq.Frame{File: "/src/shop/orders.go", Line: 40, Func: "github.com/acme/shop.Orders"}
	callerB        = assertq.Frame{File: "/src/shop/orders.go", Line: 55, Func: "github.com/acme/shop.Orders"}
	importOrders   = assertq.Frame{File: "/src/shop/import.go", Line: 17, Func: "github.com/acme/shop.Import"}
)

// mk builds a recorded query the way a Recorder would: the stack is site followed by outer frames, and the stack
// key is derived from the frames.
func mk(sql string, stack []assertq.Frame, args ...any) assertq.Query {
	fp := fingerprint.Of(sql)
	key := uint64(1)
	for _, f := range stack {
		for _, c := range f.String() {
			key = key*31 + uint64(c)
		}
	}
	return assertq.Query{
		SQL: sql, Args: args, Fingerprint: fp.Text, Kind: assertq.Kind(fp.Kind), Tables: fp.Tables,
		Caller: stack[0], Stack: stack, StackKey: key, Rows: 1,
	}
}

func stack(frames ...assertq.Frame) []assertq.Frame { return append(frames, handler) }

// repeat returns n queries of sql from one stack, with arguments 1..n (or all 7 when same).
func repeat(n int, sql string, st []assertq.Frame, same bool) assertq.Queries {
	var qs assertq.Queries
	for i := 1; i <= n; i++ {
		arg := i
		if same {
			arg = 7
		}
		qs = append(qs, mk(sql, st, arg))
	}
	return qs
}

func inBatch(qs assertq.Queries) assertq.Queries {
	for i := range qs {
		qs[i].Batch = 42
	}
	return qs
}

func concat(parts ...assertq.Queries) assertq.Queries {
	var out assertq.Queries
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestMessages pins every kind of failure message in testdata/messages/*.golden (go test -update rewrites them).
func TestMessages(t *testing.T) {
	t.Parallel()
	stores := mk("SELECT id, name FROM shop_store", stack(listStoresSite))
	counts := repeat(50, "SELECT count(*) FROM shop_product WHERE store_id = $1", stack(countLoop), false)
	many := assertq.Queries{}
	for i := range 45 {
		many = append(many, mk(fmt.Sprintf("SELECT c%d FROM wide", i), stack(listStoresSite)))
	}
	long := mk("SELECT "+strings.Repeat("a_rather_long_column_name, ", 8)+"id FROM wide WHERE id = $1", stack(repoGet, callerA), strings.Repeat("x", 80))
	tests := []struct {
		name    string
		queries assertq.Queries
		checks  []assertq.Check
	}{
		{name: "count_over", checks: []assertq.Check{assertq.Count(2)},
			queries: assertq.Queries{stores, mk("SELECT now()", stack(listStoresSite)), mk("UPDATE shop_store SET name = $1 WHERE id = $2", stack(countLoop), "x", 1)}},
		{name: "count_under", checks: []assertq.Check{assertq.Count(3)}, queries: assertq.Queries{stores}},
		{name: "count_filtered", checks: []assertq.Check{assertq.Count(1, assertq.Insert, assertq.Table("orders"))},
			queries: assertq.Queries{mk("INSERT INTO orders (id) VALUES ($1)", stack(callerA), 1), mk("INSERT INTO orders (id) VALUES ($1)", stack(callerB), 2), stores}},
		{name: "atmost_with_nplusone", checks: []assertq.Check{assertq.AtMost(2)}, queries: concat(assertq.Queries{stores}, counts)},
		{name: "atmost_writes", checks: []assertq.Check{assertq.AtMost(0, assertq.Insert, assertq.Update, assertq.Delete)},
			queries: concat(assertq.Queries{stores}, repeat(1, "DELETE FROM t WHERE id = $1", stack(countLoop), false), repeat(1, "UPDATE t SET a = 1", stack(countLoop), false))},
		{name: "atmost_filtered", checks: []assertq.Check{assertq.AtMost(1, assertq.Select, assertq.Matching(`count`))},
			queries: concat(assertq.Queries{stores}, counts[:3])},
		{name: "atmost_transaction_left_out", checks: []assertq.Check{assertq.AtMost(1)},
			queries: assertq.Queries{mk("BEGIN", stack(listStoresSite)), stores, mk("SELECT now()", stack(countLoop)), mk("COMMIT", stack(listStoresSite))}},
		{name: "noqueries", checks: []assertq.Check{assertq.NoQueries()}, queries: concat(assertq.Queries{stores}, counts[:2])},
		{name: "nplusone", checks: []assertq.Check{assertq.NoNPlusOne()}, queries: concat(assertq.Queries{stores}, counts)},
		{name: "nplusone_in_batch", checks: []assertq.Check{assertq.NoNPlusOne()},
			queries: inBatch(repeat(4, "SELECT name FROM shop_store WHERE id = $1", stack(listStoresSite), false))},
		{name: "nplusone_literals", checks: []assertq.Check{assertq.NoNPlusOne()},
			queries: assertq.Queries{mk("SELECT name FROM shop_store WHERE id = 1", stack(countLoop)), mk("SELECT name FROM shop_store WHERE id = 2", stack(countLoop))}},
		{name: "row_by_row_writes", checks: []assertq.Check{assertq.NoNPlusOne()},
			queries: repeat(10, "INSERT INTO orders (id, total) VALUES ($1, 0)", stack(importOrders), false)},
		{name: "row_by_row_deletes", checks: []assertq.Check{assertq.NoNPlusOne()},
			queries: repeat(3, "DELETE FROM orders WHERE id = $1", stack(importOrders), false)},
		{name: "duplicate", checks: []assertq.Check{assertq.NoNPlusOne()},
			queries: repeat(3, "SELECT name FROM shop_store WHERE id = $1", stack(repoGet, callerA), true)},
		{name: "same_site_two_callers", checks: []assertq.Check{assertq.AtMost(1)},
			queries: concat(repeat(1, "SELECT name FROM shop_store WHERE id = $1", stack(repoGet, callerA), false),
				repeat(3, "SELECT name FROM shop_store WHERE id = $1", stack(repoGet, callerB), false))},
		{name: "two_checks_joined", checks: []assertq.Check{assertq.AtMost(2), assertq.NoNPlusOne()}, queries: concat(assertq.Queries{stores}, counts)},
		{name: "ignore", checks: []assertq.Check{assertq.AtMost(0), assertq.Ignore(assertq.Table("shop_product"))}, queries: concat(assertq.Queries{stores}, counts)},
		{name: "many_statements", checks: []assertq.Check{assertq.AtMost(5)}, queries: many},
		{name: "long_text_clipped", checks: []assertq.Check{assertq.NoNPlusOne()}, queries: assertq.Queries{long, long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := assertq.Verify(tt.queries, tt.checks...)
			if err == nil {
				t.Fatal("Verify passed, want a failure")
			}
			checkGolden(t, "messages/"+tt.name, err.Error()+"\n")
		})
	}
}

func TestVerifyPasses(t *testing.T) {
	t.Parallel()
	stores := mk("SELECT id, name FROM shop_store", stack(listStoresSite))
	lookups := repeat(3, "SELECT name FROM shop_store WHERE id = $1", stack(countLoop), false)
	allowed := repeat(3, "SELECT name FROM shop_store WHERE id = $1", stack(countLoop), false)
	for i := range allowed {
		allowed[i].Allowed = true
	}
	tests := []struct {
		name    string
		queries assertq.Queries
		checks  []assertq.Check
	}{
		{name: "no checks", queries: lookups},
		{name: "count", queries: lookups, checks: []assertq.Check{assertq.Count(3)}},
		{name: "at most, equal", queries: lookups, checks: []assertq.Check{assertq.AtMost(3)}},
		{name: "at most, under", queries: lookups, checks: []assertq.Check{assertq.AtMost(9)}},
		{name: "count by kind", queries: concat(lookups, repeat(1, "DELETE FROM t", stack(listStoresSite), false)),
			checks: []assertq.Check{assertq.Count(1, assertq.Delete), assertq.Count(3, assertq.Select)}},
		{name: "count by table", queries: assertq.Queries{stores, mk("SELECT 1 FROM public.other", stack(listStoresSite))},
			checks: []assertq.Check{assertq.Count(1, assertq.Table("shop_store")), assertq.Count(1, assertq.Table("other"))}},
		{name: "transaction control not counted", queries: assertq.Queries{mk("BEGIN", stack(listStoresSite)), stores, mk("COMMIT", stack(listStoresSite))},
			checks: []assertq.Check{assertq.Count(1), assertq.Count(2, assertq.Transaction)}},
		{name: "called from", queries: concat(assertq.Queries{stores}, lookups),
			checks: []assertq.Check{assertq.Count(1, assertq.CalledFrom("store.go:31")), assertq.Count(4, assertq.CalledFrom("shop.ListStores"))}},
		{name: "kinds are alternatives", queries: concat(lookups, repeat(2, "DELETE FROM t WHERE id = $1", stack(listStoresSite), false),
			repeat(1, "UPDATE t SET a = 1", stack(listStoresSite), false)),
			checks: []assertq.Check{assertq.Count(3, assertq.Update, assertq.Delete), assertq.Count(2, assertq.Delete, assertq.Table("t"))}},
		{name: "where", queries: lookups,
			checks: []assertq.Check{assertq.Count(1, assertq.Where("with argument 2", func(q *assertq.Query) bool { return q.Args[0] == 2 }))}},
		{name: "no queries", checks: []assertq.Check{assertq.NoQueries(), assertq.NoNPlusOne(), assertq.Count(0)}},
		{name: "allowed queries exempt", queries: allowed, checks: []assertq.Check{assertq.NoQueries(), assertq.NoNPlusOne()}},
		{name: "ignored N+1", queries: lookups, checks: []assertq.Check{assertq.NoNPlusOne(), assertq.Ignore(assertq.Table("shop_store"))}},
		{name: "no N+1", queries: assertq.Queries{stores, lookups[0]}, checks: []assertq.Check{assertq.NoNPlusOne()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := assertq.Verify(tt.queries, tt.checks...); err != nil {
				t.Errorf("Verify failed:\n%v", err)
			}
		})
	}
}

func TestQueriesString(t *testing.T) {
	t.Parallel()
	qs := concat(assertq.Queries{mk("SELECT id, name FROM shop_store", stack(listStoresSite))},
		repeat(3, "SELECT count(*) FROM shop_product WHERE store_id = $1", stack(countLoop), false))
	checkGolden(t, "messages/queries_string", qs.String()+"\n")
}

// TestFindingsAsData: what Findings, Finding.String and Queries.Filter return.
func TestFindingsAsData(t *testing.T) {
	t.Parallel()
	qs := concat(assertq.Queries{mk("SELECT id, name FROM shop_store", stack(listStoresSite))},
		repeat(3, "SELECT count(*) FROM shop_product WHERE store_id = $1", stack(countLoop), false),
		repeat(2, "INSERT INTO orders (id, total) VALUES ($1, 0)", stack(importOrders), true),
		repeat(2, "SELECT name FROM shop_store WHERE id = $1", stack(repoGet, callerA), true))
	var got []string
	for _, f := range qs.Findings() {
		got = append(got, f.String()+" ["+f.Kind.String()+"]")
	}
	want := []string{
		"N+1: 3× SELECT count(*) FROM shop_product WHERE store_id = ? at store.go:38 (shop.ListStores) [N+1]",
		"row-by-row writes: 2× INSERT INTO orders (id, total) VALUES (?) at import.go:17 (shop.Import) [row-by-row writes]",
		"duplicate query: 2× SELECT name FROM shop_store WHERE id = ? at repo.go:20 (shop.(*Repo).Get) [duplicate query]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tests := []struct {
		name    string
		filters []assertq.Filter
		want    int
	}{
		{name: "a kind", filters: []assertq.Filter{assertq.Insert}, want: 2},
		{name: "kinds are alternatives", filters: []assertq.Filter{assertq.Insert, assertq.Select}, want: 8},
		{name: "kind and table", filters: []assertq.Filter{assertq.Select, assertq.Table("shop_store")}, want: 3},
		{name: "called from", filters: []assertq.Filter{assertq.CalledFrom("repo.go:20")}, want: 2},
		{name: "none", want: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := len(qs.Filter(tt.filters...)); got != tt.want {
				t.Errorf("Filter selected %d, want %d", got, tt.want)
			}
		})
	}
}
