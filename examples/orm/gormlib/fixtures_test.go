package gormlib

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/fixtures"
)

// Factories over the GORM models as they are: gorm.Model embedded, the has-many Books and the belongs-to
// Author skipped as associations, the tables named as GORM names them (Define is given no table).
var (
	authors = fixtures.Define("", func(g *fixtures.Gen, a *Author) { a.Name = g.FullName() })
	books   = fixtures.Define("", func(g *fixtures.Gen, b *Book) { b.Title = g.Sentence() })
)

// buildCatalogue adds 20 authors with 5 books each.
func buildCatalogue(s *fixtures.Set) {
	for range 20 {
		a := fixtures.Add(s, authors)
		fixtures.AddN(s, books, 5, func(b *Book, _ int) { b.AuthorID = a.ID })
	}
}

// catalogue's schema is GORM's AutoMigrate of the models; its template is rebuilt when they change.
var catalogue = &fixtures.DataSet{
	Name:   "gorm_catalogue",
	Models: []any{&Author{}, &Book{}},
	Migrate: func(ctx context.Context, db *sql.DB) error {
		g, err := Open(db)
		if err != nil {
			return err
		}
		return g.WithContext(ctx).AutoMigrate(&Author{}, &Book{})
	},
	Build: buildCatalogue,
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
