package containers

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

func (s *Server) dropDatabase(ctx context.Context, name string) error {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// WITH (FORCE) terminates connections the test leaked.
	q := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
	if _, err := pool.Exec(ctx, q); err != nil {
		return s.errorf("containers: %s: %s: %v", s.provider, q, err)
	}
	return nil
}
