package assertq

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Where plans come from.
//
// A Recorder knows how the code connected: the *pgx.Conn its tracer saw, or the driver connection its
// database/sql connector wrapped. A recorded [Query] keeps a *planSource for that connection (one per connection
// and transaction state, made when Queries are built, never on the query path). Plan checks then run EXPLAIN:
//
//   - in the code's own session when the statement ran inside a transaction that is still open and the connection
//     is idle: a table created in that transaction, or rows inserted and not committed, are visible only there;
//   - otherwise on a side connection opened with the same configuration (pgx: the connection's config without
//     its tracer; database/sql: the wrapped connector), closed when the check ends.
//
// EXPLAIN gets the statement's own arguments as parameters, so the planner makes a custom plan for those values,
// as it does for the statement's first runs (EXPLAIN (GENERIC_PLAN) would need PostgreSQL 16).

// planCtx marks assertq's own statements on the code's pgx connection: the Tracer neither records them nor
// passes them on.
type planCtx struct{ context.Context }

// What a query records for plan checks, in one field of its entry: its connection, and whether it ran in a
// transaction, told by the type. Each type holds one pointer, so storing it in an interface allocates nothing.
type (
	pgxIdle struct{ c *pgx.Conn }
	pgxInTx struct{ c *pgx.Conn }
	sqlIdle struct{ c *conn }
	sqlInTx struct{ c *conn }
)

func pgxSource(conn *pgx.Conn) any {
	switch {
	case conn == nil:
		return nil
	case conn.PgConn().TxStatus() != 'I':
		return pgxInTx{conn}
	}
	return pgxIdle{conn}
}

func sqlSource(c *conn) any {
	if c.inTx {
		return sqlInTx{c}
	}
	return sqlIdle{c}
}

// planSource is where plan checks reach one connection of the code.
type planSource struct {
	rec  *Recorder
	pgx  *pgx.Conn // pgx: the code's connection
	sql  *conn     // database/sql: the wrapped driver connection
	inTx bool      // the statement ran inside a transaction

	keyOnce sync.Once
	key     string // the database, for caches: plans of two databases differ
}

// planSourceOf returns the plan source of an entry's connection, made once per connection and transaction state.
// r.mu is held.
func (r *Recorder) planSourceOf(e *entry) *planSource {
	if e.src == nil {
		return nil
	}
	if s, ok := r.plans.sources[e.src]; ok {
		return s
	}
	s := &planSource{rec: r}
	switch c := e.src.(type) {
	case pgxIdle:
		s.pgx = c.c
	case pgxInTx:
		s.pgx, s.inTx = c.c, true
	case sqlIdle:
		s.sql = c.c
	case sqlInTx:
		s.sql, s.inTx = c.c, true
	}
	if r.plans.sources == nil {
		r.plans.sources = map[any]*planSource{}
	}
	r.plans.sources[e.src] = s
	return s
}

// database names the database a source reaches: the statement's own session when it ran in a transaction (its
// uncommitted tables are its own), else host, port, database and user.
func (s *planSource) database() string {
	s.keyOnce.Do(func() {
		switch {
		case s.inTx && s.pgx != nil:
			s.key = fmt.Sprintf("session %p", s.pgx)
		case s.inTx && s.sql != nil:
			s.key = fmt.Sprintf("session %p", s.sql)
		case s.pgx != nil:
			cfg := s.pgx.Config()
			s.key = fmt.Sprintf("%s:%d/%s@%s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
		case s.sql != nil:
			s.key = fmt.Sprintf("connector %p", s.sql.from)
		}
	})
	return s.key
}

// A session runs assertq's own statements: EXPLAIN, catalog reads, ANALYZE.
type session interface {
	// text runs sql with args and returns the first column of its first row as text.
	text(ctx context.Context, sql string, args []any) (string, error)
	exec(ctx context.Context, sql string) error
	// own reports whether this is the code's own session rather than a side connection.
	own() bool
	// inTx reports whether it is the code's own session inside the code's transaction.
	inTx() bool
}

// pgxSession runs statements on a pgx connection. On the code's connection (own), the context is marked so that
// the Tracer ignores them; describe-then-execute keeps them out of the connection's statement cache.
type pgxSession struct {
	conn  *pgx.Conn
	owned bool
}

func (s pgxSession) own() bool  { return s.owned }
func (s pgxSession) inTx() bool { return s.owned && s.conn.PgConn().TxStatus() == 'T' }

func (s pgxSession) text(ctx context.Context, sql string, args []any) (string, error) {
	var out string
	mode := pgx.QueryExecModeDescribeExec // the statement's own argument types, and no entry in its statement cache
	if len(args) == 0 {
		mode = pgx.QueryExecModeSimpleProtocol // one round trip
	}
	all := append([]any{mode}, args...)
	err := s.conn.QueryRow(planCtx{ctx}, sql, all...).Scan(&out)
	return out, err
}

func (s pgxSession) exec(ctx context.Context, sql string) error {
	_, err := s.conn.Exec(planCtx{ctx}, sql, pgx.QueryExecModeSimpleProtocol)
	return err
}

// sqlSession runs statements on a driver connection, bypassing database/sql and the recording wrapper.
type sqlSession struct {
	conn  driver.Conn
	owned bool
	tx    bool // the code's transaction is open on it
}

func (s sqlSession) own() bool  { return s.owned }
func (s sqlSession) inTx() bool { return s.owned && s.tx }

func (s sqlSession) text(ctx context.Context, sql string, args []any) (string, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	var (
		rows driver.Rows
		err  error
	)
	if q, ok := s.conn.(driver.QueryerContext); ok {
		rows, err = q.QueryContext(ctx, sql, named)
	} else {
		var st driver.Stmt
		if st, err = s.conn.Prepare(sql); err == nil {
			defer st.Close()
			if sq, ok := st.(driver.StmtQueryContext); ok {
				rows, err = sq.QueryContext(ctx, named)
			} else {
				err = errors.New("the driver's statements take no context")
			}
		}
	}
	if err != nil {
		return "", err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if len(dest) == 0 {
		return "", errors.New("the statement returned no columns")
	}
	if err := rows.Next(dest); err != nil {
		if err == io.EOF {
			return "", errors.New("the statement returned no rows")
		}
		return "", err
	}
	switch v := dest[0].(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case nil:
		return "", nil
	}
	return fmt.Sprint(dest[0]), nil
}

func (s sqlSession) exec(ctx context.Context, sql string) error {
	if x, ok := s.conn.(driver.ExecerContext); ok {
		_, err := x.ExecContext(ctx, sql, nil)
		return err
	}
	_, err := s.text(ctx, sql, nil)
	return err
}

// sessions opens and remembers the side connections of one check, and closes them when it ends.
type sessions struct {
	forced session // Preflight: the code's own session, always
	side   map[string]session
	closer []func()
}

func (ss *sessions) close() {
	for _, c := range ss.closer {
		c()
	}
	ss.side, ss.closer = nil, nil
}

// open returns where to explain a statement of src: its own session when it ran in a transaction that is still
// open and the connection idle, else a side connection.
func (ss *sessions) open(ctx context.Context, src *planSource) (session, error) {
	if ss.forced != nil {
		return ss.forced, nil
	}
	if own := src.ownSession(); own != nil {
		return own, nil
	}
	key := src.database()
	if s, ok := ss.side[key]; ok {
		return s, nil
	}
	var s session
	switch {
	case src.pgx != nil:
		cfg := src.pgx.Config()
		cfg.Tracer = nil
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(cctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("cannot open a side connection with the code's pgx configuration: %w", err)
		}
		ss.closer = append(ss.closer, func() { c.Close(context.Background()) })
		s = pgxSession{conn: c}
	case src.sql != nil && src.sql.from != nil:
		c, err := src.sql.from.c.Connect(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot open a side connection through the code's database/sql connector: %w", err)
		}
		ss.closer = append(ss.closer, func() { c.Close() })
		s = sqlSession{conn: c}
	default:
		return nil, errors.New("the Recorder does not know how this statement connected")
	}
	if ss.side == nil {
		ss.side = map[string]session{}
	}
	ss.side[key] = s
	return s, nil
}

// ownSession returns the code's own session when the statement ran in a transaction that is still open on an idle
// connection, else nil. Plan checks run after the code under test returned, so the connection is the test's.
func (src *planSource) ownSession() session {
	if !src.inTx {
		return nil
	}
	switch {
	case src.pgx != nil:
		pc := src.pgx.PgConn()
		if src.pgx.IsClosed() || pc.IsBusy() || pc.TxStatus() != 'T' {
			return nil
		}
		return pgxSession{conn: src.pgx, owned: true}
	case src.sql != nil:
		if !src.sql.inTx {
			return nil
		}
		return sqlSession{conn: src.sql.Conn, owned: true, tx: true}
	}
	return nil
}

// isPgError reports whether err is a PostgreSQL error with one of codes.
func isPgError(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}
