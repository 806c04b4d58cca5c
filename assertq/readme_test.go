package assertq_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/readme"
)

// The code of the README's assertq section, which TestReadme keeps in step.

// readme:begin
type Summary struct {
	Store    string
	Products int
}

// Summaries is the code under test: every store with its number of products, in one query.
func Summaries(ctx context.Context, db *pgxpool.Pool) ([]Summary, error) {
	rows, _ := db.Query(ctx, `SELECT s.name, count(p.id) FROM store s
		LEFT JOIN product p ON p.store_id = s.id GROUP BY s.name ORDER BY s.name`)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Summary])
}

func TestSummaries(t *testing.T) {
	rec := assertq.New(t, assertq.Strict()) // Strict: any N+1 this test makes fails it
	cfg, err := pgxpool.ParseConfig(containers.Postgres(t).Database(t).DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec.Tracer(cfg.ConnConfig.Tracer) // keeps a tracer already set
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	setup := assertq.Allow(t.Context()) // set-up queries: recorded, never checked
	if _, err := pool.Exec(setup, `CREATE TABLE store (id int PRIMARY KEY, name text);
		CREATE TABLE product (id int PRIMARY KEY, store_id int REFERENCES store);
		INSERT INTO store VALUES (1, 'Bergen'), (2, 'Oslo'); INSERT INTO product VALUES (1, 1), (2, 1), (3, 2)`); err != nil {
		t.Fatal(err)
	}

	queries := assertq.Expect(t, rec, func(ctx context.Context) {
		if _, err := Summaries(ctx, pool); err != nil {
			t.Error(err)
		}
	}, assertq.Count(1), assertq.NoNPlusOne(), assertq.AtMost(0, assertq.Insert, assertq.Update, assertq.Delete))
	assertq.Golden(t, queries) // testdata/TestSummaries.queries; go test -update rewrites it
}

// readme:end

// TestReadme checks that the Go block of the README's assertq section is the code above.
func TestReadme(t *testing.T) {
	t.Parallel()
	readme.CheckSection(t, "assertq")
}
