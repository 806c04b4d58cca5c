package library

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
)

// catalogue gives the test a database cloned from the library's template
// (200 books), and a pool whose queries rec records.
func catalogue(t *testing.T, rec *assertq.Recorder) *pgxpool.Pool {
	t.Helper()
	db := containers.Postgres(t).Database(t, containers.WithTemplate(Data))
	cfg, err := pgxpool.ParseConfig(db.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec.Tracer(cfg.ConnConfig.Tracer)
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestLazyCatalogueIsCaught shows the trap being caught: the lazy page
// makes 201 queries, and assertq names the loop, the call site and the fix.
// (The test passes because it expects the failure.)
func TestLazyCatalogueIsCaught(t *testing.T) {
	rec := assertq.New(t)
	pool := catalogue(t, rec)
	lines, err := CatalogueLazy(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 200 {
		t.Fatalf("the page has %d lines, want 200", len(lines))
	}
	queries := rec.Queries()
	err = assertq.Verify(queries, assertq.AtMost(2), assertq.NoNPlusOne())
	if err == nil {
		t.Fatalf("assertq.Verify passed %d queries of a lazy loop; want an N+1 reported", len(queries))
	}
	t.Logf("what a test of CatalogueLazy reports:\n%v", err)
	for _, want := range []string{
		"assertq: 201 queries, want at most 2",
		"200× SELECT name FROM authors WHERE id = ?",
		"(library.CatalogueLazy)",
		"N+1: same statement from one call site",
		"fix: fetch the rows in one query",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	findings := queries.Findings()
	if len(findings) != 1 || findings[0].Kind != assertq.NPlusOne || len(findings[0].Queries) != 200 {
		t.Errorf("findings = %v, want one N+1 of 200 queries", findings)
	}
}

// TestFixedCatalogues runs the same page built the two right ways under
// the checks the lazy one fails, and checks they show the same lines.
func TestFixedCatalogues(t *testing.T) {
	tests := []struct {
		name    string
		build   func(context.Context, *pgxpool.Pool) ([]Line, error)
		queries int
	}{
		{"join", CatalogueJoin, 1},
		{"preload with = ANY($1)", CataloguePreload, 2},
	}
	var want []Line
	lazy := assertq.New(t)
	want, err := CatalogueLazy(t.Context(), catalogue(t, lazy))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t, assertq.Strict())
			pool := catalogue(t, rec)
			var got []Line
			assertq.Expect(t, rec, func(ctx context.Context) {
				var err error
				if got, err = tt.build(ctx, pool); err != nil {
					t.Error(err)
				}
			}, assertq.Count(tt.queries), assertq.NoNPlusOne())
			if len(got) != len(want) {
				t.Fatalf("%d lines, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("line %d = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestRenderMakesNoQueries checks that formatting the page touches no
// database: a no-query zone.
func TestRenderMakesNoQueries(t *testing.T) {
	rec := assertq.New(t)
	pool := catalogue(t, rec)
	lines, err := CatalogueJoin(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	assertq.Expect(t, rec, func(ctx context.Context) {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l.String())
			b.WriteByte('\n')
		}
	}, assertq.NoQueries())
}
