//go:build unix

package containers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/containers"
)

// stockSettings are PostgreSQL 15's defaults for every setting
// ThrowawaySettings changes: the baseline the preset is measured against.
var stockSettings = containers.Settings{
	"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
	"checkpoint_timeout": "5min", "max_wal_size": "1GB", "autovacuum": "on", "jit": "on",
	"wal_level": "replica", "max_wal_senders": "10", "max_connections": "100",
}

// BenchmarkSettings runs the same work on a server with PostgreSQL's
// stock settings and on one with ThrowawaySettings, side by side:
//
//	go test -run '^$' -bench BenchmarkSettings -benchtime 200x ./containers/
func BenchmarkSettings(b *testing.B) {
	configs := []struct {
		name string
		opts []containers.Option
	}{
		{"stock", []containers.Option{containers.WithSettings(stockSettings)}},
		{"tuned", nil},
	}
	for _, cfg := range configs {
		srv := containers.Postgres(b, cfg.opts...)
		b.Run(cfg.name+"/clone", func(b *testing.B) {
			for b.Loop() {
				srv.Database(b) // dropped when the benchmark ends
			}
		})
		db := srv.Database(b)
		conn, err := pgx.Connect(b.Context(), db.DSN())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(b.Context(), "CREATE TABLE t (id int primary key, v text)"); err != nil {
			b.Fatal(err)
		}
		b.Run(cfg.name+"/commit", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := conn.Exec(b.Context(), "INSERT INTO t VALUES ($1, 'x')", i); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(cfg.name+"/copy15k", func(b *testing.B) {
			rows := make([][]any, 15000)
			for i := range rows {
				rows[i] = []any{i, fmt.Sprintf("row %d", i)}
			}
			n := 0
			for b.Loop() {
				n++
				tx, err := conn.Begin(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				tbl := fmt.Sprintf("c%d", n)
				if _, err := tx.Exec(b.Context(), "CREATE TABLE "+tbl+" (id int primary key, v text)"); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.CopyFrom(b.Context(), pgx.Identifier{tbl}, []string{"id", "v"}, pgx.CopyFromRows(rows)); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
