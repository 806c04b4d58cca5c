package assertq_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// lookups runs n lookups of store names with ctx, each with a distinct argument tag so that a block can tell its
// own queries from another block's.
func lookups(t testing.TB, ctx context.Context, pool *pgxpool.Pool, tag, n int) {
	for i := range n {
		if err := pool.QueryRow(ctx, "SELECT $1::int + $2::int", tag, i).Scan(new(int)); err != nil {
			t.Errorf("lookup: %v", err)
		}
	}
}

// TestExpectBlocksRunningAtOnce runs Expect blocks on one Recorder and one pool at the same time, all started
// before any finishes: each block must count its own queries only.
func TestExpectBlocksRunningAtOnce(t *testing.T) {
	t.Parallel()
	db := shop(t)
	rec := assertq.New(t)
	pool := tracedPool(t, db, rec.Tracer())
	const blocks = 6
	var started, done sync.WaitGroup
	started.Add(blocks)
	fakes := make([]*faketb.TB, blocks)
	results := make([]assertq.Queries, blocks)
	for b := range blocks {
		fakes[b] = faketb.New(nil, fmt.Sprintf("block%d", b))
		done.Go(func() {
			results[b] = assertq.Expect(fakes[b], rec, func(ctx context.Context) {
				started.Done()
				started.Wait() // every block is open now
				lookups(t, ctx, pool, 100*b, b+1)
			}, assertq.Count(b+1))
		})
	}
	done.Wait()
	for b := range blocks {
		if msg := fakes[b].Failures(); msg != "" {
			t.Errorf("block %d failed:\n%s", b, msg)
		}
		for _, q := range results[b] {
			if q.Args[0] != 100*b {
				t.Errorf("block %d got a query of another block: %v", b, q.Args)
			}
		}
	}
	if got := len(rec.Queries()); got != blocks*(blocks+1)/2 {
		t.Errorf("recorder saw %d queries, want %d", got, blocks*(blocks+1)/2)
	}
}

// TestParallelTestsShareARecorder: parallel subtests, one Recorder and one pool made by their parent.
func TestParallelTestsShareARecorder(t *testing.T) {
	t.Parallel()
	db := shop(t)
	rec := assertq.New(t)
	pool := tracedPool(t, db, rec.Tracer())
	for n := 1; n <= 6; n++ {
		t.Run(fmt.Sprintf("%d lookups", n), func(t *testing.T) {
			t.Parallel()
			qs := assertq.Expect(t, rec, func(ctx context.Context) { lookups(t, ctx, pool, n, n) }, assertq.Count(n))
			for _, q := range qs {
				if q.Args[0] != n {
					t.Errorf("got a query of another test: %v", q.Args)
				}
			}
		})
	}
}

// TestSharedTracer: a pool built once for many parallel tests; each test records only its own queries.
func TestSharedTracer(t *testing.T) {
	t.Parallel()
	db := shop(t)
	pool := tracedPool(t, db, assertq.SharedTracer())
	sdb := sharedSQL(t, db)
	for n := 1; n <= 4; n++ {
		t.Run(fmt.Sprintf("test %d", n), func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			ctx := rec.Context(t.Context())
			lookups(t, ctx, pool, n, n)
			must(t, sdb.QueryRowContext(ctx, "SELECT $1::int", n).Scan(new(int)))
			qs := rec.Queries()
			if len(qs) != n+1 {
				t.Fatalf("recorded %d queries, want %d:\n%s", len(qs), n+1, qs)
			}
			for _, q := range qs {
				if q.Args[0] != n {
					t.Errorf("got a query of another test: %v", q.Args)
				}
			}
			assertq.Expect(t, rec, func(ctx context.Context) { lookups(t, ctx, pool, n, 2) }, assertq.Count(2))
		})
	}
}

func TestExpectAttribution(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name string
		run  func(t *testing.T, rec *assertq.Recorder, pool *pgxpool.Pool) (outer, inner int)
		// how many queries the outer (and inner, if any) block must see
		outer, inner int
	}{
		{
			name: "code that drops the context is counted",
			run: func(t *testing.T, rec *assertq.Recorder, pool *pgxpool.Pool) (int, int) {
				qs := assertq.Expect(t, rec, func(context.Context) { lookups(t, context.Background(), pool, 1, 2) })
				return len(qs), 0
			},
			outer: 2,
		},
		{
			name: "queries before and after the block are not",
			run: func(t *testing.T, rec *assertq.Recorder, pool *pgxpool.Pool) (int, int) {
				lookups(t, t.Context(), pool, 1, 1)
				qs := assertq.Expect(t, rec, func(ctx context.Context) { lookups(t, ctx, pool, 2, 1) })
				lookups(t, t.Context(), pool, 3, 1)
				return len(qs), 0
			},
			outer: 1,
		},
		{
			name: "a nested block counts for both",
			run: func(t *testing.T, rec *assertq.Recorder, pool *pgxpool.Pool) (int, int) {
				var inner assertq.Queries
				outer := assertq.Expect(t, rec, func(ctx context.Context) {
					lookups(t, ctx, pool, 1, 1)
					inner = assertq.Expect(t, rec, func(ctx context.Context) { lookups(t, ctx, pool, 2, 2) })
					lookups(t, ctx, pool, 3, 1)
				})
				return len(outer), len(inner)
			},
			outer: 4, inner: 2,
		},
		{
			name: "a goroutine that carries the context is counted",
			run: func(t *testing.T, rec *assertq.Recorder, pool *pgxpool.Pool) (int, int) {
				qs := assertq.Expect(t, rec, func(ctx context.Context) {
					var wg sync.WaitGroup
					for i := range 3 {
						wg.Go(func() { lookups(t, ctx, pool, i, 1) })
					}
					wg.Wait()
				})
				return len(qs), 0
			},
			outer: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			pool := tracedPool(t, db, rec.Tracer())
			outer, inner := tt.run(t, rec, pool)
			if outer != tt.outer || inner != tt.inner {
				t.Errorf("blocks saw %d and %d queries, want %d and %d:\n%s", outer, inner, tt.outer, tt.inner, rec.Queries())
			}
		})
	}
}

func TestNoQueriesAndAllow(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name  string
		zone  func(ctx context.Context, pool *pgxpool.Pool) error
		fails bool
	}{
		{name: "no query", zone: func(context.Context, *pgxpool.Pool) error { return nil }},
		{name: "a query", fails: true, zone: func(ctx context.Context, pool *pgxpool.Pool) error {
			return pool.QueryRow(ctx, "SELECT 1").Scan(new(int))
		}},
		{name: "an allowed query", zone: func(ctx context.Context, pool *pgxpool.Pool) error {
			return pool.QueryRow(assertq.Allow(ctx), "SELECT 1").Scan(new(int))
		}},
		{name: "an allowed query and another", fails: true, zone: func(ctx context.Context, pool *pgxpool.Pool) error {
			if err := pool.QueryRow(assertq.Allow(ctx), "SELECT 1").Scan(new(int)); err != nil {
				return err
			}
			return pool.QueryRow(ctx, "SELECT 2").Scan(new(int))
		}},
		{name: "transaction control alone", zone: func(ctx context.Context, pool *pgxpool.Pool) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			return tx.Commit(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			pool := tracedPool(t, db, rec.Tracer())
			fake := faketb.New(nil, t.Name())
			assertq.Expect(fake, rec, func(ctx context.Context) { must(t, tt.zone(ctx, pool)) }, assertq.NoQueries())
			msg := fake.Failures()
			if (msg != "") != tt.fails {
				t.Errorf("zone failed = %v, want %v:\n%s", msg != "", tt.fails, msg)
			}
			if tt.fails && !strings.Contains(msg, "in a NoQueries zone, want none") {
				t.Errorf("message does not name the zone:\n%s", msg)
			}
		})
	}
}

func TestStrict(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name  string
		opts  []assertq.Option
		run   func(ctx context.Context, pool *pgxpool.Pool)
		fails bool
	}{
		{name: "an N+1 fails the test", opts: []assertq.Option{assertq.Strict()}, fails: true,
			run: func(ctx context.Context, pool *pgxpool.Pool) { loop(ctx, pool) }},
		{name: "without Strict it does not", run: func(ctx context.Context, pool *pgxpool.Pool) { loop(ctx, pool) }},
		{name: "allowed set-up does not", opts: []assertq.Option{assertq.Strict()},
			run: func(ctx context.Context, pool *pgxpool.Pool) { loop(assertq.Allow(ctx), pool) }},
		{name: "ignored queries do not", opts: []assertq.Option{assertq.Strict(), assertq.WithIgnore(assertq.Table("store"))},
			run: func(ctx context.Context, pool *pgxpool.Pool) { loop(ctx, pool) }},
		{name: "no N+1, no failure", opts: []assertq.Option{assertq.Strict()},
			run: func(ctx context.Context, pool *pgxpool.Pool) {
				_, _ = pool.Exec(ctx, "SELECT name FROM store WHERE id = ANY($1)", []int{1, 2, 3})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := faketb.New(nil, t.Name())
			rec := assertq.New(fake, tt.opts...)
			pool := tracedPool(t, db, rec.Tracer())
			tt.run(t.Context(), pool)
			if msg := fake.Failures(); msg != "" {
				t.Fatalf("failed before cleanup:\n%s", msg)
			}
			fake.Finish()
			msg := fake.Failures()
			if (msg != "") != tt.fails {
				t.Errorf("failed at cleanup = %v, want %v:\n%s", msg != "", tt.fails, msg)
			}
			if tt.fails && !strings.Contains(msg, "(assertq.Strict)") {
				t.Errorf("message does not say Strict:\n%s", msg)
			}
		})
	}
}

// loop looks up three stores one by one: an N+1.
func loop(ctx context.Context, pool *pgxpool.Pool) {
	for id := 1; id <= 3; id++ {
		_ = pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
	}
}

func TestRecorderOptions(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name  string
		opts  []assertq.Option
		check func(t *testing.T, qs assertq.Queries)
	}{
		{
			name: "Ignore drops queries",
			opts: []assertq.Option{assertq.WithIgnore(assertq.Matching(`^SELECT name FROM store`))},
			check: func(t *testing.T, qs assertq.Queries) {
				if len(qs) != 1 || qs[0].Fingerprint != "SELECT count(*) FROM product" {
					t.Errorf("got\n%s\nwant only the count", qs)
				}
			},
		},
		{
			name: "the last WithIgnore wins",
			opts: []assertq.Option{assertq.WithIgnore(assertq.Table("product")), assertq.WithIgnore(assertq.Matching(`^SELECT name FROM store`))},
			check: func(t *testing.T, qs assertq.Queries) {
				if len(qs) != 1 || qs[0].Fingerprint != "SELECT count(*) FROM product" {
					t.Errorf("got\n%s\nwant only the count", qs)
				}
			},
		},
		{
			name: "HideArgs keeps values out of messages",
			opts: []assertq.Option{assertq.HideArgs()},
			check: func(t *testing.T, qs assertq.Queries) {
				msg := fmt.Sprint(assertq.Verify(qs, assertq.NoNPlusOne()))
				if !strings.Contains(msg, "N+1") || strings.Contains(msg, "args:") {
					t.Errorf("message shows arguments or no N+1:\n%s", msg)
				}
			},
		},
		{
			name: "arguments shown by default",
			check: func(t *testing.T, qs assertq.Queries) {
				msg := fmt.Sprint(assertq.Verify(qs, assertq.NoNPlusOne()))
				if !strings.Contains(msg, "args: (1) (2) (3)") {
					t.Errorf("message does not show the arguments:\n%s", msg)
				}
			},
		},
		{
			name: "LibraryCode moves the call site to the caller",
			opts: []assertq.Option{assertq.WithLibraryCode("github.com/dbsuite/dbsuite/assertq_test.loop")},
			check: func(t *testing.T, qs assertq.Queries) {
				if f := qs[0].Caller.Func; !strings.Contains(f, "TestRecorderOptions") {
					t.Errorf("call site in %s, want the test that called loop", f)
				}
			},
		},
		{
			name: "call site is loop by default",
			check: func(t *testing.T, qs assertq.Queries) {
				if f := qs[0].Caller.Func; !strings.HasSuffix(f, "assertq_test.loop") {
					t.Errorf("call site in %s, want loop", f)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t, tt.opts...)
			pool := tracedPool(t, db, rec.Tracer())
			loop(t.Context(), pool)
			must(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM product").Scan(new(int)))
			tt.check(t, rec.Queries())
		})
	}
}
