package gormlib

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/fixtures"
)

// buildCatalogue adds 20 authors with 5 books each, with the package's factories over the GORM models.
func buildCatalogue(s *fixtures.Set) {
	for range 20 {
		a := fixtures.Add(s, Authors)
		fixtures.AddN(s, Books, 5, func(b *Book, _ int) { b.AuthorID = a.ID })
	}
}

// catalogue is Data's schema (GORM's AutoMigrate of the models) with 20 authors: a data set of its own name, so
// that a server does not hold two templates of one name.
var catalogue = &fixtures.DataSet{
	Name:    "gorm_catalogue_20",
	Models:  Data.Models,
	Migrate: Data.Migrate,
	Build:   buildCatalogue,
}

// TestFixturesLoadGORMModels: a test gets a clone of the AutoMigrated catalogue with 120 rows written by
// fixtures, and GORM reads them back as its own: Preload finds every author's books, CreatedAt is not year 1.
func TestFixturesLoadGORMModels(t *testing.T) {
	ctx := context.Background()
	srv := containers.Postgres(t)
	tests := []struct {
		name string
		open func(t *testing.T) *sql.DB
	}{
		{name: "clone of the data set's template", open: func(t *testing.T) *sql.DB {
			return srv.Database(t, containers.WithTemplate(catalogue)).SQL(t)
		}},
		{name: "loaded through GORM's own *sql.DB", open: func(t *testing.T) *sql.DB {
			sqlDB := srv.Database(t).SQL(t)
			g, err := Open(sqlDB)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.AutoMigrate(&Author{}, &Book{}); err != nil {
				t.Fatal(err)
			}
			gormDB, err := g.DB()
			if err != nil {
				t.Fatal(err)
			}
			s := fixtures.NewSet()
			buildCatalogue(s)
			fixtures.Load(t, gormDB, s)
			return sqlDB
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.open(t))
			if err != nil {
				t.Fatal(err)
			}
			shelves, err := ShelvesPreload(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if len(shelves) != 20 {
				t.Fatalf("%d shelves, want 20", len(shelves))
			}
			for _, sh := range shelves {
				if sh.Books != 5 || sh.Author == "" {
					t.Errorf("shelf %+v, want an author with 5 books", sh)
				}
			}
			var first Author
			if err := db.WithContext(ctx).Order("id").First(&first).Error; err != nil {
				t.Fatal(err)
			}
			if want := time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC); !first.CreatedAt.Equal(want) || !first.UpdatedAt.Equal(want) || first.DeletedAt.Valid {
				t.Errorf("first author: created %v, updated %v, deleted %v; want %v, %v and not deleted", first.CreatedAt, first.UpdatedAt, first.DeletedAt, want, want)
			}
		})
	}
}
