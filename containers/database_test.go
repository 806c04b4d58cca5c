//go:build unix

package containers_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestDatabaseURL connects with the URL form of a database's connection
// string, over a unix socket and over TCP.
func TestDatabaseURL(t *testing.T) {
	tests := []struct {
		name     string
		opts     []containers.Option
		wantHost string // in the query (a socket directory) or the authority
		password bool
	}{
		{"unix socket", nil, "query", false},
		{"tcp", []containers.Option{containers.WithTCP(true), containers.WithPrivate(true)}, "authority", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := containers.Postgres(t, tt.opts...).Database(t)
			raw := db.URL()
			u, err := url.Parse(raw)
			require.NoError(t, err)
			assert.Equal(t, "postgres", u.Scheme)
			assert.Equal(t, "/"+db.Name(), u.Path)
			assert.Equal(t, "disable", u.Query().Get("sslmode"))
			_, hasPW := u.User.Password()
			assert.Equal(t, tt.password, hasPW)
			if tt.wantHost == "query" {
				// What bun's pgdriver does with it: dial the host parameter.
				assert.Empty(t, u.Host)
				assert.Contains(t, raw, "host=/", "the socket, unescaped")
				assert.Empty(t, u.Query().Get("port"), "a port parameter would reach the server as a setting")
				conn, err := net.Dial("unix", u.Query().Get("host"))
				require.NoError(t, err, "the host parameter is the socket itself")
				conn.Close()
			} else {
				assert.NotEmpty(t, u.Port())
				assert.Equal(t, db.Name(), query[string](t, raw, "SELECT current_database()"))
			}
		})
	}
}

// TestConnectionBudget runs 200 tests at once, each with two connections
// open together, on a server with 40 connections: they queue for test
// slots instead of failing with "too many clients already", and never
// hold more connections together than the server has.
func TestConnectionBudget(t *testing.T) {
	srv := containers.Postgres(t, containers.WithPrivate(true), containers.WithSettings(containers.Settings{"max_connections": "40"}))
	tests := []struct {
		name  string
		conns func(tb testing.TB, db *containers.Database) [2]*pgx.Conn
	}{
		{"db.Pool", func(tb testing.TB, db *containers.Database) (c [2]*pgx.Conn) {
			pool := db.Pool(tb)
			for i := range c {
				pc, err := pool.Acquire(tb.Context())
				if err != nil {
					tb.Fatalf("acquire: %v", err)
				}
				tb.Cleanup(pc.Release)
				c[i] = pc.Conn()
			}
			return c
		}},
		{"pgx.Connect(db.DSN())", func(tb testing.TB, db *containers.Database) (c [2]*pgx.Conn) {
			for i := range c {
				conn, err := pgx.Connect(tb.Context(), db.DSN())
				if err != nil {
					tb.Fatalf("connect: %v", err)
				}
				tb.Cleanup(func() { conn.Close(context.Background()) })
				c[i] = conn
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failures []string
			var active, peak atomic.Int32
			for range 200 {
				wg.Go(func() {
					f := runFake(t, false, func(tb testing.TB) {
						c := tt.conns(tb, srv.Database(tb))
						n := active.Add(1)
						defer active.Add(-1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						for i, q := range []string{"CREATE TABLE t (id int)", "SELECT pg_sleep(0.02)"} {
							if _, err := c[i].Exec(tb.Context(), q); err != nil {
								tb.Fatalf("%s: %v", q, err)
							}
						}
					})
					if f.Failed() {
						mu.Lock()
						failures = append(failures, f.output())
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			assert.Empty(t, failures, "no test was refused a connection")
			assert.LessOrEqual(t, 2*peak.Load(), int32(40), "tests holding two connections at once, at the peak")
			assert.Positive(t, peak.Load())
		})
	}
}
