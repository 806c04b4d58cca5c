//go:build unix

package containers

import (
	"context"
)

// localProvider starts PostgreSQL from binaries installed on the machine.
type localProvider struct{}

func (localProvider) name() string { return ProviderLocal }

func (localProvider) explicit(c *serverOptions) bool { return c.binDir != "" }

func (localProvider) unavailable(c *serverOptions) string {
	if _, err := findBinaries(c.binDir); err != nil {
		return err.Error()
	}
	return ""
}

func (localProvider) start(ctx context.Context, c *serverOptions) (*Server, error) {
	bins, err := findBinaries(c.binDir)
	if err != nil {
		return nil, err
	}
	id, err := serverIdentity(c.runAs)
	if err != nil {
		return nil, err
	}
	cached, err := cachedDataDir(ctx, bins, id, c.settings)
	if err != nil {
		return nil, err
	}
	var ls *localServer
	if c.private || !canShare() {
		ls, err = launch(ctx, bins, id, cached, c.tcp, "", 0)
	} else {
		ls, err = joinOrLaunch(ctx, c.key(), bins, id, cached, c.tcp)
	}
	if err != nil {
		return nil, err
	}
	srv := &Server{
		provider: ProviderLocal,
		dsn:      ls.dsn("postgres"),
		password: cached.password,
		private:  c.private,
		local:    ls,
		how:      ls.how,
	}
	if err := srv.probe(ctx); err != nil {
		_ = ls.shutdown()
		return nil, err
	}
	return srv, nil
}
