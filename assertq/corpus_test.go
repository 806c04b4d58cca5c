package assertq_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
)

// The trap corpus: code written the way Go teams write it, each case with its verdict, run on real PostgreSQL
// through pgx and through database/sql (pgx stdlib). A finding's message is pinned in testdata/corpus/<case>.golden
// and must read the same through both drivers. The non-findings are the batched and set-based versions, and every
// non-finding the package doc lists: a regression in either direction fails a case.

// conn is what a case runs against: the same calls through pgx or database/sql. Its methods are library code for
// the Recorder (WithLibraryCode), so call sites point at the case.
type conn interface {
	query(ctx context.Context, sql string, args ...any) int // rows read
	exec(ctx context.Context, sql string, args ...any) int64
	prepare(ctx context.Context, sql string) func(ctx context.Context, args ...any) int
	pgx() *pgxpool.Pool // nil through database/sql
}

type pgxConn struct {
	t    testing.TB
	pool *pgxpool.Pool
}

func (c pgxConn) query(ctx context.Context, sql string, args ...any) int {
	rows, err := c.pool.Query(ctx, sql, args...)
	if err != nil {
		c.t.Fatalf("query %q: %v", sql, err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		c.t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

func (c pgxConn) exec(ctx context.Context, sql string, args ...any) int64 {
	tag, err := c.pool.Exec(ctx, sql, args...)
	if err != nil {
		c.t.Fatalf("exec %q: %v", sql, err)
	}
	return tag.RowsAffected()
}

func (c pgxConn) prepare(ctx context.Context, sql string) func(context.Context, ...any) int {
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(pc.Release)
	if _, err := pc.Conn().Prepare(ctx, "corpus_stmt", sql); err != nil {
		c.t.Fatal(err)
	}
	return func(ctx context.Context, args ...any) int {
		rows, err := pc.Query(ctx, "corpus_stmt", args...)
		if err != nil {
			c.t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		return n
	}
}

func (c pgxConn) pgx() *pgxpool.Pool { return c.pool }

type sqlConn struct {
	t  testing.TB
	db *sql.DB
}

func (c sqlConn) query(ctx context.Context, q string, args ...any) int {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		c.t.Fatalf("query %q: %v", q, err)
	}
	return count(c.t, rows)
}

func count(t testing.TB, rows *sql.Rows) int {
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

func (c sqlConn) exec(ctx context.Context, q string, args ...any) int64 {
	res, err := c.db.ExecContext(ctx, q, args...)
	if err != nil {
		c.t.Fatalf("exec %q: %v", q, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c sqlConn) prepare(ctx context.Context, q string) func(context.Context, ...any) int {
	stmt, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { stmt.Close() })
	return func(ctx context.Context, args ...any) int {
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			c.t.Fatal(err)
		}
		return count(c.t, rows)
	}
}

func (c sqlConn) pgx() *pgxpool.Pool { return nil }

// The application code of the corpus: each function is one way to write a data access, right or wrong.

var storeIDs = []int{1, 2, 3, 4, 5}

func lazyLookups(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		c.query(ctx, "SELECT name FROM store WHERE id = $1", id)
	}
}

// lazyChildren loads each store's products: several rows per query, but still one parent per query.
func lazyChildren(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		c.query(ctx, "SELECT id, name FROM product WHERE store_id = $1 ORDER BY id", id)
	}
}

func firstProductEach(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		c.query(ctx, "SELECT id FROM product WHERE store_id = $1 ORDER BY id LIMIT 1", id)
	}
}

// pagesOfOne pages through products one row per page: a keyset loop that is an N+1 all the same.
func pagesOfOne(ctx context.Context, c conn) {
	for last := 0; ; last++ {
		if c.query(ctx, "SELECT id FROM product WHERE id > $1 ORDER BY id LIMIT 1", last) == 0 {
			return
		}
	}
}

func anyOfOne(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		c.query(ctx, "SELECT name FROM store WHERE id = ANY($1)", []int{id})
	}
}

func inListOfOne(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		c.query(ctx, "SELECT name FROM store WHERE id IN ($1)", id)
	}
}

func literalsInSQL(ctx context.Context, c conn) {
	for _, id := range storeIDs[:3] {
		c.query(ctx, fmt.Sprintf("SELECT name FROM store WHERE id = %d", id))
	}
}

func insertEach(ctx context.Context, c conn) {
	for i := range 4 {
		c.exec(ctx, "INSERT INTO note (body) VALUES ($1)", fmt.Sprint("note ", i))
	}
}

func identicalInserts(ctx context.Context, c conn) {
	for range 6 {
		c.exec(ctx, "INSERT INTO note (body) VALUES ($1)", "same")
	}
}

func updateEach(ctx context.Context, c conn) {
	for _, id := range storeIDs[:4] {
		c.exec(ctx, "UPDATE store SET name = name WHERE id = $1", id)
	}
}

func sameLookupAgain(ctx context.Context, c conn) {
	for range 3 {
		c.query(ctx, "SELECT name FROM store WHERE id = $1", 1)
	}
}

// storeName is a repository method; the loop is in its caller.
func storeName(ctx context.Context, c conn, id int) {
	c.query(ctx, "SELECT name FROM store WHERE id = $1", id)
}

// walkStores looks each store up on its way down a chain, one level per call: a recursive N+1 (breadcrumbs, a
// comment's ancestors). Each level's stack holds walkStores once more; they are one call site all the same.
func walkStores(ctx context.Context, c conn, ids []int) {
	if len(ids) == 0 {
		return
	}
	c.query(ctx, "SELECT name FROM store WHERE id = $1", ids[0])
	walkStores(ctx, c, ids[1:])
}

func recursiveWalk(ctx context.Context, c conn) { walkStores(ctx, c, storeIDs) }

func repositoryInLoop(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		storeName(ctx, c, id)
	}
}

func fanOut(ctx context.Context, c conn) {
	var wg sync.WaitGroup
	for _, id := range storeIDs {
		wg.Go(func() { c.query(ctx, "SELECT name FROM store WHERE id = $1", id) })
	}
	wg.Wait()
}

func preparedInLoop(ctx context.Context, c conn) {
	name := c.prepare(ctx, "SELECT name FROM store WHERE id = $1")
	for _, id := range storeIDs {
		name(ctx, id)
	}
}

func lookupsInABatch(ctx context.Context, c conn) {
	b := &pgx.Batch{}
	for _, id := range storeIDs {
		b.Queue("SELECT name FROM store WHERE id = $1", id)
	}
	if err := c.pgx().SendBatch(ctx, b).Close(); err != nil {
		panic(err)
	}
}

// recentPerStore reads the two newest products of each store: a LIMIT and a range, but one page per parent.
func recentPerStore(ctx context.Context, c conn) {
	for _, id := range storeIDs {
		c.query(ctx, "SELECT id FROM product WHERE store_id = $1 AND id > $2 ORDER BY id DESC LIMIT 2", id, 0)
	}
}

func fetchFirstPages(ctx context.Context, c conn) {
	for last := 0; ; last += 5 {
		if c.query(ctx, "SELECT id, name FROM product WHERE id > $1 ORDER BY id FETCH FIRST 5 ROWS ONLY", last) == 0 {
			return
		}
	}
}

// cursorPages reads products through a server-side cursor, five at a time.
func cursorPages(ctx context.Context, c conn) {
	tx, err := c.pgx().Begin(ctx)
	if err != nil {
		panic(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "DECLARE products CURSOR FOR SELECT id FROM product ORDER BY id"); err != nil {
		panic(err)
	}
	for {
		rows, err := tx.Query(ctx, "FETCH 5 FROM products")
		if err != nil {
			panic(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if n == 0 {
			return
		}
	}
}

func keysetPages(ctx context.Context, c conn) {
	for last := 0; ; last += 5 {
		if c.query(ctx, "SELECT id, name FROM product WHERE id > $1 ORDER BY id LIMIT 5", last) == 0 {
			return
		}
	}
}

func offsetPages(ctx context.Context, c conn) {
	for offset := 0; ; offset += 6 {
		if c.query(ctx, "SELECT id, name FROM product ORDER BY id LIMIT $1 OFFSET $2", 6, offset) < 6 {
			return
		}
	}
}

func chunkedAny(ctx context.Context, c conn) {
	for _, chunk := range [][]int{{1, 2}, {3, 4}, {5}} {
		c.query(ctx, "SELECT id, name FROM store WHERE id = ANY($1)", chunk)
	}
}

func chunkedIn(ctx context.Context, c conn) {
	for _, chunk := range [][]any{{1, 2}, {3, 4}, {5}} {
		marks := make([]string, len(chunk))
		for i := range chunk {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		c.query(ctx, "SELECT id, name FROM store WHERE id IN ("+strings.Join(marks, ", ")+")", chunk...)
	}
}

func multiRowInserts(ctx context.Context, c conn) {
	for i := range 3 {
		c.exec(ctx, "INSERT INTO note (body, n) VALUES ($1, $2), ($3, $4), ($5, $6)", "a", i, "b", i, "c", i)
	}
}

func unnestInserts(ctx context.Context, c conn) {
	for i := range 3 {
		c.exec(ctx, "INSERT INTO note (body, n) SELECT * FROM unnest($1::text[], $2::int[])", []string{"a", "b"}, []int{i, i})
	}
}

// updateEachStore writes a set per execution (every product of one store).
func updateEachStore(ctx context.Context, c conn) {
	for _, id := range storeIDs[:3] {
		c.exec(ctx, "UPDATE product SET name = name WHERE store_id = $1", id)
	}
}

func copyChunks(ctx context.Context, c conn) {
	for i := range 3 {
		if _, err := c.pgx().CopyFrom(ctx, pgx.Identifier{"note"}, []string{"body", "n"},
			pgx.CopyFromRows([][]any{{"a", i}, {"b", i}})); err != nil {
			panic(err)
		}
	}
}

func twoCallSites(ctx context.Context, c conn) {
	c.query(ctx, "SELECT name FROM store WHERE id = $1", 1)
	c.query(ctx, "SELECT name FROM store WHERE id = $1", 2)
}

func twoStatementsOnce(ctx context.Context, c conn) {
	for _, q := range []string{"SELECT count(*) FROM store", "SELECT count(*) FROM product"} {
		c.query(ctx, q)
	}
}

func oneIteration(ctx context.Context, c conn) {
	for _, id := range storeIDs[:1] {
		c.query(ctx, "SELECT name FROM store WHERE id = $1", id)
	}
}

func writesInABatch(ctx context.Context, c conn) {
	b := &pgx.Batch{}
	for _, id := range storeIDs {
		b.Queue("UPDATE store SET name = name WHERE id = $1", id)
	}
	if err := c.pgx().SendBatch(ctx, b).Close(); err != nil {
		panic(err)
	}
}

func oneJoin(ctx context.Context, c conn) {
	c.query(ctx, "SELECT s.name, count(p.id) FROM store s LEFT JOIN product p ON p.store_id = s.id GROUP BY s.name")
}

// introspect reads the catalog table by table, as an ORM's AutoMigrate does.
func introspect(ctx context.Context, c conn) {
	for _, table := range []string{"store", "product", "note"} {
		c.query(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA() AND table_name = $1 AND table_type = $2", table, "BASE TABLE")
		c.query(ctx, "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = $1 AND a.attnum > 0", table)
	}
}

var argsLine = regexp.MustCompile(`args: .*`)

const noteTable = `CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL, n int)`

func TestCorpus(t *testing.T) {
	t.Parallel()
	db := shop(t)
	if _, err := db.Pool(t).Exec(t.Context(), noteTable); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		run     func(ctx context.Context, c conn)
		want    assertq.FindingKind // 0: no finding
		queries int                 // how many queries the case runs
		pgxOnly bool
		racy    bool // its queries run in no set order: their arguments are left out of the golden
	}{
		// Findings: one row per execution, in a loop.
		{name: "lazy_lookups", run: lazyLookups, want: assertq.NPlusOne, queries: 5},
		{name: "lazy_children", run: lazyChildren, want: assertq.NPlusOne, queries: 5},
		{name: "recursive_walk", run: recursiveWalk, want: assertq.NPlusOne, queries: 5},
		{name: "limit_1_per_parent", run: firstProductEach, want: assertq.NPlusOne, queries: 5},
		{name: "pages_of_one_row", run: pagesOfOne, want: assertq.NPlusOne, queries: 21},
		{name: "any_of_one_element", run: anyOfOne, want: assertq.NPlusOne, queries: 5},
		{name: "in_list_of_one", run: inListOfOne, want: assertq.NPlusOne, queries: 5},
		{name: "literals_in_sql", run: literalsInSQL, want: assertq.NPlusOne, queries: 3},
		{name: "insert_each", run: insertEach, want: assertq.RowByRow, queries: 4},
		{name: "identical_inserts", run: identicalInserts, want: assertq.RowByRow, queries: 6},
		{name: "update_each", run: updateEach, want: assertq.RowByRow, queries: 4},
		{name: "same_lookup_again", run: sameLookupAgain, want: assertq.Duplicate, queries: 3},
		{name: "repository_in_loop", run: repositoryInLoop, want: assertq.NPlusOne, queries: 5},
		{name: "goroutine_fan_out", run: fanOut, want: assertq.NPlusOne, queries: 5, racy: true},
		{name: "prepared_in_loop", run: preparedInLoop, want: assertq.NPlusOne, queries: 5},
		{name: "lookups_in_a_batch", run: lookupsInABatch, want: assertq.NPlusOne, queries: 5, pgxOnly: true},
		{name: "a_page_per_parent", run: recentPerStore, want: assertq.NPlusOne, queries: 5},
		// Non-findings: batched and set-based loops, and what the package doc lists.
		{name: "keyset_pages", run: keysetPages, queries: 5},
		{name: "offset_pages", run: offsetPages, queries: 4},
		{name: "fetch_first_pages", run: fetchFirstPages, queries: 5},
		{name: "cursor_pages", run: cursorPages, queries: 6, pgxOnly: true},
		{name: "chunked_any", run: chunkedAny, queries: 3},
		{name: "chunked_in", run: chunkedIn, queries: 3},
		{name: "multi_row_inserts", run: multiRowInserts, queries: 3},
		{name: "unnest_inserts", run: unnestInserts, queries: 3},
		{name: "update_a_set_each", run: updateEachStore, queries: 3},
		{name: "copy_chunks", run: copyChunks, queries: 3, pgxOnly: true},
		{name: "two_call_sites", run: twoCallSites, queries: 2},
		{name: "two_statements_once", run: twoStatementsOnce, queries: 2},
		{name: "one_iteration", run: oneIteration, queries: 1},
		{name: "writes_in_a_batch", run: writesInABatch, queries: 5, pgxOnly: true},
		{name: "one_join", run: oneJoin, queries: 1},
		{name: "catalog_reads", run: introspect, queries: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var messages []string
			for _, driver := range []string{"pgx", "database/sql"} {
				if driver != "pgx" && tt.pgxOnly {
					continue
				}
				rec := assertq.New(t, assertq.WithLibraryCode("github.com/dbsuite/dbsuite/assertq_test.pgxConn",
					"github.com/dbsuite/dbsuite/assertq_test.sqlConn", "github.com/dbsuite/dbsuite/assertq_test.count"))
				var c conn = pgxConn{t, tracedPool(t, db, rec.Tracer())}
				if driver != "pgx" {
					c = sqlConn{t, recordedSQL(t, rec, db)}
				}
				qs := assertq.Expect(t, rec, func(ctx context.Context) { tt.run(ctx, c) }, assertq.Count(tt.queries))
				findings := qs.Findings()
				err := assertq.Verify(qs, assertq.NoNPlusOne())
				switch {
				case tt.want == 0 && len(findings) > 0:
					t.Errorf("%s: want no finding, got\n%v", driver, err)
				case tt.want != 0 && (len(findings) != 1 || findings[0].Kind != tt.want):
					t.Errorf("%s: want one %s finding, got %d:\n%s", driver, tt.want, len(findings), qs)
				case tt.want != 0:
					msg := stableLines(err.Error()) + "\n"
					if tt.racy {
						msg = argsLine.ReplaceAllString(msg, "args: (in no set order)")
					}
					messages = append(messages, msg)
				}
			}
			if tt.want == 0 || t.Failed() {
				return
			}
			// The fix speaks the library the code called (remedy.go), so each driver's message has its own
			// golden; everything above the fix must read the same on both.
			checkGolden(t, "corpus/"+tt.name, messages[0])
			for _, m := range messages[1:] {
				checkGolden(t, "corpus/"+tt.name+".sql", m)
				if withoutFixes(m) != withoutFixes(messages[0]) {
					t.Errorf("database/sql reads differently from pgx:\n%s\n---\n%s", m, messages[0])
				}
			}
		})
	}
}

// TestCatalogReadsCounted: catalog reads are never an N+1, but budgets count them and Queries lists them.
func TestCatalogReadsCounted(t *testing.T) {
	t.Parallel()
	db := shop(t)
	rec := assertq.New(t, assertq.Strict())
	c := pgxConn{t, tracedPool(t, db, rec.Tracer())}
	qs := assertq.Expect(t, rec, func(ctx context.Context) { introspect(ctx, c) },
		assertq.NoNPlusOne(), assertq.Count(6), assertq.Count(3, assertq.Table("information_schema.tables")))
	if len(rec.Queries()) != len(qs) || len(qs) != 6 {
		t.Errorf("Queries() has %d, the block %d, want 6 each", len(rec.Queries()), len(qs))
	}
	if err := assertq.Verify(qs, assertq.AtMost(5)); err == nil || !strings.Contains(err.Error(), "information_schema.tables") {
		t.Errorf("a budget does not list catalog reads:\n%v", err)
	}
}

// withoutFixes drops a message's fix lines.
func withoutFixes(msg string) string {
	var keep []string
	for _, line := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(line, "fix: ") && !strings.HasPrefix(line, "     ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
