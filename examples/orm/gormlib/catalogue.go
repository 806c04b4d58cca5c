// Package gormlib is the catalogue through GORM: the lazy loop a GORM user writes without noticing, the page
// loaded with Preload and with Joins, and an import row by row and with CreateInBatches.
package gormlib

import (
	"context"
	"database/sql"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/dbsuite/dbsuite/examples/orm"
)

// Author is a row of authors, a GORM model as GORM's documentation writes them.
type Author struct {
	gorm.Model
	Name  string
	Books []Book
}

// Book is a row of books.
type Book struct {
	gorm.Model
	AuthorID uint
	Author   *Author
	Title    string
}

// Open returns GORM over a database/sql handle: the recorded one in tests.
func Open(sqlDB *sql.DB) (*gorm.DB, error) {
	return gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
}

// CatalogueLazy loads the books, then each book's author: one query per book.
func CatalogueLazy(ctx context.Context, db *gorm.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.WithContext(ctx).Order("id").Find(&books).Error; err != nil {
		return nil, err
	}
	lines := make([]orm.Line, 0, len(books))
	for _, b := range books {
		var a Author
		if err := db.WithContext(ctx).First(&a, b.AuthorID).Error; err != nil {
			return nil, err
		}
		lines = append(lines, orm.Line{Title: b.Title, Author: a.Name})
	}
	return lines, nil
}

// CataloguePreload loads the books and, in one more query, all their authors.
func CataloguePreload(ctx context.Context, db *gorm.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.WithContext(ctx).Preload("Author").Order("id").Find(&books).Error; err != nil {
		return nil, err
	}
	return lines(books), nil
}

// CatalogueJoins loads the books with their authors in one query.
func CatalogueJoins(ctx context.Context, db *gorm.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.WithContext(ctx).Joins("Author").Order("books.id").Find(&books).Error; err != nil {
		return nil, err
	}
	return lines(books), nil
}

func lines(books []Book) []orm.Line {
	out := make([]orm.Line, len(books))
	for i, b := range books {
		out[i] = orm.Line{Title: b.Title, Author: b.Author.Name}
	}
	return out
}

// ImportRowByRow adds books one Create at a time: one INSERT per book.
func ImportRowByRow(ctx context.Context, db *gorm.DB, books []Book) error {
	for i := range books {
		if err := db.WithContext(ctx).Create(&books[i]).Error; err != nil {
			return err
		}
	}
	return nil
}

// ImportInBatches adds books with CreateInBatches: one multi-row INSERT per batch of size rows.
func ImportInBatches(ctx context.Context, db *gorm.DB, books []Book, size int) error {
	return db.WithContext(ctx).CreateInBatches(&books, size).Error
}

// NewBooks returns n new books by the author with id author.
func NewBooks(n int, author uint) []Book {
	books := make([]Book, n)
	for i := range books {
		books[i] = Book{AuthorID: author, Title: "Imported " + string(rune('A'+i%26))}
	}
	return books
}

// Shelf is one author with their number of books.
type Shelf struct {
	Author string
	Books  int
}

// ShelvesLazy loads the authors, then each author's books: one query per author (a has-many relation).
func ShelvesLazy(ctx context.Context, db *gorm.DB) ([]Shelf, error) {
	var authors []Author
	if err := db.WithContext(ctx).Order("id").Find(&authors).Error; err != nil {
		return nil, err
	}
	shelves := make([]Shelf, 0, len(authors))
	for _, a := range authors {
		var books []Book
		if err := db.WithContext(ctx).Where("author_id = ?", a.ID).Find(&books).Error; err != nil {
			return nil, err
		}
		shelves = append(shelves, Shelf{Author: a.Name, Books: len(books)})
	}
	return shelves, nil
}

// ShelvesPreload loads the authors and, in one more query, all their books.
func ShelvesPreload(ctx context.Context, db *gorm.DB) ([]Shelf, error) {
	var authors []Author
	if err := db.WithContext(ctx).Preload("Books").Order("id").Find(&authors).Error; err != nil {
		return nil, err
	}
	shelves := make([]Shelf, len(authors))
	for i, a := range authors {
		shelves[i] = Shelf{Author: a.Name, Books: len(a.Books)}
	}
	return shelves, nil
}

// CatalogueLazyGlobal is CatalogueLazy as code written against a package-level *gorm.DB often is: without
// WithContext, so no query carries the test's context.
func CatalogueLazyGlobal(db *gorm.DB) ([]orm.Line, error) {
	var books []Book
	if err := db.Order("id").Find(&books).Error; err != nil {
		return nil, err
	}
	lines := make([]orm.Line, 0, len(books))
	for _, b := range books {
		var a Author
		if err := db.First(&a, b.AuthorID).Error; err != nil {
			return nil, err
		}
		lines = append(lines, orm.Line{Title: b.Title, Author: a.Name})
	}
	return lines, nil
}
