// Package bunlib is the catalogue through bun: the lazy loop, the page loaded with Relation, and an import row by
// row and as one multi-row insert.
package bunlib

import (
	"context"
	"database/sql"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/dbsuite/dbsuite/examples/orm"
)

// Author is a row of authors.
type Author struct {
	bun.BaseModel `bun:"table:authors,alias:a"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
	Books     []*Book   `bun:"rel:has-many,join:id=author_id"`
}

// Book is a row of books.
type Book struct {
	bun.BaseModel `bun:"table:books,alias:b"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AuthorID  int64     `bun:"author_id,notnull"`
	Author    *Author   `bun:"rel:belongs-to,join:author_id=id"`
	Title     string    `bun:"title,notnull"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Open returns bun over a database/sql handle: the recorded one in tests.
func Open(sqlDB *sql.DB) *bun.DB { return bun.NewDB(sqlDB, pgdialect.New()) }

// CatalogueLazy loads the books, then each book's author: one query per book.
func CatalogueLazy(ctx context.Context, db *bun.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.NewSelect().Model(&books).Order("b.id").Scan(ctx); err != nil {
		return nil, err
	}
	lines := make([]orm.Line, 0, len(books))
	for _, b := range books {
		a := new(Author)
		if err := db.NewSelect().Model(a).Where("a.id = ?", b.AuthorID).Scan(ctx); err != nil {
			return nil, err
		}
		lines = append(lines, orm.Line{Title: b.Title, Author: a.Name})
	}
	return lines, nil
}

// CatalogueRelation loads the books with their authors in one query (a belongs-to relation is a JOIN).
func CatalogueRelation(ctx context.Context, db *bun.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.NewSelect().Model(&books).Relation("Author").Order("b.id").Scan(ctx); err != nil {
		return nil, err
	}
	lines := make([]orm.Line, len(books))
	for i, b := range books {
		lines[i] = orm.Line{Title: b.Title, Author: b.Author.Name}
	}
	return lines, nil
}

// ImportRowByRow adds books one insert at a time.
func ImportRowByRow(ctx context.Context, db *bun.DB, books []Book) error {
	for i := range books {
		if _, err := db.NewInsert().Model(&books[i]).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ImportAll adds books in one multi-row insert.
func ImportAll(ctx context.Context, db *bun.DB, books []Book) error {
	_, err := db.NewInsert().Model(&books).Exec(ctx)
	return err
}

// NewBooks returns n new books by the author with id author.
func NewBooks(n int, author int64) []Book {
	books := make([]Book, n)
	for i := range books {
		books[i] = Book{AuthorID: author, Title: "Imported " + string(rune('A'+i%26))}
	}
	return books
}
