package sqlxlib

import (
	"context"
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/examples/orm"
	"github.com/dbsuite/dbsuite/examples/orm/internal/ormtest"
)

func open(t *testing.T, rec *assertq.Recorder) *sqlx.DB {
	t.Helper()
	return Open(ormtest.SQL(t, ormtest.Catalogue(t), rec))
}

func newBooks(n int, author int64) []Book {
	books := make([]Book, n)
	for i := range books {
		books[i] = Book{AuthorID: author, Title: fmt.Sprintf("Imported %d", i)}
	}
	return books
}

// TestLoopsAreCaught: the lazy page and the row-by-row import are caught with their lines and sqlx's fixes.
func TestLoopsAreCaught(t *testing.T) {
	tests := []struct {
		name string
		run  func(ctx context.Context, db *sqlx.DB) error
		want []string
	}{
		{name: "lazy page", run: func(ctx context.Context, db *sqlx.DB) error { _, err := CatalogueLazy(ctx, db); return err },
			want: []string{"N+1: 100 queries of one statement from one call site with 20 different arguments",
				ormtest.Site(t, "catalogue.go", `db.GetContext(ctx, &name`, "sqlxlib.CatalogueLazy"),
				`fix: fetch authors in one query, not one per row: query, args, _ := sqlx.In("SELECT ... WHERE id IN (?)", keys)`}},
		{name: "row-by-row import", run: func(ctx context.Context, db *sqlx.DB) error { return ImportRowByRow(ctx, db, newBooks(5, 1)) },
			want: []string{"row-by-row writes: 5 INSERT queries",
				ormtest.Site(t, "catalogue.go", "NamedExecContext(ctx, insertBook, b)", "sqlxlib.ImportRowByRow"),
				"fix: insert the rows in one statement: db.NamedExec(`INSERT INTO books (a, b) VALUES (:a, :b)`, rows) with a slice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := assertq.New(t)
			db := open(t, rec)
			ormtest.Caught(t, rec, func(ctx context.Context) error { return tt.run(ctx, db) }, tt.want...)
		})
	}
}

// TestBatchedPass: sqlx.In and a NamedExec over a slice pass.
func TestBatchedPass(t *testing.T) {
	tests := []struct {
		name    string
		run     func(ctx context.Context, db *sqlx.DB) error
		queries int
	}{
		{name: "sqlx.In", queries: 2, run: func(ctx context.Context, db *sqlx.DB) error {
			lines, err := CatalogueIn(ctx, db)
			if err == nil && len(lines) != orm.Books {
				err = fmt.Errorf("%d lines, want %d", len(lines), orm.Books)
			}
			return err
		}},
		{name: "NamedExec over a slice", queries: 1, run: func(ctx context.Context, db *sqlx.DB) error { return ImportAll(ctx, db, newBooks(50, 1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := assertq.New(t, assertq.Strict())
			db := open(t, rec)
			assertq.Expect(t, rec, func(ctx context.Context) {
				if err := tt.run(ctx, db); err != nil {
					t.Error(err)
				}
			}, assertq.Count(tt.queries), assertq.NoNPlusOne())
		})
	}
}
