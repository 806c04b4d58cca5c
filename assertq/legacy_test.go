package assertq_test

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"testing"

	"github.com/dbsuite/dbsuite/assertq"
)

// legacyDriver is a database/sql driver from before the context interfaces: Conn with Prepare, Begin and the
// deprecated Queryer and Execer, a Stmt with Exec and Query. It answers every query with one row, (1).
type legacyDriver struct{}

func (legacyDriver) Open(string) (driver.Conn, error) { return legacyConn{}, nil }

type legacyConn struct{}

func (legacyConn) Prepare(query string) (driver.Stmt, error) { return legacyStmt{}, nil }
func (legacyConn) Close() error                              { return nil }
func (legacyConn) Begin() (driver.Tx, error)                 { return legacyTx{}, nil }

func (legacyConn) Query(string, []driver.Value) (driver.Rows, error) { return &oneRow{}, nil }

func (legacyConn) Exec(string, []driver.Value) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}

type legacyStmt struct{}

func (legacyStmt) Close() error  { return nil }
func (legacyStmt) NumInput() int { return -1 }

func (legacyStmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(1), nil }

func (legacyStmt) Query([]driver.Value) (driver.Rows, error) { return &oneRow{}, nil }

type legacyTx struct{}

func (legacyTx) Commit() error   { return nil }
func (legacyTx) Rollback() error { return nil }

type oneRow struct{ done bool }

func (*oneRow) Columns() []string { return []string{"n"} }
func (*oneRow) Close() error      { return nil }
func (r *oneRow) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(1)
	return nil
}

// TestLegacyDriver: the connector records a driver without the context interfaces through its fallbacks, and
// says what it cannot do for one.
func TestLegacyDriver(t *testing.T) {
	t.Parallel()
	rec := assertq.New(t)
	db := sql.OpenDB(rec.Connector(assertq.ConnectorOf(legacyDriver{}, "legacy")))
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	must(t, db.QueryRowContext(ctx, "SELECT n FROM t WHERE id = $1", 1).Scan(new(int)))
	_, err := db.ExecContext(ctx, "UPDATE t SET n = n WHERE id = $1", 2)
	must(t, err)
	stmt, err := db.PrepareContext(ctx, "SELECT n FROM t WHERE id = $1")
	must(t, err)
	must(t, stmt.QueryRowContext(ctx, 3).Scan(new(int)))
	_, err = stmt.ExecContext(ctx, 4)
	must(t, err)
	tx, err := db.BeginTx(ctx, nil)
	must(t, err)
	must(t, tx.Commit())
	if qs := rec.Queries(); len(qs) != 6 {
		t.Errorf("recorded %d statements, want 6:\n%s", len(qs), qs)
	}

	tests := []struct {
		name string
		run  func() error
	}{
		{name: "legacy_named_argument", run: func() error {
			return db.QueryRowContext(ctx, "SELECT n FROM t WHERE id = @id", sql.Named("id", 1)).Scan(new(int))
		}},
		{name: "legacy_transaction_options", run: func() error {
			_, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error, want one saying what the driver cannot do")
			}
			checkGolden(t, "messages/"+tt.name, fmt.Sprintln(err))
		})
	}
}
