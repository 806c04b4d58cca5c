package assertq_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/overhead"
)

// BenchmarkPreflightPerShape measures what Preflight adds to a statement shape it has not seen: EXPLAIN
// (FORMAT JSON, VERBOSE) on the code's connection, the catalog read of the tables' sizes and statistics, and the
// rule. The correlated-subquery fix of the seed trap runs bare and under a fresh Recorder with
// Preflight(NoRowExplosion()) in turn, on one connection; "preflight-overhead-%" over "bare-ns/query" is the cost
// of one new shape. The tables are analyzed once, before the timing.
func BenchmarkPreflightPerShape(b *testing.B) {
	db := containers.Postgres(b).Database(b, containers.WithTemplate(trapTemplate))
	ctx := context.Background()
	sw := &overhead.Switch{}
	cfg, err := pgx.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	cfg.Tracer = overhead.NewTracer(sw, assertq.SharedTracer())
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	overhead.Compare(b, sw, []string{"bare", "preflight"}, func() {
		rec := assertq.New(b, assertq.Preflight(assertq.NoRowExplosion()))
		if err := runAll(rec.Context(ctx), conn, subquery); err != nil {
			b.Fatal(err)
		}
	})
}
