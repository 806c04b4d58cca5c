package assertq_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/assertq"
)

// TestRemedyOnRealStacks runs loops through pgx and database/sql on a real database and checks that the fix
// names the library the code called (found in the call stack) or the sqlc query (found in the SQL).
func TestRemedyOnRealStacks(t *testing.T) {
	t.Parallel()
	db := shop(t)
	if _, err := db.Pool(t).Exec(context.Background(),
		"CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created_at timestamptz NOT NULL, store_id int NOT NULL, note text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		run  func(t *testing.T, rec *assertq.Recorder, ctx context.Context) error
		want []string
	}{
		{name: "pgx update loop", want: []string{"or queue them in one pgx.Batch"},
			run: func(t *testing.T, rec *assertq.Recorder, ctx context.Context) error {
				pool := tracedPool(t, db, rec.Tracer())
				for id := 1; id <= 3; id++ {
					if _, err := pool.Exec(ctx, "UPDATE product SET name = name WHERE id = $1", id); err != nil {
						return err
					}
				}
				return nil
			}},
		{name: "database/sql delete loop", want: []string{"fix: delete the rows in one statement over arrays: WHERE id = ANY($1)"},
			run: func(t *testing.T, rec *assertq.Recorder, ctx context.Context) error {
				sdb := recordedSQL(t, rec, db)
				for id := 1; id <= 3; id++ {
					if _, err := sdb.ExecContext(ctx, "DELETE FROM product WHERE id = $1", id); err != nil {
						return err
					}
				}
				return nil
			}},
		{name: "database/sql insert loop, keys before timestamps",
			want: []string{`args: (store_id=1, note="note 1", created_at=2026-11-26T12:00:00Z)`, "pgx's CopyFrom through sql.Conn.Raw"},
			run: func(t *testing.T, rec *assertq.Recorder, ctx context.Context) error {
				sdb := recordedSQL(t, rec, db)
				for i := 1; i <= 3; i++ {
					if _, err := sdb.ExecContext(ctx, "INSERT INTO audit (created_at, store_id, note) VALUES ($1, $2, $3)", at, i, "note "+string(rune('0'+i))); err != nil {
						return err
					}
				}
				return nil
			}},
		{name: "sqlc over pgx",
			want: []string{"3× GetStore: SELECT name FROM store WHERE id = ?", "fix: fetch store in one call, not GetStore once per row"},
			run: func(t *testing.T, rec *assertq.Recorder, ctx context.Context) error {
				const getStore = "-- name: GetStore :one\nSELECT name FROM store\nWHERE id = $1\n"
				pool := tracedPool(t, db, rec.Tracer())
				for id := 1; id <= 3; id++ {
					var name string
					if err := pool.QueryRow(ctx, getStore, id).Scan(&name); err != nil {
						return err
					}
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := assertq.New(t)
			if err := tt.run(t, rec, t.Context()); err != nil {
				t.Fatal(err)
			}
			err := assertq.Verify(rec.Queries(), assertq.NoNPlusOne())
			if err == nil {
				t.Fatal("Verify passed a loop of 3 queries, want a finding")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the message lacks %q:\n%v", want, err)
				}
			}
			if !strings.Contains(err.Error(), "remedy_test.go:") {
				t.Errorf("the call site is not this test's loop:\n%v", err)
			}
		})
	}
}
