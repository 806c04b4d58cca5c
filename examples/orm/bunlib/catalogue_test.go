package bunlib

import (
	"context"
	"database/sql"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/orm"
	"github.com/dbsuite/dbsuite/examples/orm/internal/ormtest"
)

// drivers are the ways bun reaches PostgreSQL: pgx's stdlib driver recorded by the recorder's connector or by its
// pgx tracer, and bun's own pgdriver.
var drivers = []struct {
	name string
	open func(t *testing.T, rec *assertq.Recorder) *bun.DB
}{
	{name: "pgx", open: func(t *testing.T, rec *assertq.Recorder) *bun.DB {
		return Open(ormtest.SQL(t, ormtest.Catalogue(t), rec))
	}},
	{name: "pgx tracer", open: func(t *testing.T, rec *assertq.Recorder) *bun.DB {
		return Open(ormtest.Catalogue(t).SQL(t, containers.WithTracer(rec.Tracer())))
	}},
	{name: "pgdriver", open: func(t *testing.T, rec *assertq.Recorder) *bun.DB {
		sqlDB := sql.OpenDB(rec.Connector(pgdriver.NewConnector(pgdriver.WithDSN(ormtest.Catalogue(t).URL()))))
		t.Cleanup(func() { sqlDB.Close() })
		return Open(sqlDB)
	}},
}

// TestLazyLoopIsCaught: bun writes the author's id into the SQL text, and dbsuite still sees the loop, names its
// line, and tells a bun user to use Relation, not to "pass parameters" (bun formats values client-side).
func TestLazyLoopIsCaught(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			rec := assertq.New(t)
			db := d.open(t, rec)
			lazy := func(ctx context.Context) error { _, err := CatalogueLazy(ctx, db); return err }
			report := ormtest.Caught(t, rec, lazy,
				"N+1: 100 queries of one statement from one call site with 20 different values written into the SQL",
				ormtest.Site(t, "catalogue.go", "Where(\"a.id = ?\", b.AuthorID)", "bunlib.CatalogueLazy"),
				`fix: load authors with the query that finds their parents, not one query per row: .Relation("Author") on that query`)
			ormtest.ReportsNot(t, report, "parameters", "$1")
		})
	}
}

// TestRelationPasses: the page loaded with Relation is one query, with the same lines.
func TestRelationPasses(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			want, err := CatalogueLazy(t.Context(), d.open(t, assertq.New(t)))
			if err != nil {
				t.Fatal(err)
			}
			rec := assertq.New(t, assertq.Strict())
			db := d.open(t, rec)
			var got []orm.Line
			assertq.Expect(t, rec, func(ctx context.Context) {
				if got, err = CatalogueRelation(ctx, db); err != nil {
					t.Error(err)
				}
			}, assertq.Count(1), assertq.NoNPlusOne())
			ormtest.SameLines(t, got, want)
		})
	}
}

// TestRowByRowImportIsCaught: an insert per book is caught, with bun's multi-row insert as the fix.
func TestRowByRowImportIsCaught(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			rec := assertq.New(t)
			db := d.open(t, rec)
			ormtest.Caught(t, rec, func(ctx context.Context) error { return ImportRowByRow(ctx, db, NewBooks(5, 1)) },
				"row-by-row writes: 5 INSERT queries of one statement from one call site",
				ormtest.Site(t, "catalogue.go", "NewInsert().Model(&books[i])", "bunlib.ImportRowByRow"),
				"fix: insert the rows in one statement: db.NewInsert().Model(&rows).Exec(ctx) with a slice")
		})
	}
}

// TestMultiRowInsertPasses: the import as one multi-row insert is one query and no finding.
func TestMultiRowInsertPasses(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			rec := assertq.New(t, assertq.Strict())
			db := d.open(t, rec)
			assertq.Expect(t, rec, func(ctx context.Context) {
				if err := ImportAll(ctx, db, NewBooks(250, 2)); err != nil {
					t.Error(err)
				}
			}, assertq.Count(1), assertq.NoNPlusOne())
			n, err := db.NewSelect().Model((*Book)(nil)).Where("author_id = ?", 2).Count(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != 250+orm.BooksPerAuthor {
				t.Errorf("author 2 has %d books, want %d", n, 250+orm.BooksPerAuthor)
			}
		})
	}
}
