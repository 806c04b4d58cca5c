package assertq_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// mockDB returns a database/sql handle whose statements rec records, on a go-sqlmock driver: the wiring of the
// database/sql connector, with no server.
func mockDB(t testing.TB, rec *assertq.Recorder) (*sql.DB, sqlmock.Sqlmock) {
	t.Helper()
	dsn := fmt.Sprintf("assertq/%s/%d", t.Name(), mockDSNs.Add(1))
	mdb, mock, err := sqlmock.NewWithDSN(dsn, sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatalf("sqlmock: %v", err)
	}
	t.Cleanup(func() { mdb.Close() })
	db := sql.OpenDB(rec.Connector(assertq.ConnectorOf(mdb.Driver(), dsn)))
	t.Cleanup(func() { db.Close() })
	return db, mock
}

var mockDSNs atomic.Int64

func TestSQLMock(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, db *sql.DB, mock sqlmock.Sqlmock)
		want []want
	}{
		{
			name: "query, exec, rows and rows affected",
			run: func(t *testing.T, ctx context.Context, db *sql.DB, mock sqlmock.Sqlmock) {
				mock.ExpectQuery("SELECT id FROM product WHERE store_id = $1").WithArgs(3).
					WillReturnRows(sqlmock.NewRows([]string{"id"}).AddRow(1).AddRow(2))
				mock.ExpectExec("UPDATE product SET name = $1").WithArgs("x").WillReturnResult(sqlmock.NewResult(0, 7))
				rows, err := db.QueryContext(ctx, "SELECT id FROM product WHERE store_id = $1", 3)
				must(t, err)
				types, err := rows.ColumnTypes()
				must(t, err)
				if len(types) != 1 || types[0].Name() != "id" {
					t.Errorf("column types through the wrapper: %v", types)
				}
				for rows.Next() {
				}
				must(t, rows.Close())
				_, err = db.ExecContext(ctx, "UPDATE product SET name = $1", "x")
				must(t, err)
			},
			want: []want{
				{fingerprint: "SELECT id FROM product WHERE store_id = ?", kind: assertq.Select, args: []any{int64(3)}, rows: 2, tables: []string{"product"}},
				{fingerprint: "UPDATE product SET name = ?", kind: assertq.Update, args: []any{"x"}, rows: 7, tables: []string{"product"}},
			},
		},
		{
			name: "prepared statement recorded with its SQL each time it runs",
			run: func(t *testing.T, ctx context.Context, db *sql.DB, mock sqlmock.Sqlmock) {
				prep := mock.ExpectPrepare("SELECT name FROM store WHERE id = $1")
				prep.ExpectQuery().WithArgs(1).WillReturnRows(sqlmock.NewRows([]string{"name"}).AddRow("a"))
				prep.ExpectQuery().WithArgs(2).WillReturnRows(sqlmock.NewRows([]string{"name"}).AddRow("b"))
				stmt, err := db.PrepareContext(ctx, "SELECT name FROM store WHERE id = $1")
				must(t, err)
				must(t, stmt.QueryRowContext(ctx, 1).Scan(new(string)))
				must(t, stmt.QueryRowContext(ctx, 2).Scan(new(string)))
				must(t, stmt.Close())
			},
			want: []want{
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{int64(1)}, rows: 1, tables: []string{"store"}},
				{fingerprint: "SELECT name FROM store WHERE id = ?", kind: assertq.Select, args: []any{int64(2)}, rows: 1, tables: []string{"store"}},
			},
		},
		{
			name: "transactions",
			run: func(t *testing.T, ctx context.Context, db *sql.DB, mock sqlmock.Sqlmock) {
				mock.ExpectBegin()
				mock.ExpectExec("DELETE FROM store WHERE id = $1").WithArgs(9).WillReturnResult(sqlmock.NewResult(0, 1))
				mock.ExpectCommit()
				mock.ExpectBegin()
				mock.ExpectRollback()
				tx, err := db.BeginTx(ctx, nil)
				must(t, err)
				_, err = tx.ExecContext(ctx, "DELETE FROM store WHERE id = $1", 9)
				must(t, err)
				must(t, tx.Commit())
				tx, err = db.BeginTx(ctx, nil)
				must(t, err)
				must(t, tx.Rollback())
			},
			want: []want{
				{fingerprint: "BEGIN", kind: assertq.Transaction, rows: -1},
				{fingerprint: "DELETE FROM store WHERE id = ?", kind: assertq.Delete, args: []any{int64(9)}, rows: 1, tables: []string{"store"}},
				{fingerprint: "COMMIT", kind: assertq.Transaction, rows: -1},
				{fingerprint: "BEGIN", kind: assertq.Transaction, rows: -1},
				{fingerprint: "ROLLBACK", kind: assertq.Transaction, rows: -1},
			},
		},
		{
			name: "errors",
			run: func(t *testing.T, ctx context.Context, db *sql.DB, mock sqlmock.Sqlmock) {
				mock.ExpectQuery("SELECT 1").WillReturnError(boom)
				mock.ExpectExec("DELETE FROM store").WillReturnError(boom)
				if _, err := db.QueryContext(ctx, "SELECT 1"); !errors.Is(err, boom) {
					t.Errorf("query error %v, want boom", err)
				}
				if _, err := db.ExecContext(ctx, "DELETE FROM store"); !errors.Is(err, boom) {
					t.Errorf("exec error %v, want boom", err)
				}
			},
			want: []want{
				{fingerprint: "SELECT ?", kind: assertq.Select, err: true},
				{fingerprint: "DELETE FROM store", kind: assertq.Delete, tables: []string{"store"}, err: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			db, mock := mockDB(t, rec)
			tt.run(t, t.Context(), db, mock)
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Errorf("sqlmock: %v", err)
			}
			got := rec.Queries()
			if len(got) != len(tt.want) {
				t.Fatalf("recorded %d queries, want %d:\n%s", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				q := got[i]
				if q.Fingerprint != w.fingerprint || q.Kind != w.kind || !reflect.DeepEqual(q.Args, w.args) ||
					!reflect.DeepEqual(q.Tables, w.tables) || (q.Err != nil) != w.err || (!w.err && q.Rows != w.rows) {
					t.Errorf("query %d: %q %s args %#v tables %q rows %d err %v\nwant %q %s args %#v tables %q rows %d err %v",
						i, q.Fingerprint, q.Kind, q.Args, q.Tables, q.Rows, q.Err, w.fingerprint, w.kind, w.args, w.tables, w.rows, w.err)
				}
				if !strings.HasSuffix(q.Caller.File, "sqlmock_test.go") {
					t.Errorf("query %d: caller %s, want a line of sqlmock_test.go", i, q.Caller)
				}
			}
		})
	}
}

func TestSQLMockNPlusOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(ctx context.Context, db *sql.DB)
		want []finding
	}{
		{name: "loop of lookups", want: []finding{{kind: assertq.NPlusOne, count: 3}}, run: func(ctx context.Context, db *sql.DB) {
			for id := 1; id <= 3; id++ {
				_ = db.QueryRowContext(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
			}
		}},
		{name: "two call sites", run: func(ctx context.Context, db *sql.DB) {
			_ = db.QueryRowContext(ctx, "SELECT name FROM store WHERE id = $1", 1).Scan(new(string))
			_ = db.QueryRowContext(ctx, "SELECT name FROM store WHERE id = $1", 2).Scan(new(string))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := assertq.New(t)
			db, mock := mockDB(t, rec)
			mock.MatchExpectationsInOrder(false)
			for range 3 {
				mock.ExpectQuery("SELECT name FROM store WHERE id = $1").WillReturnRows(sqlmock.NewRows([]string{"name"}).AddRow("x"))
			}
			tt.run(t.Context(), db)
			checkFindings(t, rec.Queries(), tt.want)
		})
	}
}

// TestMessagesFromRecorder pins what a test prints when Expect, Strict and HideArgs report, recorded through
// go-sqlmock. Line numbers of this file are replaced by N.
func TestMessagesFromRecorder(t *testing.T) {
	t.Parallel()
	lookups := func(ctx context.Context, db *sql.DB) {
		for id := 1; id <= 3; id++ {
			_ = db.QueryRowContext(ctx, "SELECT name FROM store WHERE id = $1", id).Scan(new(string))
		}
	}
	tests := []struct {
		name string
		opts []assertq.Option
		run  func(fake *faketb.TB, rec *assertq.Recorder, db *sql.DB)
	}{
		{name: "expect_summary", run: func(fake *faketb.TB, rec *assertq.Recorder, db *sql.DB) {
			assertq.Expect(fake, rec, func(ctx context.Context) { lookups(ctx, db) }, assertq.AtMost(1), assertq.NoNPlusOne(), assertq.NoQueries(), assertq.AtMost(9))
		}},
		{name: "strict_at_cleanup", opts: []assertq.Option{assertq.Strict()}, run: func(fake *faketb.TB, rec *assertq.Recorder, db *sql.DB) {
			lookups(context.Background(), db)
		}},
		{name: "hide_args", opts: []assertq.Option{assertq.HideArgs()}, run: func(fake *faketb.TB, rec *assertq.Recorder, db *sql.DB) {
			assertq.Expect(fake, rec, func(ctx context.Context) { lookups(ctx, db) }, assertq.NoNPlusOne())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := faketb.New(nil, "TestShop")
			rec := assertq.New(fake, tt.opts...)
			db, mock := mockDB(t, rec)
			mock.MatchExpectationsInOrder(false)
			for range 3 {
				mock.ExpectQuery("SELECT name FROM store WHERE id = $1").WillReturnRows(sqlmock.NewRows([]string{"name"}).AddRow("x"))
			}
			tt.run(fake, rec, db)
			fake.Finish()
			msg := fake.Failures()
			if msg == "" {
				t.Fatal("nothing reported")
			}
			checkGolden(t, "messages/"+tt.name, stableLines(msg)+"\n")
		})
	}
}

// TestGolden runs Golden's modes in a scratch directory: a missing file fails under CI and is written otherwise;
// a match passes, a mismatch shows a diff, -update rewrites.
func TestGolden(t *testing.T) {
	t.Chdir(t.TempDir())
	record := func(t *testing.T, stores int) assertq.Queries {
		rec := assertq.New(t)
		db, mock := mockDB(t, rec)
		mock.MatchExpectationsInOrder(false)
		mock.ExpectQuery("SELECT id FROM store").WillReturnRows(sqlmock.NewRows([]string{"id"}))
		for range stores {
			mock.ExpectQuery("SELECT count(*) FROM product WHERE store_id = $1").WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(1))
		}
		mock.ExpectExec("UPDATE store SET visits = visits + 1").WillReturnResult(sqlmock.NewResult(0, 1))
		ctx := t.Context()
		_, _ = db.ExecContext(ctx, "SELECT id FROM store")
		for id := range stores {
			_ = db.QueryRowContext(ctx, "SELECT count(*) FROM product WHERE store_id = $1", id).Scan(new(int))
		}
		_, _ = db.ExecContext(ctx, "UPDATE store SET visits = visits + 1")
		return rec.Queries()
	}
	fake := faketb.New(nil, "TestShop/list stores")
	assertq.GoldenInCI(fake, record(t, 2))
	checkGolden(t, "messages/golden_missing", fake.Failures()+"\n")
	if _, err := os.Stat(filepath.Join("testdata", "TestShop", "list_stores.queries")); err == nil {
		t.Fatal("Golden wrote a missing file under CI")
	}

	fake = faketb.New(nil, "TestShop/list stores")
	assertq.GoldenComparing(fake, record(t, 2)) // missing outside CI: written
	if msg := fake.Failures(); msg != "" {
		t.Fatalf("writing the golden file failed: %s", msg)
	}
	written, err := os.ReadFile(filepath.Join("testdata", "TestShop", "list_stores.queries"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "messages/golden_file", string(written))

	fake = faketb.New(nil, "TestShop/list stores")
	assertq.GoldenComparing(fake, record(t, 2))
	if msg := fake.Failures(); msg != "" {
		t.Errorf("Golden failed on the queries it wrote: %s", msg)
	}

	fake = faketb.New(nil, "TestShop/list stores")
	assertq.GoldenComparing(fake, record(t, 5))
	checkGolden(t, "messages/golden_mismatch", fake.Failures()+"\n")

	fake = faketb.New(nil, "TestShop/list stores")
	assertq.GoldenUpdating(fake, record(t, 5))
	assertq.GoldenComparing(fake, record(t, 5))
	if msg := fake.Failures(); msg != "" {
		t.Errorf("Golden failed after -update rewrote the file: %s", msg)
	}
}
