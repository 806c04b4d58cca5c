package overhead

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
)

// fakeConn is a driver connection that counts its queries and returns one empty row set each time.
type fakeConn struct{ queries int }

func (c *fakeConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (c *fakeConn) Close() error                        { return nil }
func (c *fakeConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }
func (c *fakeConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	c.queries++
	return emptyRows{}, nil
}

type emptyRows struct{}

func (emptyRows) Columns() []string         { return []string{"x"} }
func (emptyRows) Close() error              { return nil }
func (emptyRows) Next([]driver.Value) error { return io.EOF }

type fakeConnector struct{ conn *fakeConn }

func (f fakeConnector) Connect(context.Context) (driver.Conn, error) { return f.conn, nil }
func (f fakeConnector) Driver() driver.Driver                        { return Fixed{Conn: f.conn} }

// countingConn is a variant: a wrapper that counts the queries it passes on.
type countingConn struct {
	*fakeConn
	seen int
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.seen++
	return c.fakeConn.QueryContext(ctx, q, args)
}

func TestConnectorSwitches(t *testing.T) {
	t.Parallel()
	raw := &fakeConn{}
	var wrappers []*countingConn
	wrap := func(c driver.Conn, _ driver.Driver) (driver.Conn, error) {
		w := &countingConn{fakeConn: c.(*fakeConn)}
		wrappers = append(wrappers, w)
		return w, nil
	}
	sw := &Switch{}
	db := sql.OpenDB(NewConnector(sw, fakeConnector{raw}, wrap, wrap))
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, v := range []int{0, 1, 2, 2, 0} {
		sw.cur = v
		rows, err := db.QueryContext(context.Background(), "SELECT 1")
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if raw.queries != 5 || len(wrappers) != 2 || wrappers[0].seen != 1 || wrappers[1].seen != 2 {
		t.Errorf("driver saw %d queries, variants %d: want 5 in all, 1 and 2 through the variants", raw.queries, len(wrappers))
	}
}

type countingTracer struct{ starts, ends int }

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.starts++
	return ctx
}
func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) { c.ends++ }

func TestTracerSwitches(t *testing.T) {
	t.Parallel()
	sw := &Switch{}
	a, b := &countingTracer{}, &countingTracer{}
	tr := NewTracer(sw, a, b)
	for _, v := range []int{0, 1, 2, 2} {
		sw.cur = v
		ctx := tr.TraceQueryStart(context.Background(), nil, pgx.TraceQueryStartData{})
		tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	}
	if a.starts != 1 || a.ends != 1 || b.starts != 2 || b.ends != 2 {
		t.Errorf("variant 1 saw %d/%d, variant 2 %d/%d; want 1/1 and 2/2", a.starts, a.ends, b.starts, b.ends)
	}
}
