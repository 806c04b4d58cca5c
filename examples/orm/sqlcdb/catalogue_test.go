package sqlcdb

import (
	"context"
	"testing"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/orm"
	"github.com/dbsuite/dbsuite/examples/orm/internal/ormtest"
)

// open gives the test the catalogue and the generated Queries over a pgx pool that rec records.
func open(t *testing.T, rec *assertq.Recorder) *Queries {
	t.Helper()
	return New(ormtest.Catalogue(t).Pool(t, containers.WithTracer(rec.Tracer())))
}

// TestLazyLoopIsCaught: the report names the sqlc query (GetAuthor) and the loop that calls it, not the generated
// method, and the fix is a sqlc query that takes every key.
func TestLazyLoopIsCaught(t *testing.T) {
	rec := assertq.New(t)
	q := open(t, rec)
	lazy := func(ctx context.Context) error { _, err := CatalogueLazy(ctx, q); return err }
	report := ormtest.Caught(t, rec, lazy,
		"100× GetAuthor: SELECT id, name FROM authors WHERE id = ? LIMIT ?",
		ormtest.Site(t, "catalogue.go", "q.GetAuthor(ctx, b.AuthorID)", "sqlcdb.CatalogueLazy"),
		"fix: fetch authors in one call, not GetAuthor once per row: add a :many query that takes every key at once")
	ormtest.ReportsNot(t, report, "query.sql.go")
}

// TestByIDsPasses: the page loaded with ListAuthorsByIDs is two queries and no N+1.
func TestByIDsPasses(t *testing.T) {
	rec := assertq.New(t, assertq.Strict())
	q := open(t, rec)
	var got []orm.Line
	qs := assertq.Expect(t, rec, func(ctx context.Context) {
		var err error
		if got, err = CatalogueByIDs(ctx, q); err != nil {
			t.Error(err)
		}
	}, assertq.Count(2), assertq.NoNPlusOne())
	if len(got) != orm.Books {
		t.Errorf("%d lines, want %d", len(got), orm.Books)
	}
	if len(qs) == 2 && qs[1].Fingerprint != "ListAuthorsByIDs: SELECT id, name FROM authors WHERE id = ANY (?::bigint[])" {
		t.Errorf("fingerprint %q, want the sqlc name first", qs[1].Fingerprint)
	}
}
