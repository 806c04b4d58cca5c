//go:build unix

package containers

import (
	"context"
	"database/sql/driver"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seenTracer records the SQL of the queries and batches it sees.
type seenTracer struct {
	mu  sync.Mutex
	sql []string
}

func (s *seenTracer) add(q string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, q)
}

func (s *seenTracer) seen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.sql, "\n")
}

func (s *seenTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.add(d.SQL)
	return ctx
}
func (s *seenTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *seenTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (s *seenTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	s.add("batch: " + d.SQL)
}
func (s *seenTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestHandlesTraced checks that a tracer or connector given in one line
// sees the test's queries, whether the database came from the warm pool
// or was cloned on demand.
func TestHandlesTraced(t *testing.T) {
	tests := []struct {
		name string
		warm int
	}{
		{"warm database", 2},
		{"cloned on demand", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := Postgres(t, WithWarmDatabases(tt.warm))
			t.Run("Pool", func(t *testing.T) {
				db := srv.Database(t)
				tr := &seenTracer{}
				pool := db.Pool(t, WithTracer(tr))
				_, err := pool.Exec(t.Context(), "SELECT 42")
				require.NoError(t, err)
				br := pool.SendBatch(t.Context(), &pgx.Batch{QueuedQueries: []*pgx.QueuedQuery{{SQL: "SELECT 43"}}})
				require.NoError(t, br.Close())
				assert.Contains(t, tr.seen(), "SELECT 42")
				assert.Contains(t, tr.seen(), "batch: SELECT 43", "batches reach a tracer that takes them")
			})
			t.Run("SQL", func(t *testing.T) {
				db := srv.Database(t)
				tr := &seenTracer{}
				var connects int
				wrap := func(c driver.Connector) driver.Connector { return countingConnector{c, &connects} }
				sqlDB := db.SQL(t, WithTracer(tr), WithConnector(wrap))
				var n int
				require.NoError(t, sqlDB.QueryRowContext(t.Context(), "SELECT 44").Scan(&n))
				assert.Equal(t, 44, n)
				assert.Contains(t, tr.seen(), "SELECT 44")
				assert.Positive(t, connects, "the wrapped connector made the connection")
			})
		})
	}
}

type countingConnector struct {
	driver.Connector
	n *int
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	*c.n++
	return c.Connector.Connect(ctx)
}
