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
// the warm clone: on a 2-core VM, in the 6x20 suite of
// examples/bench/suite, opening every warm clone's pool ahead cost
// Database(t)'s work 0.9 CPU-s of 12.4 (18 backends of 161 were for
// clones no test took: those a binary's warm pool holds as it exits), and
// opening only the next clone's ahead still cost 4-16 % more CPU (three
// runs of 8-10 interleaved rounds) and more binary time than none: `go test ./...` keeps every core busy, and
// a backend waiting for its test is one more that each DROP DATABASE
// signals and waits for.
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
