package containers

import "context"

// resetPools drops the idle connections of every pool on the server.
func (s *Server) resetPools() {
	if s.admin != nil {
		s.admin.Reset()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.txDBs {
		if e.pool != nil {
			e.pool.Reset()
		}
	}
}

// Tune applies settings to the server (see [Tune]). A server dbsuite
// started privately ([WithPrivate]) is restarted when a setting needs it; a
// shared server is not, since other tests use it: start one with
// [WithSettings] instead.
func (s *Server) Tune(ctx context.Context, settings Settings) (Report, error) {
	var opts []Option
	switch {
	case s.owned != nil && s.private:
		opts = append(opts, WithRestart(func(ctx context.Context) error {
			err := s.owned.restart(ctx)
			s.resetPools() // their connections died with the old postmaster
			return err
		}))
	case s.owned != nil:
		opts = append(opts, WithRestartHint("none: the server is shared by other tests; "+
			"get one started with these settings from containers.Postgres(t, containers.WithSettings(...)), or a private one with containers.WithPrivate(true)"))
	case s.docker != nil:
		opts = append(opts, WithRestartHint(dockerRestartHint))
	case s.restartHint != "":
		opts = append(opts, WithRestartHint(s.restartHint))
	}
	report, err := Tune(ctx, s.dsn, settings, opts...) // scrubs s.dsn's password from its errors
	if err == nil {
		// fsync may have changed, and with it the best clone strategy.
		_ = s.probe(ctx)
	}
	return report, err
}
