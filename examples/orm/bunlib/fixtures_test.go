package bunlib

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/fixtures"
)

// Factories over the bun models as they are: bun.BaseModel's tag names the tables, the rel fields are
// skipped as associations, the pk tags name the key columns.
var (
	authors = fixtures.Define("", func(g *fixtures.Gen, a *Author) { a.Name = g.FullName() })
	books   = fixtures.Define("", func(g *fixtures.Gen, b *Book) { b.Title = g.Sentence() })
)

// catalogue's schema is bun's CreateTable of the models; its template is rebuilt when they change.
var catalogue = &fixtures.DataSet{
	Name:   "bun_catalogue",
	Models: []any{&Author{}, &Book{}},
	Migrate: func(ctx context.Context, db *sql.DB) error {
		b := Open(db)
		for _, model := range []any{(*Author)(nil), (*Book)(nil)} {
			if _, err := b.NewCreateTable().Model(model).WithForeignKeys().Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	},
	Build: func(s *fixtures.Set) {
		for range 20 {
			a := fixtures.Add(s, authors)
			fixtures.AddN(s, books, 5, func(b *Book, _ int) { b.AuthorID = a.ID })
		}
	},
}

// TestFixturesLoadBunModels: a test gets a clone of the catalogue bun created, with 120 rows written by
// fixtures, and bun reads them back as its own: Relation joins every book to its author.
func TestFixturesLoadBunModels(t *testing.T) {
	ctx := context.Background()
	db := Open(containers.Postgres(t).Database(t, containers.WithTemplate(catalogue)).SQL(t))
	lines, err := CatalogueRelation(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 100 {
		t.Fatalf("%d books, want 100", len(lines))
	}
	for _, l := range lines {
		if l.Author == "" || l.Title == "" {
			t.Errorf("line %+v, want a title and its author", l)
		}
	}
	var first Author
	if err := db.NewSelect().Model(&first).Order("id").Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC); !first.CreatedAt.Equal(want) {
		t.Errorf("first author created %v, want %v", first.CreatedAt, want)
	}
}
