package containers

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// openPool opens a pgx pool on a database of the server with the tracer,
// holding at most maxConns connections (0: pgxpool's default).
//
// A test's pool is opened when the test asks for it, not ahead of it with
// the warm clone. On a 2-core VM, in the 6x20 suite of
// examples/bench/suite (interleaved rounds), opening every warm clone's
// pool ahead cost Database(t)'s work 0.8 CPU-s more (13.2 against 12.4;
// 18 backends of 161 were on clones no test took: those a binary's warm
// pool holds as it exits), and opening only the next clone's ahead still
// cost 4-16 % more CPU than none over three runs (and more binary time
// in two of them): `go test ./...` keeps every core busy, and a backend
// waiting for its test is one more that each DROP DATABASE signals and
// waits for.
func (s *Server) openPool(ctx context.Context, dsn string, tracer pgx.QueryTracer, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = tracer
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}
