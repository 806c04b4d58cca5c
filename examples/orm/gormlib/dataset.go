package gormlib

import (
	"context"
	"database/sql"

	"github.com/dbsuite/dbsuite/fixtures"
)

// Factories over the GORM models as they are: fixtures reads GORM's column names, skips the Books and Author
// associations, and gives gorm.Model's timestamps a deterministic time.
var (
	Authors = fixtures.Define("", func(g *fixtures.Gen, a *Author) { a.Name = g.FullName() })
	Books   = fixtures.Define("", func(g *fixtures.Gen, b *Book) { b.Title = g.Sentence() })
)

// Data is the catalogue as a fixtures data set whose schema GORM's AutoMigrate builds from the models: 40 authors
// with 5 books each. A test gets a clone of its template with containers.WithTemplate(Data).
var Data = &fixtures.DataSet{
	Name: "gorm_catalogue",
	Migrate: func(ctx context.Context, sqlDB *sql.DB) error {
		db, err := Open(sqlDB)
		if err != nil {
			return err
		}
		return db.WithContext(ctx).AutoMigrate(&Author{}, &Book{})
	},
	Models: []any{&Author{}, &Book{}},
	Seed:   7,
	Build: func(s *fixtures.Set) {
		for range s.Scaled(40) {
			author := fixtures.Add(s, Authors)
			fixtures.AddN(s, Books, 5, func(b *Book, _ int) { b.AuthorID = author.ID })
		}
	},
}
