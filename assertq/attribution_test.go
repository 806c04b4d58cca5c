package assertq_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// Tests of context-less code on a shared pool are not parallel: such queries are tied by time to any open block.

// tagged runs n queries tagged with tag, through a pool: SELECT tag, i, after a short sleep so that blocks overlap.
func tagged(t testing.TB, ctx context.Context, pool *pgxpool.Pool, tag, n int) {
	for i := range n {
		if err := pool.QueryRow(ctx, "SELECT $1::int, $2::int, pg_sleep(0.001)::text", tag, i).Scan(new(int), new(int), new(string)); err != nil {
			t.Errorf("query: %v", err)
		}
	}
}

// TestParallelSubtestsShareOneRecorder: 50 parallel subtests share one Recorder and two pools (one wired with
// the Recorder's tracer, one with SharedTracer), half of them passing the block's context to their code and half
// dropping it. No query may be counted for the wrong block; a block that could not be told its queries must say so.
func TestParallelSubtestsShareOneRecorder(t *testing.T) {
	db := shop(t)
	rec := assertq.New(t)
	pools := map[string]*pgxpool.Pool{
		"recorder's tracer": tracedPool(t, db, rec.Tracer()),
		"shared tracer":     tracedPool(t, db, assertq.SharedTracer()),
	}
	var mu sync.Mutex
	outcome := map[string]int{}
	t.Run("subtests", func(t *testing.T) {
		for i := range 50 {
			wiring := []string{"recorder's tracer", "shared tracer"}[i%2]
			withCtx := i%4 < 2
			t.Run(fmt.Sprintf("%02d %s context %v", i, wiring, withCtx), func(t *testing.T) {
				t.Parallel()
				fake := faketb.New(nil, t.Name())
				n := 1 + i%3
				qs := assertq.Expect(fake, rec, func(ctx context.Context) {
					if !withCtx {
						ctx = context.Background() // code that drops the context: a global *gorm.DB without WithContext
					}
					tagged(t, ctx, pools[wiring], i, n)
				}, assertq.Count(n))
				for _, q := range qs {
					if q.Args[0] != i {
						t.Errorf("block %d counted a query of block %v", i, q.Args[0])
					}
				}
				msg := fake.Failures()
				switch {
				case withCtx && msg != "":
					t.Errorf("code that passes the context failed:\n%s", msg)
				case !withCtx && len(qs) != n && !strings.Contains(msg, "could not be attributed"):
					t.Errorf("block saw %d of its %d queries without saying why:\n%s", len(qs), n, msg)
				case !withCtx && len(qs) == n && msg != "":
					t.Errorf("block saw all its queries but failed:\n%s", msg)
				}
				mu.Lock()
				outcome[fmt.Sprintf("context %v, attributed %v", withCtx, len(qs) == n)]++
				mu.Unlock()
			})
		}
	})
	t.Logf("outcomes: %v", outcome)
	// Findings (what Strict reports) group queries per block: never the queries of several subtests, not even
	// those that could not be attributed.
	for _, f := range rec.Queries().Findings() {
		for _, q := range f.Queries {
			if q.Args[0] != f.Queries[0].Args[0] {
				t.Errorf("a finding groups the queries of blocks %v and %v:\n%s", f.Queries[0].Args[0], q.Args[0], f)
				break
			}
		}
	}
}

// TestContextlessCodeOnASharedPool: code that never passes a context, on a pool or database/sql handle many tests
// share. With one block open, the block sees the queries by time and its failure says so: no "0 queries".
func TestContextlessCodeOnASharedPool(t *testing.T) {
	db := shop(t)
	pool := tracedPool(t, db, assertq.SharedTracer())
	sdb := sharedSQL(t, db)
	tests := []struct {
		name   string
		lookup func(id int) error
	}{
		{name: "pgx", lookup: func(id int) error {
			return pool.QueryRow(context.Background(), "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
		}},
		{name: "database_sql", lookup: func(id int) error {
			return sdb.QueryRowContext(context.Background(), "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := assertq.New(t)
			fake := faketb.New(nil, t.Name())
			qs := assertq.Expect(fake, rec, func(context.Context) {
				for id := 1; id <= 5; id++ {
					must(t, tt.lookup(id))
				}
				must(t, tt.lookup(1))
			}, assertq.NoNPlusOne())
			if len(qs) != 6 {
				t.Fatalf("the block saw %d queries, want 6", len(qs))
			}
			checkGolden(t, "messages/contextless_"+tt.name, stableLines(fake.Failures())+"\n")
			if n := len(rec.Queries()); n != 6 {
				t.Errorf("Queries() has %d, want the block's 6", n)
			}
		})
	}
}

// TestContextlessStrictOnASharedPool: Strict, no Expect, code without a context on a shared pool: with its test
// the only one alive, the Recorder gets the queries, and its failure says how it got them.
func TestContextlessStrictOnASharedPool(t *testing.T) {
	db := shop(t)
	pool := tracedPool(t, db, assertq.SharedTracer())
	fake := faketb.New(nil, t.Name())
	assertq.New(fake, assertq.Strict())
	for id := 1; id <= 4; id++ {
		storeLookup(context.Background(), pool, id)
	}
	fake.Finish()
	checkGolden(t, "messages/contextless_strict", stableLines(fake.Failures())+"\n")
}

// TestStraysReported: two blocks open at once, code without a context on a shared pool: neither block can be
// told its queries, and each says so rather than pass with 0 queries.
func TestStraysReported(t *testing.T) {
	db := shop(t)
	pool := tracedPool(t, db, assertq.SharedTracer())
	rec := assertq.New(t)
	var opened, ran, done sync.WaitGroup
	opened.Add(2)
	ran.Add(2)
	fakes := []*faketb.TB{faketb.New(nil, "TestA"), faketb.New(nil, "TestB")}
	for i, fake := range fakes {
		done.Go(func() {
			assertq.Expect(fake, rec, func(context.Context) {
				opened.Done()
				opened.Wait() // both blocks are open
				tagged(t, context.Background(), pool, i, 3)
				ran.Done()
				ran.Wait() // and stay open until both have run their queries
			}, assertq.NoNPlusOne())
		})
	}
	done.Wait()
	for _, fake := range fakes {
		msg := fake.Failures()
		if !strings.Contains(msg, "could not be attributed, so this block's checks saw 0 queries") || !strings.Contains(msg, "rec.Context(ctx)") {
			t.Errorf("%s passed or did not say why:\n%s", fake.Name(), msg)
		}
	}
	checkGolden(t, "messages/strays", fakes[0].Failures()+"\n")
}

// TestStrayLoopReported: block A runs one query with its context, then a lazy loop without one, while block B is
// open: the loop cannot be tied to A or B, and A (which saw queries of its own) must not pass it with a log line.
func TestStrayLoopReported(t *testing.T) {
	db := shop(t)
	rec := assertq.New(t)
	pool := tracedPool(t, db, rec.Tracer())
	fa, fb := faketb.New(nil, "TestA"), faketb.New(nil, "TestB")
	bOpen, aDone := make(chan struct{}), make(chan struct{})
	var done sync.WaitGroup
	done.Go(func() {
		assertq.Expect(fb, rec, func(ctx context.Context) {
			tagged(t, ctx, pool, 9, 1)
			close(bOpen)
			<-aDone
		}, assertq.NoNPlusOne())
	})
	<-bOpen
	assertq.Expect(fa, rec, func(ctx context.Context) {
		tagged(t, ctx, pool, 1, 1)
		for id := range 6 {
			storeLookup(context.Background(), pool, id) // a helper that drops the context
		}
	}, assertq.NoNPlusOne())
	close(aDone)
	done.Wait()
	msg := fa.Failures()
	if !strings.Contains(msg, "could not be attributed") || !strings.Contains(msg, "N+1") {
		t.Errorf("block A passed a stray N+1 or did not say it could not be attributed:\n%s", msg)
	}
	checkGolden(t, "messages/stray_loop", stableLines(msg)+"\n")
}

// TestStrictGroupsPerBlock: under Strict, a table-driven test's cases, one Expect each from the same call site,
// are not an N+1 across each other; a loop inside one block is.
func TestStrictGroupsPerBlock(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name  string
		run   func(t *testing.T, fake *faketb.TB, rec *assertq.Recorder, pool *pgxpool.Pool)
		fails bool
	}{
		{name: "one block per case", run: func(t *testing.T, fake *faketb.TB, rec *assertq.Recorder, pool *pgxpool.Pool) {
			for _, id := range []int{1, 2, 3} {
				assertq.Expect(fake, rec, func(ctx context.Context) { storeLookup(ctx, pool, id) }, assertq.Count(1))
			}
		}},
		{name: "a loop inside one block", fails: true, run: func(t *testing.T, fake *faketb.TB, rec *assertq.Recorder, pool *pgxpool.Pool) {
			assertq.Expect(fake, rec, func(ctx context.Context) {
				for _, id := range []int{1, 2, 3} {
					storeLookup(ctx, pool, id)
				}
			})
		}},
		{name: "a loop of blocks inside one block", fails: true, run: func(t *testing.T, fake *faketb.TB, rec *assertq.Recorder, pool *pgxpool.Pool) {
			assertq.Expect(fake, rec, func(ctx context.Context) {
				for _, id := range []int{1, 2, 3} {
					assertq.Expect(fake, rec, func(ctx context.Context) { storeLookup(ctx, pool, id) }, assertq.Count(1))
				}
			})
		}},
		{name: "a loop outside blocks", fails: true, run: func(t *testing.T, fake *faketb.TB, rec *assertq.Recorder, pool *pgxpool.Pool) {
			for _, id := range []int{1, 2, 3} {
				storeLookup(t.Context(), pool, id)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := faketb.New(nil, t.Name())
			rec := assertq.New(fake, assertq.Strict())
			pool := tracedPool(t, db, rec.Tracer())
			tt.run(t, fake, rec, pool)
			if msg := fake.Failures(); msg != "" {
				t.Fatalf("failed before cleanup:\n%s", msg)
			}
			fake.Finish()
			if msg := fake.Failures(); (msg != "") != tt.fails {
				t.Errorf("Strict failed = %v, want %v:\n%s", msg != "", tt.fails, msg)
			}
		})
	}
}

func storeLookup(ctx context.Context, pool *pgxpool.Pool, id int) {
	_ = pool.QueryRow(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
}

// TestDoubleWiring: the pgx config's tracer and the connector both from one Recorder, on one connection: each
// statement is recorded once, not reported as a duplicate.
func TestDoubleWiring(t *testing.T) {
	t.Parallel()
	db := shop(t)
	tests := []struct {
		name   string
		tracer func(rec *assertq.Recorder) pgx.QueryTracer
	}{
		{name: "recorder's tracer", tracer: func(rec *assertq.Recorder) pgx.QueryTracer { return rec.Tracer() }},
		{name: "shared tracer", tracer: func(*assertq.Recorder) pgx.QueryTracer { return assertq.SharedTracer() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			cfg, err := pgx.ParseConfig(db.DSN())
			must(t, err)
			cfg.Tracer = tt.tracer(rec)
			sdb := sql.OpenDB(rec.Connector(stdlib.GetConnector(*cfg)))
			t.Cleanup(func() { sdb.Close() })
			qs := assertq.Expect(t, rec, func(ctx context.Context) {
				must(t, sdb.QueryRowContext(ctx, "SELECT name FROM store WHERE id = $1", 1).Scan(new(string)))
				tx, err := sdb.BeginTx(ctx, nil)
				must(t, err)
				_, err = tx.ExecContext(ctx, "UPDATE store SET name = name WHERE id = $1", 2)
				must(t, err)
				must(t, tx.Commit())
			}, assertq.NoNPlusOne(), assertq.Count(2))
			if len(qs) != 4 { // BEGIN, SELECT, UPDATE, COMMIT
				t.Errorf("recorded %d statements, want 4:\n%s", len(qs), qs)
			}
		})
	}
}

// TestStrictReportsAtTheTest runs itself as a child test whose Strict recorder finds an N+1 at cleanup, and checks
// that go test prints the failure at the child's line that called New, not inside assertq.
func TestStrictReportsAtTheTest(t *testing.T) {
	if os.Getenv("ASSERTQ_STRICT_CHILD") == "1" {
		rec, line := assertq.New(t, assertq.Strict()), callerLine()
		t.Logf("New at line %d", line)
		db, mock := mockDB(t, rec)
		mock.MatchExpectationsInOrder(false)
		for id := 1; id <= 3; id++ {
			mock.ExpectQuery("SELECT name FROM store WHERE id = $1").WillReturnRows(sqlmock.NewRows([]string{"name"}).AddRow("x"))
		}
		for id := 1; id <= 3; id++ {
			_ = db.QueryRowContext(t.Context(), "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
		}
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStrictReportsAtTheTest$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "ASSERTQ_STRICT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child passed, want a Strict failure:\n%s", out)
	}
	m := regexp.MustCompile(`New at line (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the child did not log its line:\n%s", out)
	}
	if want := fmt.Sprintf("attribution_test.go:%s: assertq: N+1", m[1]); !strings.Contains(string(out), want) {
		t.Errorf("the failure is not reported at the test's line (%q):\n%s", want, out)
	}
}

// callerLine returns the line of its caller.
func callerLine() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

// TestStrictStrays: two tests alive, each with a Strict Recorder, code without a context on a shared pool and no
// Expect: neither Recorder can be told its queries; the one that saw none fails saying why.
func TestStrictStrays(t *testing.T) {
	db := shop(t)
	pool := tracedPool(t, db, assertq.SharedTracer())
	quiet, other := faketb.New(nil, "TestQuiet"), faketb.New(nil, "TestOther")
	assertq.New(quiet, assertq.Strict())
	assertq.New(other, assertq.Strict())
	for id := 1; id <= 3; id++ {
		storeLookup(context.Background(), pool, id)
	}
	other.Finish()
	quiet.Finish()
	checkGolden(t, "messages/strict_strays", quiet.Failures()+"\n")
}

// TestStrictLeavesCheckedBlocks: a block whose Expect checked NoNPlusOne reported its N+1 already; Strict does not
// report it again at cleanup, but still reports one in a block that did not check.
func TestStrictLeavesCheckedBlocks(t *testing.T) {
	t.Parallel()
	db := shop(t)
	fake := faketb.New(nil, t.Name())
	rec := assertq.New(fake, assertq.Strict())
	pool := tracedPool(t, db, rec.Tracer())
	loop3 := func(ctx context.Context) {
		for _, id := range []int{1, 2, 3} {
			storeLookup(ctx, pool, id)
		}
	}
	assertq.Expect(fake, rec, loop3, assertq.NoNPlusOne())
	assertq.Expect(fake, rec, loop3, assertq.AtMost(5))
	fake.Finish()
	if got := strings.Count(fake.Failures(), "assertq: N+1: 3 queries"); got != 2 {
		t.Errorf("the N+1 was reported %d times, want twice (by the checking block, and by Strict for the other):\n%s", got, fake.Failures())
	}
}
