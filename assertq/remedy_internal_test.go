package assertq

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/callsite"
	"github.com/dbsuite/dbsuite/internal/fingerprint"
	"github.com/dbsuite/dbsuite/internal/golden"
)

// loop returns n queries of sql from one call site through lib, each with the arguments args(i).
func loop(n int, lib library, sql string, args func(i int) []any) Queries {
	site := Frame{File: "/src/library/catalogue.go", Line: 42, Func: "github.com/acme/library.Catalogue"}
	fp := fingerprint.Of(sql)
	qs := make(Queries, n)
	for i := range qs {
		qs[i] = Query{SQL: sql, Args: args(i), Fingerprint: fp.Text, Kind: kindOf(fp.Kind), Tables: fp.Tables,
			Caller: site, Stack: []Frame{site}, StackKey: 7, Rows: 1, lib: idOf(lib)}
	}
	return qs
}

func byID(i int) []any { return []any{int64(i + 1)} }

// literalLoop returns n queries from one call site through lib whose values are written into the SQL, as bun
// writes them: fmt.Sprintf(format, i+1).
func literalLoop(n int, lib library, format string) Queries {
	var qs Queries
	for i := range n {
		qs = append(qs, loop(1, lib, fmt.Sprintf(format, i+1), func(int) []any { return nil })...)
	}
	return qs
}

// TestRemedyMessages pins, for each library, the message of each finding in its terms
// (testdata/remedy/*.golden; go test -update rewrites them).
func TestRemedyMessages(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	gormInsert := func(i int) []any {
		return []any{created, created, sql.NullTime{}, int64(i%3 + 1), fmt.Sprintf("Book %d", i)}
	}
	tests := []struct {
		name    string
		queries Queries
	}{
		{name: "gorm_lazy_loop", queries: loop(4, callsite.GORM,
			`SELECT * FROM "authors" WHERE "authors"."id" = $1 AND "authors"."deleted_at" IS NULL ORDER BY "authors"."id" LIMIT $2`,
			func(i int) []any { return []any{int64(i + 1), 1} })},
		{name: "gorm_insert_loop", queries: loop(4, callsite.GORM,
			`INSERT INTO "books" ("created_at","updated_at","deleted_at","author_id","title") VALUES ($1,$2,$3,$4,$5) RETURNING "id"`, gormInsert)},
		{name: "gorm_update_loop", queries: loop(3, callsite.GORM,
			`UPDATE "books" SET "title"=$1,"updated_at"=$2 WHERE "books"."deleted_at" IS NULL AND "id" = $3`,
			func(i int) []any { return []any{"New title", created, int64(i + 1)} })},
		{name: "gorm_delete_loop", queries: loop(3, callsite.GORM,
			`UPDATE "books" SET "deleted_at"=$1 WHERE "books"."id" = $2 AND "books"."deleted_at" IS NULL`,
			func(i int) []any { return []any{created, int64(i + 1)} })},
		{name: "gorm_literals", queries: literalLoop(3, callsite.GORM, `SELECT * FROM "authors" WHERE id = %d`)},
		{name: "bun_lazy_loop", queries: literalLoop(3, callsite.Bun, `SELECT "a"."id", "a"."name" FROM "authors" AS "a" WHERE ("a"."id" = %d)`)},
		{name: "bun_insert_loop", queries: literalLoop(3, callsite.Bun,
			`INSERT INTO "books" AS "b" ("id", "author_id", "title") VALUES (DEFAULT, 1, 'Book %d') RETURNING "b"."id"`)},
		{name: "bun_delete_loop", queries: literalLoop(3, callsite.Bun, `DELETE FROM "books" AS "b" WHERE ("b"."id" = %d)`)},
		{name: "gorm_children_loop", queries: loop(3, callsite.GORM,
			`SELECT * FROM "books" WHERE author_id = $1 AND "books"."deleted_at" IS NULL`, byID)},
		{name: "bun_children_loop", queries: literalLoop(3, callsite.Bun, `SELECT "b"."id", "b"."title" FROM "books" AS "b" WHERE ("b"."author_id" = %d)`)},
		{name: "gorm_by_value_loop", queries: loop(3, callsite.GORM,
			`SELECT * FROM "users" WHERE email = $1 AND "users"."deleted_at" IS NULL ORDER BY "users"."id" LIMIT $2`,
			func(i int) []any { return []any{fmt.Sprintf("u%d@example.com", i), 1} })},
		{name: "bun_by_value_loop", queries: literalLoop(3, callsite.Bun, `SELECT "u"."id" FROM "users" AS "u" WHERE ("u"."email" = 'u%d@example.com')`)},
		{name: "sqlx_children_loop", queries: loop(3, callsite.Sqlx, "SELECT id, title FROM books WHERE author_id = $1", byID)},
		{name: "sqlx_lazy_loop", queries: loop(3, callsite.Sqlx, "SELECT id, name FROM authors WHERE id = $1", byID)},
		{name: "sqlx_insert_loop", queries: loop(3, callsite.Sqlx, "INSERT INTO books (author_id, title) VALUES ($1, $2)",
			func(i int) []any { return []any{int64(1), fmt.Sprint("Book ", i)} })},
		{name: "sqlc_lazy_loop", queries: loop(3, callsite.Pgx, "-- name: GetAuthor :one\nSELECT id, name FROM authors\nWHERE id = $1 LIMIT 1\n", byID)},
		{name: "sqlc_insert_loop", queries: loop(3, callsite.DatabaseSQL, "-- name: CreateBook :exec\nINSERT INTO books (author_id, title) VALUES ($1, $2)\n",
			func(i int) []any { return []any{int64(1), fmt.Sprint("Book ", i)} })},
		{name: "pgx_update_loop", queries: loop(3, callsite.Pgx, "UPDATE books SET title = $1 WHERE id = $2",
			func(i int) []any { return []any{"x", int64(i + 1)} })},
		{name: "database_sql_insert_loop", queries: loop(3, callsite.DatabaseSQL, "INSERT INTO books (author_id, title) VALUES ($1, $2)",
			func(i int) []any { return []any{int64(1), fmt.Sprint("Book ", i)} })},
		{name: "database_sql_delete_loop", queries: loop(3, callsite.DatabaseSQL, "DELETE FROM books WHERE id = $1", byID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(tt.queries, NoNPlusOne())
			if err == nil {
				t.Fatal("Verify passed, want a finding")
			}
			golden.Check(t, filepath.Join("testdata", "remedy", tt.name+".golden"), err.Error()+"\n")
		})
	}
}

// TestRemedyFallsBack checks the libraries and findings that keep the generic fix.
func TestRemedyFallsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    situation
		lib  library
	}{
		{name: "unknown library", s: lookupLoop, lib: ""},
		{name: "pgx lookups", s: lookupLoop, lib: callsite.Pgx},
		{name: "database/sql lookups", s: lookupLoop, lib: callsite.DatabaseSQL},
		{name: "pgx inserts", s: insertLoop, lib: callsite.Pgx},
		{name: "duplicate through gorm", s: duplicateRead, lib: callsite.GORM},
		{name: "batch", s: batchedLookups, lib: callsite.Pgx},
	}
	q := &Query{SQL: "SELECT 1 FROM t WHERE id = $1", Tables: []string{"t"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := remedyFor(tt.s, tt.lib, q, false); got != "" {
				t.Errorf("remedyFor = %q, want the generic fix (\"\")", got)
			}
		})
	}
}

// TestRemedyNeverParametersForBun: bun formats values into the SQL by design; no fix may tell a bun user to pass
// them as parameters.
func TestRemedyNeverParametersForBun(t *testing.T) {
	t.Parallel()
	for _, s := range []situation{lookupLoop, batchedLookups, insertLoop, changeLoop, duplicateRead} {
		for _, kind := range []Kind{Select, Insert, Update, Delete} {
			q := &Query{SQL: "SELECT 1", Kind: kind, Tables: []string{"books"}}
			if got := remedyFor(s, callsite.Bun, q, true); strings.Contains(got, "$1") || strings.Contains(got, "parameter") {
				t.Errorf("situation %d, %s: bun fix %q speaks of parameters", s, kind, got)
			}
		}
	}
}

func TestLookupKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sql string
		key       string
		children  bool
	}{
		{name: "by id", sql: "SELECT * FROM authors WHERE id = $1", key: "id"},
		{name: "qualified id", sql: `SELECT * FROM "authors" WHERE "authors"."id" = $1 LIMIT 1`, key: "id"},
		{name: "children", sql: "SELECT * FROM books WHERE author_id = $1", key: "author_id", children: true},
		{name: "bun children", sql: `SELECT "b"."id" FROM "books" AS "b" WHERE ("b"."author_id" = 7)`, key: "author_id", children: true},
		{name: "in list", sql: "SELECT * FROM books WHERE author_id IN ($1, $2)", key: "author_id", children: true},
		{name: "by email", sql: "SELECT * FROM users WHERE email = $1", key: "email"},
		{name: "no where", sql: "SELECT * FROM books LIMIT 1", key: "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, children := lookupKey(&Query{Fingerprint: fingerprint.Of(tt.sql).Text})
			if key != tt.key || children != tt.children {
				t.Errorf("lookupKey = %q, %v; want %q, %v", key, children, tt.key, tt.children)
			}
		})
	}
}

func TestFieldName(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, table, want string }{
		{name: "plural", table: "authors", want: "Author"},
		{name: "ies", table: "categories", want: "Category"},
		{name: "sses", table: "addresses", want: "Address"},
		{name: "snake", table: "book_tags", want: "BookTag"},
		{name: "singular", table: "staff", want: "Staff"},
		{name: "ss", table: "class", want: "Class"},
		{name: "none", table: "the rows", want: "Assoc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fieldName(tt.table); got != tt.want {
				t.Errorf("fieldName(%q) = %q, want %q", tt.table, got, tt.want)
			}
		})
	}
}

func TestShownArgs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		sql  string
		args []any
		want string
	}{
		{name: "one argument as it is", sql: "SELECT 1 FROM t WHERE id = $1", args: []any{7}, want: "(7)"},
		{name: "in order already", sql: "UPDATE t SET name = $1 WHERE id = $2", args: []any{"x", 7}, want: `("x", 7)`},
		{name: "gorm insert: keys first, timestamps and NULL last",
			sql:  `INSERT INTO "books" ("created_at","updated_at","deleted_at","author_id","title") VALUES ($1,$2,$3,$4,$5) RETURNING "id"`,
			args: []any{at, at, sql.NullTime{}, int64(3), "Dune"},
			want: `(author_id=3, title="Dune", created_at=2026-11-26T12:00:00Z, updated_at=2026-11-26T12:00:00Z, deleted_at=NULL)`},
		{name: "gorm update", sql: `UPDATE "books" SET "updated_at"=$1,"title"=$2 WHERE "id" = $3`,
			args: []any{at, "Dune", int64(3)}, want: `(id=3, title="Dune", updated_at=2026-11-26T12:00:00Z)`},
		{name: "expressions between placeholders", sql: "INSERT INTO t (created_at, id, at2, name) VALUES ($1, $2, now(), $3)",
			args: []any{at, 1, "n"}, want: `(id=1, name="n", created_at=2026-11-26T12:00:00Z)`},
		{name: "limit last", sql: `SELECT * FROM "authors" WHERE "authors"."deleted_at" < $1 AND "authors"."id" = $2 LIMIT $3`,
			args: []any{at, 5, 1}, want: `(id=5, limit=1, deleted_at=2026-11-26T12:00:00Z)`},
		{name: "multi-row insert as it is", sql: "INSERT INTO t (created_at, id) VALUES ($1, $2), ($3, $4)",
			args: []any{at, 1, at, 2}, want: "(2026-11-26T12:00:00Z, 1, 2026-11-26T12:00:00Z, 2)"},
		{name: "a column unknown: order kept", sql: "SELECT f($1, $2)", args: []any{at, 5}, want: "(2026-11-26T12:00:00Z, 5)"},
		{name: "valuer shown as its value", sql: "SELECT 1 WHERE x = $1", args: []any{sql.NullString{String: "a", Valid: true}}, want: `("a")`},
		{name: "nil valuer pointer", sql: "SELECT 1 WHERE x = $1", args: []any{(*nilValuer)(nil)}, want: "(<nil>)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := formatArgsWide(shownArgs(&Query{SQL: tt.sql, Args: tt.args})); got != tt.want {
				t.Errorf("shown = %s\nwant    %s", got, tt.want)
			}
		})
	}
}

type nilValuer struct{ s string }

func (v *nilValuer) Value() (any, error) { return v.s, nil } // panics on a nil pointer

// formatArgsWide is formatArgs without the clip, to compare whole lists.
func formatArgsWide(args []any) string {
	s := "("
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		s += formatArg(a)
	}
	return s + ")"
}
