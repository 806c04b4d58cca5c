package assertq_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// tempTraps creates temporary tables (EXPLAIN (VERBOSE) names their schema "pg_temp", their namespace is
// pg_temp_N): 100 parents with 30 kids of each kind, and 20,000 readings with no index on v.
const tempTraps = `CREATE TEMP TABLE parents (id int PRIMARY KEY);
CREATE TEMP TABLE kids_a (id int PRIMARY KEY, parent_id int NOT NULL);
CREATE TEMP TABLE kids_b (id int PRIMARY KEY, parent_id int NOT NULL);
CREATE TEMP TABLE readings (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO parents SELECT g FROM generate_series(1, 100) g;
INSERT INTO kids_a SELECT g, 1 + g % 100 FROM generate_series(1, 3000) g;
INSERT INTO kids_b SELECT g, 1 + g % 100 FROM generate_series(1, 3000) g;
INSERT INTO readings SELECT g, g % 50 FROM generate_series(1, 20000) g`

const (
	tempFan = `SELECT p.id, count(DISTINCT a.id), count(DISTINCT b.id) FROM parents p
		LEFT JOIN kids_a a ON a.parent_id = p.id LEFT JOIN kids_b b ON b.parent_id = p.id GROUP BY p.id`
	tempScan = `SELECT id FROM readings WHERE v = 7`
)

// TestPlanChecksTempTables: plan checks judge statements over temporary tables, in the code's transaction or its
// session, instead of passing them without a word.
func TestPlanChecksTempTables(t *testing.T) {
	t.Parallel()
	srv := containers.Postgres(t)
	// each runner runs the statements in order on one session of the code and leaves it open until the test ends
	type runner func(t *testing.T, rec *assertq.Recorder, stmts ...string) error
	pgxTx := func(t *testing.T, rec *assertq.Recorder, stmts ...string) error {
		ctx := context.Background()
		tx, err := tracedConn(t, srv.Database(t), rec.Tracer()).Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		return execEach(ctx, tx, stmts)
	}
	serverTx := func(t *testing.T, rec *assertq.Recorder, stmts ...string) error {
		return execEach(context.Background(), rec.Tx(srv.Tx(t)), stmts)
	}
	sqlTx := func(t *testing.T, rec *assertq.Recorder, stmts ...string) error {
		ctx := context.Background()
		tx, err := recordedSQL(t, rec, srv.Database(t)).BeginTx(ctx, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback() })
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}
	sqlSession := func(t *testing.T, rec *assertq.Recorder, stmts ...string) error {
		sdb := recordedSQL(t, rec, srv.Database(t))
		sdb.SetMaxOpenConns(1) // temporary tables live in the session
		for _, s := range stmts {
			if _, err := sdb.ExecContext(context.Background(), s); err != nil {
				return err
			}
		}
		return nil
	}
	tests := []struct {
		name      string
		run       runner
		check     assertq.Check
		preflight bool
		noPlan    bool // a side connection explains it, which cannot see the session's temporary tables
		sql       string
		say       string
	}{
		{name: "pgx transaction: row explosion", run: pgxTx, check: assertq.NoRowExplosion(), sql: tempFan,
			say: "row explosion: a join estimated at 90,000 rows over tables of at most 3,000 rows"},
		{name: "database/sql transaction: row explosion", run: sqlTx, check: assertq.NoRowExplosion(), sql: tempFan,
			say: "row explosion: a join estimated at 90,000 rows over tables of at most 3,000 rows"},
		{name: "database/sql session, no transaction: no plan, says why", run: sqlSession, check: assertq.NoRowExplosion(), sql: tempFan,
			noPlan: true, say: "temporary tables"},
		{name: "Server.Tx with Recorder.Tx: row explosion", run: serverTx, check: assertq.NoRowExplosion(), sql: tempFan,
			say: "row explosion: a join estimated at 90,000 rows over tables of at most 3,000 rows"},
		{name: "pgx transaction: Preflight stops the fan", run: pgxTx, check: assertq.NoRowExplosion(), preflight: true, sql: tempFan,
			say: "row explosion: a join estimated at 90,000 rows over tables of at most 3,000 rows"},
		{name: "pgx transaction: sequential scan", run: pgxTx, check: assertq.NoSeqScan(), sql: tempScan,
			say: "pg_temp.readings"},
		{name: "Server.Tx with Recorder.Tx: sequential scan", run: serverTx, check: assertq.NoSeqScan(), sql: tempScan,
			say: "pg_temp.readings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := faketb.New(nil, t.Name())
			var opts []assertq.Option
			if tt.preflight {
				opts = append(opts, assertq.Preflight(tt.check))
			}
			rec := assertq.New(ft, opts...)
			err := tt.run(t, rec, tempTraps, tt.sql)
			if tt.preflight {
				require.ErrorIs(t, err, assertq.ErrPreflight)
				assert.Contains(t, err.Error(), tt.say)
				return
			}
			require.NoError(t, err)
			err = assertq.Verify(rec.Queries(), tt.check) // the code's session still open
			require.Error(t, err, "a trap over temporary tables passed")
			assert.Contains(t, err.Error(), tt.say)
			if tt.noPlan {
				assert.Contains(t, err.Error(), "no plan for a statement")
			} else {
				assert.NotContains(t, err.Error(), "no plan")
			}
		})
	}
}

// execEach runs each statement on a pgx transaction (with no arguments, several statements may be one string).
func execEach(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
