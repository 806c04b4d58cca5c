package mailer_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/mailer"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// template holds 200,000 mailers with one delivery each, never analyzed.
var template = containers.NewTemplate("mailer", containers.HashOf(mailer.Schema, mailer.Seed(200_000)),
	func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, mailer.Schema+mailer.Seed(200_000))
		return err
	})

// TestPurge purges the deliveries of every other mailer, 100,000 ids, both ways: the IN list is flagged for its
// length and for reading the whole table; the batches pass.
func TestPurge(t *testing.T) {
	t.Parallel()
	ids := make([]int64, 100_000)
	for i := range ids {
		ids[i] = int64(2*i + 1)
	}
	checks := []assertq.Check{assertq.NoLongLists(), assertq.NoSeqScan(assertq.Only(assertq.Delete, assertq.Table("deliveries")))}
	tests := []struct {
		name      string
		purge     func(context.Context, mailer.DB, []int64) (int64, error)
		preflight bool
		want      []string
	}{
		{name: "one IN list", purge: mailer.PurgeInList, want: []string{
			"assertq: long list: an IN (...) list of 100,000 items in one statement, want at most 1,000",
			// checked after it ran: the plan is of the table without the deleted rows
			"assertq: sequential scan of deliveries (100,000 rows), want an index scan on tables of 10,000 rows or more",
			"an index on mailer_id exists (deliveries_mailer_id_idx)",
		}},
		{name: "one IN list, stopped by Preflight", purge: mailer.PurgeInList, preflight: true, want: []string{
			"assertq: long list: an IN (...) list of 100,000 items in one statement, want at most 1,000",
			// Expect's check after the stop: the table as the statement would have read it
			"assertq: sequential scan of deliveries (200,000 rows), want an index scan on tables of 10,000 rows or more",
		}},
		{name: "batches of one array each", purge: mailer.Purge},
		{name: "batches of one array each, with Preflight", purge: mailer.Purge, preflight: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := containers.Postgres(t).Database(t, containers.WithTemplate(template))
			ct := faketb.New(t, "")
			var opts []assertq.Option
			if tt.preflight {
				opts = append(opts, assertq.Preflight(checks...))
			}
			rec := assertq.New(ct, opts...)
			pool := db.Pool(t, containers.WithTracer(rec.Tracer()))

			var deleted int64
			var err error
			var took time.Duration
			assertq.Expect(ct, rec, func(ctx context.Context) {
				start := time.Now()
				deleted, err = tt.purge(ctx, pool, ids)
				took = time.Since(start)
			}, checks...)
			if tt.preflight && len(tt.want) > 0 {
				require.ErrorIs(t, err, assertq.ErrPreflight)
				assert.Zero(t, deleted, "stopped before it ran")
				t.Logf("stopped in %v", took.Round(time.Millisecond))
			} else {
				require.NoError(t, err)
				assert.Equal(t, int64(100_000), deleted)
				t.Logf("purged %d deliveries in %v", deleted, took.Round(time.Millisecond))
			}
			if len(tt.want) == 0 {
				assert.Empty(t, ct.Failures())
				return
			}
			for _, w := range tt.want {
				assert.Contains(t, ct.Failures(), w)
			}
			t.Logf("caught:\n%s", ct.Failures())
		})
	}
}
