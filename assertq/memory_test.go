package assertq_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// suiteQueries plays n queries of a long suite through a Recorder's pgx tracer, without a server: lookups from a
// few call sites with ever new arguments, an N+1 among them.
func suiteQueries(tracer *assertq.Tracer, n int) {
	ctx := context.Background()
	queries := []string{"SELECT name FROM store WHERE id = $1", "SELECT id FROM product WHERE store_id = $1", "UPDATE store SET name = $2 WHERE id = $1"}
	for i := range n {
		sql := queries[i%len(queries)]
		args := []any{i}
		if i%len(queries) == 2 {
			args = append(args, "x")
		}
		qctx := tracer.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: sql, Args: args})
		tracer.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
	}
}

// TestStrictHoldsBoundedRecords: a Strict Recorder that sees many queries keeps WithMaxQueries of them in full and
// counts the rest per statement, and still reports each finding with its full count.
func TestStrictHoldsBoundedRecords(t *testing.T) {
	t.Parallel()
	const n, max = 30_000, 1_000
	fake := faketb.New(nil, t.Name())
	rec := assertq.New(fake, assertq.Strict(), assertq.WithMaxQueries(max))
	t.Cleanup(fake.Finish)
	suiteQueries(rec.Tracer(), n)
	entries, pending, groups := assertq.Held(rec)
	if entries != max || pending >= 4096 || groups != 3 {
		t.Errorf("holds %d queries in full, %d pending, %d groups; want %d, fewer than 4096, 3", entries, pending, groups, max)
	}
	if got := len(rec.Queries()); got != max {
		t.Errorf("Queries() returned %d, want the cap, %d", got, max)
	}
	err := assertq.StrictError(rec)
	msg := fmt.Sprint(err)
	for _, want := range []string{
		"N+1: 10000 queries of one statement from one call site with over 4096 different arguments",
		"row-by-row writes: 10000 UPDATE queries",
		"10000× SELECT id FROM product WHERE store_id = ?",
		"args: (0) (3) (6) … 4093 more (at least)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Strict message lacks %q:\n%s", want, msg)
		}
	}
}

// BenchmarkStrictMillion records 1,000,000 queries through a Strict Recorder and reports the peak heap while
// recording (sampled every 50,000 queries, after the last fold) and the time the cleanup check takes. Target:
// ≤ 64 MiB and ≤ 100 ms.
//
//	go test -run '^$' -bench StrictMillion -benchtime 1x -count 3 ./assertq/
func BenchmarkStrictMillion(b *testing.B) {
	const n, step = 1_000_000, 50_000
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		peak := uint64(0)
		fake := faketb.New(nil, b.Name())
		rec := assertq.New(fake, assertq.Strict())
		tracer := rec.Tracer()
		for range n / step {
			suiteQueries(tracer, step)
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
		}
		start := time.Now()
		fake.Finish()
		cleanup := time.Since(start)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
		if !strings.Contains(fake.Failures(), "N+1") {
			b.Fatalf("Strict found no N+1:\n%s", fake.Failures())
		}
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak")
		b.ReportMetric(float64(cleanup.Microseconds())/1000, "ms-cleanup")
		runtime.KeepAlive(rec)
	}
}
