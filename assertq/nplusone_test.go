package assertq_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
)

// storeRepo is application code: a repository whose method a caller may call in a loop.
type storeRepo struct{ pool *pgxpool.Pool }

func (r storeRepo) Name(ctx context.Context, id int) (string, error) {
	var name string
	err := r.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(&name)
	return name, err
}

// env is what an N+1 case runs against: one pgx pool and one database/sql handle, both recorded.
type env struct {
	pool *pgxpool.Pool
	sql  *sql.DB
}

// finding is an expected finding: its kind, how many queries, whether they came in a batch.
type finding struct {
	kind  assertq.FindingKind
	count int
	batch bool
}

func TestNPlusOne(t *testing.T) {
	t.Parallel()
	db := shop(t)
	ids := []int{1, 2, 3, 4, 5}
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, e env)
		want []finding
	}{
		// No false positives.
		{
			name: "same statement from two call sites",
			run: func(t *testing.T, ctx context.Context, e env) {
				repo := storeRepo{e.pool}
				_, err := repo.Name(ctx, 1)
				must(t, err)
				_, err = repo.Name(ctx, 2)
				must(t, err)
				must(t, e.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", 3).Scan(new(string)))
				must(t, e.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", 4).Scan(new(string)))
			},
		},
		{
			name: "batched = ANY($1) fetch",
			run: func(t *testing.T, ctx context.Context, e env) {
				rows, err := e.pool.Query(ctx, "SELECT id, name FROM store WHERE id = ANY($1)", ids)
				must(t, err)
				_, err = pgx.CollectRows(rows, pgx.RowToMap)
				must(t, err)
			},
		},
		{
			name: "loop running two different statements once each",
			run: func(t *testing.T, ctx context.Context, e env) {
				for _, q := range []string{"SELECT count(*) FROM store", "SELECT count(*) FROM product"} {
					must(t, e.pool.QueryRow(ctx, q).Scan(new(int)))
				}
			},
		},
		{
			name: "loop of one iteration",
			run: func(t *testing.T, ctx context.Context, e env) {
				for _, id := range ids[:1] {
					must(t, e.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string)))
				}
			},
		},
		{
			name: "writes queued in one batch",
			run: func(t *testing.T, ctx context.Context, e env) {
				b := &pgx.Batch{}
				for _, id := range ids {
					b.Queue("UPDATE store SET name = name WHERE id = $1", id)
				}
				must(t, e.pool.SendBatch(ctx, b).Close())
			},
		},
		// No false negatives.
		{
			name: "loop of lookups through pgx",
			run: func(t *testing.T, ctx context.Context, e env) {
				for _, id := range ids {
					must(t, e.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string)))
				}
			},
			want: []finding{{kind: assertq.NPlusOne, count: 5}},
		},
		{
			name: "loop of lookups through database/sql",
			run: func(t *testing.T, ctx context.Context, e env) {
				for _, id := range ids {
					must(t, e.sql.QueryRowContext(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string)))
				}
			},
			want: []finding{{kind: assertq.NPlusOne, count: 5}},
		},
		{
			name: "loop of lookups inside a pgx batch",
			run: func(t *testing.T, ctx context.Context, e env) {
				b := &pgx.Batch{}
				for _, id := range ids {
					b.Queue("SELECT name FROM store WHERE id = $1", id)
				}
				must(t, e.pool.SendBatch(ctx, b).Close())
			},
			want: []finding{{kind: assertq.NPlusOne, count: 5, batch: true}},
		},
		{
			name: "repository method called from a loop",
			run: func(t *testing.T, ctx context.Context, e env) {
				repo := storeRepo{e.pool}
				for _, id := range ids {
					_, err := repo.Name(ctx, id)
					must(t, err)
				}
			},
			want: []finding{{kind: assertq.NPlusOne, count: 5}},
		},
		{
			name: "loop with the value formatted into the SQL",
			run: func(t *testing.T, ctx context.Context, e env) {
				for _, id := range ids[:3] {
					must(t, e.pool.QueryRow(ctx, fmt.Sprintf("SELECT name FROM store WHERE id = %d", id)).Scan(new(string)))
				}
			},
			want: []finding{{kind: assertq.NPlusOne, count: 3}},
		},
		{
			name: "lookups from goroutines started in a loop",
			run: func(t *testing.T, ctx context.Context, e env) {
				var wg sync.WaitGroup
				for _, id := range ids {
					wg.Go(func() {
						if err := e.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string)); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			},
			want: []finding{{kind: assertq.NPlusOne, count: 5}},
		},
		{
			name: "the same lookup again and again",
			run: func(t *testing.T, ctx context.Context, e env) {
				for range 3 {
					must(t, e.pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", 1).Scan(new(string)))
				}
			},
			want: []finding{{kind: assertq.Duplicate, count: 3}},
		},
		{
			name: "row-by-row updates",
			run: func(t *testing.T, ctx context.Context, e env) {
				for _, id := range ids[:4] {
					_, err := e.pool.Exec(ctx, "UPDATE store SET name = name WHERE id = $1", id)
					must(t, err)
				}
			},
			want: []finding{{kind: assertq.RowByRow, count: 4}},
		},
		{
			name: "two loops, two findings",
			run: func(t *testing.T, ctx context.Context, e env) {
				rows, err := e.pool.Query(ctx, "SELECT id FROM store ORDER BY id")
				must(t, err)
				stores, err := pgx.CollectRows(rows, pgx.RowTo[int])
				must(t, err)
				for _, id := range stores {
					must(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM product WHERE store_id = $1", id).Scan(new(int)))
					must(t, e.sql.QueryRowContext(ctx, "SELECT max(id) FROM product WHERE store_id = $1", id).Scan(new(int)))
				}
			},
			want: []finding{{kind: assertq.NPlusOne, count: 5}, {kind: assertq.NPlusOne, count: 5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			e := env{pool: tracedPool(t, db, rec.Tracer()), sql: recordedSQL(t, rec, db)}
			tt.run(t, t.Context(), e)
			checkFindings(t, rec.Queries(), tt.want)
		})
	}
}

// checkFindings compares the findings of qs with want, and checks that NoNPlusOne agrees.
func checkFindings(t *testing.T, qs assertq.Queries, want []finding) {
	t.Helper()
	got := qs.Findings()
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), qs)
	}
	for i, w := range want {
		f := got[i]
		if f.Kind != w.kind || len(f.Queries) != w.count || (f.Queries[0].Batch != 0) != w.batch {
			t.Errorf("finding %d: %s ×%d (batch %v), want %s ×%d (batch %v)", i, f.Kind, len(f.Queries), f.Queries[0].Batch != 0, w.kind, w.count, w.batch)
		}
	}
	err := assertq.Verify(qs, assertq.NoNPlusOne())
	if (err != nil) != (len(want) > 0) {
		t.Errorf("Verify(NoNPlusOne()) = %v, want an error: %v", err, len(want) > 0)
	}
}
