// Package sqlxlib is the catalogue through sqlx: the lazy loop, the page loaded with sqlx.In, and an import row by
// row and as one NamedExec over a slice.
package sqlxlib

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/dbsuite/dbsuite/examples/orm"
)

// Book is a row of books.
type Book struct {
	ID       int64  `db:"id"`
	AuthorID int64  `db:"author_id"`
	Title    string `db:"title"`
}

// Author is a row of authors.
type Author struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// Open returns sqlx over a database/sql handle on pgx's stdlib driver: the recorded one in tests.
func Open(sqlDB *sql.DB) *sqlx.DB { return sqlx.NewDb(sqlDB, "pgx") }

// CatalogueLazy loads the books, then each book's author: one query per book.
func CatalogueLazy(ctx context.Context, db *sqlx.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.SelectContext(ctx, &books, "SELECT id, author_id, title FROM books ORDER BY id"); err != nil {
		return nil, err
	}
	lines := make([]orm.Line, 0, len(books))
	for _, b := range books {
		var name string
		if err := db.GetContext(ctx, &name, "SELECT name FROM authors WHERE id = $1", b.AuthorID); err != nil {
			return nil, err
		}
		lines = append(lines, orm.Line{Title: b.Title, Author: name})
	}
	return lines, nil
}

// CatalogueIn loads the books, then all their authors in one query built by sqlx.In.
func CatalogueIn(ctx context.Context, db *sqlx.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.SelectContext(ctx, &books, "SELECT id, author_id, title FROM books ORDER BY id"); err != nil {
		return nil, err
	}
	ids := make([]int64, len(books))
	for i, b := range books {
		ids[i] = b.AuthorID
	}
	query, args, err := sqlx.In("SELECT id, name FROM authors WHERE id IN (?)", ids)
	if err != nil {
		return nil, err
	}
	var authors []Author
	if err := db.SelectContext(ctx, &authors, db.Rebind(query), args...); err != nil {
		return nil, err
	}
	return orm.Join(books, authors,
		func(b Book) (string, int64) { return b.Title, b.AuthorID },
		func(a Author) (int64, string) { return a.ID, a.Name }), nil
}

const insertBook = "INSERT INTO books (author_id, title) VALUES (:author_id, :title)"

// ImportRowByRow adds books one NamedExec at a time.
func ImportRowByRow(ctx context.Context, db *sqlx.DB, books []Book) error {
	for _, b := range books {
		if _, err := db.NamedExecContext(ctx, insertBook, b); err != nil {
			return err
		}
	}
	return nil
}

// ImportAll adds books with one NamedExec over the slice: one multi-row INSERT.
func ImportAll(ctx context.Context, db *sqlx.DB, books []Book) error {
	_, err := db.NamedExecContext(ctx, insertBook, books)
	return err
}
