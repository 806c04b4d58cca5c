// Package mailer is the huge-IN-list story: purging the deliveries of
// 100,000 mailers with one DELETE ... WHERE mailer_id IN (<100,000 ids>)
// sends, parses and plans a 700 KB statement, and the planner reads the
// whole table; the same purge in batches of 1,000 ids, each one array
// parameter (= ANY($1)), uses the index.
package mailer

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Schema creates the tables.
const Schema = `
CREATE TABLE mailers (
	id   bigint PRIMARY KEY,
	name text NOT NULL
);
CREATE TABLE deliveries (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	mailer_id bigint NOT NULL REFERENCES mailers (id),
	sent_at   timestamptz NOT NULL
);
CREATE INDEX deliveries_mailer_id_idx ON deliveries (mailer_id);
`

// Seed fills the tables: mailers mailers, one delivery each.
func Seed(mailers int) string {
	n := strconv.Itoa(mailers)
	return `INSERT INTO mailers SELECT i, 'mailer ' || i FROM generate_series(1, ` + n + `) i;
INSERT INTO deliveries (mailer_id, sent_at) SELECT i, now() - i * interval '1 minute' FROM generate_series(1, ` + n + `) i;`
}

// DB is what the purges need: a pgx pool, connection or transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

var _ DB = (*pgx.Conn)(nil)

// PurgeInList deletes the deliveries of ids with one statement that lists
// every id: the trap.
func PurgeInList(ctx context.Context, db DB, ids []int64) (int64, error) {
	var b strings.Builder
	b.WriteString("DELETE FROM deliveries WHERE mailer_id IN (")
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteString(")")
	tag, err := db.Exec(ctx, b.String())
	return tag.RowsAffected(), err
}

// BatchSize is how many ids one statement of [Purge] takes.
const BatchSize = 1000

// Purge deletes the deliveries of ids in batches of [BatchSize], each one
// array parameter: the fix.
func Purge(ctx context.Context, db DB, ids []int64) (int64, error) {
	var total int64
	for start := 0; start < len(ids); start += BatchSize {
		batch := ids[start:min(start+BatchSize, len(ids))]
		tag, err := db.Exec(ctx, "DELETE FROM deliveries WHERE mailer_id = ANY($1)", batch)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
	}
	return total, nil
}
