package assertq

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// Connector returns a [driver.Connector] that records into r every statement run through c's connections:
//
//	db := sql.OpenDB(rec.Connector(stdlib.GetConnector(*cfg)))
//
// It works with any driver (pgx stdlib, lib/pq, go-sqlmock ...; [ConnectorOf] makes a connector for drivers that
// have none). A prepared statement is recorded each time it runs, with its SQL; preparing it is not a query.
// BEGIN, COMMIT and ROLLBACK are recorded as transaction control. Queries whose context comes from another
// Recorder's [Recorder.Context] or [Expect] go to that Recorder instead. In sql.Conn.Raw the driver connection
// is the wrapper; its Unwrap() driver.Conn method returns the driver's own.
func (r *Recorder) Connector(c driver.Connector) driver.Connector { return &connector{c: c, rec: r} }

// SharedConnector is [SharedTracer] for database/sql: a connector for a database many tests share, recording each
// statement only into the Recorder its context names.
func SharedConnector(c driver.Connector) driver.Connector { return &connector{c: c} }

// ConnectorOf returns d's connector for dsn: d.OpenConnector when d has one, else a connector that calls d.Open.
// It is for drivers without a connector of their own, such as go-sqlmock's:
//
//	mockDB, mock, _ := sqlmock.NewWithDSN(t.Name())
//	db := sql.OpenDB(rec.Connector(assertq.ConnectorOf(mockDB.Driver(), t.Name())))
func ConnectorOf(d driver.Driver, dsn string) driver.Connector {
	if dc, ok := d.(driver.DriverContext); ok {
		if c, err := dc.OpenConnector(dsn); err == nil {
			return c
		}
	}
	return dsnConnector{d, dsn}
}

type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

type connector struct {
	c   driver.Connector
	rec *Recorder
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc, rec: c.rec, from: c}, nil
}

func (c *connector) Driver() driver.Driver { return &wrappedDriver{c.c.Driver(), c.rec} }

// Close closes the wrapped connector if it has a Close method; sql.DB.Close calls it.
func (c *connector) Close() error {
	if cl, ok := c.c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

type wrappedDriver struct {
	d   driver.Driver
	rec *Recorder
}

func (d *wrappedDriver) Open(name string) (driver.Conn, error) {
	dc, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc, rec: d.rec, from: &connector{c: dsnConnector{d.d, name}, rec: d.rec}}, nil
}

// The interfaces of drivers older than the context ones, which a wrapper must still serve.
type (
	//lint:ignore SA1019 a wrapper must serve drivers without QueryerContext
	legacyQueryer = driver.Queryer
	//lint:ignore SA1019 a wrapper must serve drivers without ExecerContext
	legacyExecer = driver.Execer
)

// conn wraps a driver connection. It implements every optional interface database/sql looks for, and falls back
// to what database/sql does when the wrapped connection lacks one (driver.ErrSkip, or the default).
type conn struct {
	driver.Conn
	rec *Recorder

	from *connector // plan hook (explain.go): plans open a side connection there
	inTx bool       // plan hook: a transaction begun through this wrapper is open
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if pc, ok := c.Conn.(driver.ConnPrepareContext); ok {
		s, err = pc.PrepareContext(ctx, query)
	} else {
		s, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: s, conn: c, query: query}, nil
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	e := begin(ctx, c.rec)
	var (
		tx  driver.Tx
		err error
	)
	if bt, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = bt.BeginTx(ctx, opts)
	} else {
		if opts.Isolation != 0 || opts.ReadOnly {
			return nil, &failure.Error{Pkg: "assertq", Headline: "the wrapped driver has no BeginTx, so it cannot take transaction options (isolation level, read-only), want a driver that implements driver.ConnBeginTx",
				Fixes: []string{"begin the transaction without options, or use a driver with BeginTx (pgx stdlib, lib/pq)"}}
		}
		tx, err = c.Conn.Begin() //lint:ignore SA1019 a wrapper must serve drivers without ConnBeginTx
	}
	if e != nil {
		e.sql = "BEGIN"
		e.finish(-1, err)
	}
	if err != nil {
		return nil, err
	}
	c.inTx = true // plan hook
	return &txWrap{Tx: tx, ctx: ctx, rec: c.rec, conn: c}, nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	var (
		rows driver.Rows
		err  error
	)
	e := begin(ctx, c.rec)
	if e != nil && preflightOn.Load() > 0 { // plan hook (preflight.go)
		if err := e.preflightSQL(c, query, args); err != nil {
			return finishRows(e, c, query, args, nil, err)
		}
	}
	if q, ok := c.Conn.(driver.QueryerContext); ok {
		rows, err = q.QueryContext(ctx, query, args)
	} else if q, ok := c.Conn.(legacyQueryer); ok {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			rows, err = q.Query(query, vals)
		}
	} else {
		err = driver.ErrSkip
	}
	return finishRows(e, c, query, args, rows, err)
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	var (
		res driver.Result
		err error
	)
	e := begin(ctx, c.rec)
	if e != nil && preflightOn.Load() > 0 { // plan hook (preflight.go)
		if err := e.preflightSQL(c, query, args); err != nil {
			finishExec(e, c, query, args, nil, err)
			return nil, err
		}
	}
	if x, ok := c.Conn.(driver.ExecerContext); ok {
		res, err = x.ExecContext(ctx, query, args)
	} else if x, ok := c.Conn.(legacyExecer); ok {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			res, err = x.Exec(query, vals)
		}
	} else {
		err = driver.ErrSkip
	}
	finishExec(e, c, query, args, res, err)
	return res, err
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// Unwrap returns the wrapped driver connection, for code that needs the driver's own type (in sql.Conn.Raw).
func (c *conn) Unwrap() driver.Conn { return c.Conn }

type stmt struct {
	driver.Stmt
	conn  *conn
	query string
}

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	var (
		res driver.Result
		err error
	)
	e := begin(ctx, s.conn.rec)
	if e != nil && preflightOn.Load() > 0 { // plan hook (preflight.go)
		if err := e.preflightSQL(s.conn, s.query, args); err != nil {
			finishExec(e, s.conn, s.query, args, nil, err)
			return nil, err
		}
	}
	if x, ok := s.Stmt.(driver.StmtExecContext); ok {
		res, err = x.ExecContext(ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			res, err = s.Stmt.Exec(vals) //lint:ignore SA1019 statements without StmtExecContext
		}
	}
	finishExec(e, s.conn, s.query, args, res, err)
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	var (
		rows driver.Rows
		err  error
	)
	e := begin(ctx, s.conn.rec)
	if e != nil && preflightOn.Load() > 0 { // plan hook (preflight.go)
		if err := e.preflightSQL(s.conn, s.query, args); err != nil {
			return finishRows(e, s.conn, s.query, args, nil, err)
		}
	}
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		rows, err = q.QueryContext(ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			rows, err = s.Stmt.Query(vals) //lint:ignore SA1019 statements without StmtQueryContext
		}
	}
	return finishRows(e, s.conn, s.query, args, rows, err)
}

// CheckNamedValue asks the statement's checker, then the connection's, as database/sql would without the wrapper.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

type txWrap struct {
	driver.Tx
	ctx  context.Context
	rec  *Recorder
	conn *conn // plan hook
}

func (t *txWrap) Commit() error {
	t.conn.inTx = false // plan hook
	e := begin(t.ctx, t.rec)
	err := t.Tx.Commit()
	if e != nil {
		e.sql = "COMMIT"
		e.finish(-1, err)
	}
	return err
}

func (t *txWrap) Rollback() error {
	t.conn.inTx = false // plan hook
	e := begin(t.ctx, t.rec)
	err := t.Tx.Rollback()
	if e != nil {
		e.sql = "ROLLBACK"
		e.finish(-1, err)
	}
	return err
}

// finishExec records an Exec; driver.ErrSkip means database/sql will try another way, which records itself.
func finishExec(e *entry, c *conn, query string, args []driver.NamedValue, res driver.Result, err error) {
	if e == nil || errors.Is(err, driver.ErrSkip) {
		return
	}
	e.src = sqlSource(c) // plan hook (explain.go)
	e.sql = query
	e.args = argValues(e.argBuf[:0], args)
	rows := int64(-1)
	if err == nil && res != nil {
		if n, rerr := res.RowsAffected(); rerr == nil {
			rows = n
		}
	}
	e.finish(rows, err)
}

// finishRows records a Query when its rows are closed, counting them as they are read.
func finishRows(e *entry, c *conn, query string, args []driver.NamedValue, rows driver.Rows, err error) (driver.Rows, error) {
	if e == nil || errors.Is(err, driver.ErrSkip) {
		return rows, err
	}
	e.src = sqlSource(c) // plan hook (explain.go)
	e.sql = query
	e.args = argValues(e.argBuf[:0], args)
	if err != nil {
		e.finish(-1, err)
		return nil, err
	}
	e.drows = rows
	e.rows = 0
	return (*sqlRows)(e), nil
}

// sqlRows is an entry seen as driver.Rows: wrapping the rows costs no allocation.
type sqlRows entry

func (r *sqlRows) e() *entry         { return (*entry)(r) }
func (r *sqlRows) Columns() []string { return r.drows.Columns() }

func (r *sqlRows) Next(dest []driver.Value) error {
	err := r.drows.Next(dest)
	if err == nil {
		r.rows++
	} else if err != io.EOF {
		r.err = err
	}
	return err
}

func (r *sqlRows) Close() error {
	err := r.drows.Close()
	e := r.e()
	if e.err == nil && err != nil {
		e.err = err
	}
	e.finish(e.rows, e.err)
	return err
}

func (r *sqlRows) HasNextResultSet() bool {
	if n, ok := r.drows.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *sqlRows) NextResultSet() error {
	if n, ok := r.drows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *sqlRows) ColumnTypeScanType(index int) reflect.Type {
	if c, ok := r.drows.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}

func (r *sqlRows) ColumnTypeDatabaseTypeName(index int) string {
	if c, ok := r.drows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func (r *sqlRows) ColumnTypeLength(index int) (int64, bool) {
	if c, ok := r.drows.(driver.RowsColumnTypeLength); ok {
		return c.ColumnTypeLength(index)
	}
	return 0, false
}

func (r *sqlRows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if c, ok := r.drows.(driver.RowsColumnTypeNullable); ok {
		return c.ColumnTypeNullable(index)
	}
	return false, false
}

func (r *sqlRows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if c, ok := r.drows.(driver.RowsColumnTypePrecisionScale); ok {
		return c.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

// argValues keeps a statement's argument values in dst, the entry's own buffer.
func argValues(dst []any, args []driver.NamedValue) []any {
	if len(args) == 0 {
		return nil
	}
	for _, a := range args {
		dst = append(dst, a.Value)
	}
	return dst
}

// values converts named arguments for drivers without the context interfaces, as database/sql does.
func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, &failure.Error{Pkg: "assertq", Headline: "argument " + a.Name + " is named, but the wrapped driver takes positional arguments only, want positional arguments",
				Fixes: []string{"pass the arguments by position ($1, $2), or use a driver whose connection implements driver.QueryerContext and driver.ExecerContext"}}
		}
		out[i] = a.Value
	}
	return out, nil
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}
