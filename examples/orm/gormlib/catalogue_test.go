package gormlib

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/examples/orm"
	"github.com/dbsuite/dbsuite/examples/orm/internal/ormtest"
)

// open gives the test the catalogue and GORM over a handle rec records.
func open(t *testing.T, rec *assertq.Recorder) *gorm.DB {
	t.Helper()
	db, err := Open(ormtest.SQL(t, ormtest.Catalogue(t), rec))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestLazyLoopIsCaught: the lazy page makes one query per book; dbsuite names the loop's line and tells a GORM
// user to Preload or Joins, with GORM's prepared statements on or off.
func TestLazyLoopIsCaught(t *testing.T) {
	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprintf("PrepareStmt=%v", prepared), func(t *testing.T) {
			rec := assertq.New(t)
			db := open(t, rec).Session(&gorm.Session{PrepareStmt: prepared})
			lazy := func(ctx context.Context) error { _, err := CatalogueLazy(ctx, db); return err }
			ormtest.Caught(t, rec, lazy,
				"N+1: 100 queries of one statement from one call site",
				"SELECT * FROM authors WHERE authors.id = ?",
				ormtest.Site(t, "catalogue.go", "First(&a, b.AuthorID)", "gormlib.CatalogueLazy"),
				`fix: load authors with the query that finds their parents, not one query per row: .Preload("Author")`,
				`.Joins("Author")`)
		})
	}
}

// TestLazyLoopWithoutContextIsCaught: code that never calls WithContext (a package-level *gorm.DB) runs its
// queries with no test's context; the block open while they ran takes them, and the loop is caught all the same.
func TestLazyLoopWithoutContextIsCaught(t *testing.T) {
	rec := assertq.New(t)
	db := open(t, rec)
	lazy := func(context.Context) error { _, err := CatalogueLazyGlobal(db); return err }
	ormtest.Caught(t, rec, lazy,
		"N+1: 100 queries of one statement from one call site",
		ormtest.Site(t, "catalogue.go", "db.First(&a, b.AuthorID)", "gormlib.CatalogueLazyGlobal"),
		`.Preload("Author")`)
}

// TestHasManyLoopIsCaught: loading each author's books in a loop is caught, with Preload of the has-many field;
// Preload("Books") passes with the same shelves.
func TestHasManyLoopIsCaught(t *testing.T) {
	rec := assertq.New(t)
	db := open(t, rec)
	var lazy []Shelf
	ormtest.Caught(t, rec, func(ctx context.Context) (err error) { lazy, err = ShelvesLazy(ctx, db); return err },
		"N+1: 20 queries of one statement from one call site with 20 different arguments",
		ormtest.Site(t, "catalogue.go", `Where("author_id = ?", a.ID)`, "gormlib.ShelvesLazy"),
		`fix: load books with the query that finds their parents, not one query per parent: .Preload("Books")`)

	var preloaded []Shelf
	assertq.Expect(t, rec, func(ctx context.Context) {
		var err error
		if preloaded, err = ShelvesPreload(ctx, db); err != nil {
			t.Error(err)
		}
	}, assertq.Count(2), assertq.NoNPlusOne())
	if len(lazy) != orm.Authors || !slices.Equal(lazy, preloaded) {
		t.Errorf("shelves differ: lazy %v, preloaded %v", lazy, preloaded)
	}
}

// TestPreloadAndJoinsPass: the page loaded GORM's ways makes one or two queries and no N+1, with the same lines.
func TestPreloadAndJoinsPass(t *testing.T) {
	tests := []struct {
		name    string
		load    func(context.Context, *gorm.DB) ([]orm.Line, error)
		queries int
	}{
		{name: "Preload", load: CataloguePreload, queries: 2},
		{name: "Joins", load: CatalogueJoins, queries: 1},
	}
	want, err := CatalogueLazy(t.Context(), open(t, assertq.New(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := assertq.New(t, assertq.Strict())
			db := open(t, rec)
			var got []orm.Line
			assertq.Expect(t, rec, func(ctx context.Context) {
				var err error
				if got, err = tt.load(ctx, db); err != nil {
					t.Error(err)
				}
			}, assertq.Count(tt.queries), assertq.NoNPlusOne())
			ormtest.SameLines(t, got, want)
		})
	}
}

// TestRowByRowImportIsCaught: Create in a loop is one INSERT per book; dbsuite tells a GORM user to Create the
// slice or CreateInBatches, and shows each row by its keys, not by its timestamps.
func TestRowByRowImportIsCaught(t *testing.T) {
	rec := assertq.New(t)
	db := open(t, rec)
	ormtest.Caught(t, rec, func(ctx context.Context) error { return ImportRowByRow(ctx, db, NewBooks(5, 1)) },
		"row-by-row writes: 5 INSERT queries of one statement from one call site",
		ormtest.Site(t, "catalogue.go", "Create(&books[i])", "gormlib.ImportRowByRow"),
		`args: (author_id=1, title="Imported A", created_at=`,
		"fix: insert the rows in one statement: db.Create(&rows) with a slice (one multi-row INSERT), or db.CreateInBatches(&rows, 1000)")
}

// TestCreateInBatchesPasses: 250 books in batches of 100 are three multi-row INSERTs: batching is the fix, not a
// finding.
func TestCreateInBatchesPasses(t *testing.T) {
	rec := assertq.New(t, assertq.Strict())
	db := open(t, rec)
	assertq.Expect(t, rec, func(ctx context.Context) {
		if err := ImportInBatches(ctx, db, NewBooks(250, 2), 100); err != nil {
			t.Error(err)
		}
	}, assertq.Count(3, assertq.Insert), assertq.NoNPlusOne())
	var n int64
	if err := db.Model(&Book{}).Where("author_id = ?", 2).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 250+orm.BooksPerAuthor {
		t.Errorf("author 2 has %d books, want %d", n, 250+orm.BooksPerAuthor)
	}
}
