package callsite

import "strings"

// Database libraries a query can go through, as [Stack.Library] names them.
const (
	GORM        = "gorm"         // gorm.io/gorm
	Bun         = "bun"          // github.com/uptrace/bun
	Sqlx        = "sqlx"         // github.com/jmoiron/sqlx
	Pgx         = "pgx"          // github.com/jackc/pgx/v5, pgxpool, pgx's stdlib driver
	DatabaseSQL = "database/sql" // the standard library's database/sql
)

// libraries maps function-name prefixes to the library they belong to.
var libraries = []struct{ prefix, name string }{
	{"gorm.io/", GORM},
	{"github.com/uptrace/bun.", Bun},
	{"github.com/uptrace/bun/", Bun},
	{"github.com/jmoiron/sqlx.", Sqlx},
	{"github.com/jackc/pgx/", Pgx},
	{"database/sql.", DatabaseSQL},
}

// libraryOf returns the database library function fn belongs to, or prev when it belongs to none of them (the
// runtime, dbsuite, a driver such as lib/pq, a package named by [NewResolver]). Called on the library frames
// from the query outwards up to the first user frame, it leaves the library the user's code called: the one
// nearest to it (GORM over database/sql over pgx's stdlib driver is GORM).
func libraryOf(fn, prev string) string {
	for _, l := range libraries {
		if strings.HasPrefix(fn, l.prefix) {
			return l.name
		}
	}
	return prev
}

// generatedSuffixes end the names of files that query-code generators write into the user's packages: sqlc's
// (query.sql gives query.sql.go) and GORM gen's (books.gen.go, which GORM's own logger skips too).
var generatedSuffixes = []string{".sql.go", ".gen.go"}

// generated reports whether file is one sqlc or GORM gen generated. Its methods (Queries.GetAuthor,
// bookDo.First) are not where a query comes from: the call site is the code that called them. sqlc's query name
// travels in its SQL ("-- name: GetAuthor :one"), which the fingerprint shows.
func generated(file string) bool {
	for _, s := range generatedSuffixes {
		if strings.HasSuffix(file, s) {
			return true
		}
	}
	return false
}
