//go:build unix

package containers

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
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
	root, note, err := writableCacheRoot(id)
	if err != nil {
		return nil, err
	}
	shared := !c.private && canShare()
	var ls *localServer
	var cached cachedData
	if shared {
		ls, cached = joinRunning(ctx, root, note, c.key(), bins, id, c.settings)
	}
	if ls == nil {
		// Only a binary that starts a server sweeps what dead runs left:
		// one that joins has nothing to add to its starter's sweep.
		sweepRunRoots(id)
		if cached, err = cachedDataIn(ctx, root, note, bins, id, c.settings); err != nil {
			return nil, err
		}
		if shared {
			ls, err = joinOrLaunch(ctx, c.key(), bins, id, cached, c.tcp)
		} else {
			ls, err = launch(ctx, bins, id, cached, c.tcp, "", 0)
		}
		if err != nil {
			return nil, err
		}
	}
	if ls.cmd != nil {
		// Started from the cache by this process: check that the cache
		// gave what it promised before anyone uses the server.
		if err := ls.checkSettings(ctx, c.settings, cached); err != nil {
			_ = ls.shutdown()
			return nil, err
		}
		pruneCache(root, cached.dir)
	}
	if cached.note != "" {
		ls.how += " " + cached.note
	}
	srv := &Server{
		provider: ProviderLocal,
		dsn:      ls.dsn("postgres"),
		password: cached.password,
		private:  c.private,
		owned:    ls,
		local:    ls,
		how:      ls.how,
		tplCache: filepath.Join(cached.dir, "templates-v2"), // v2: page LSNs cleared (template_keep.go)
	}
	if err := srv.probeLocal(ctx, ls); err != nil {
		if srv.admin != nil {
			srv.admin.Close()
		}
		_ = ls.shutdown()
		return nil, err
	}
	return srv, nil
}

// checkSettings compares the settings of a server just started from the
// cache with those asked for. On a mismatch (a cache edited or damaged
// in a way its manifest missed) the cache entry is removed, so that the
// next server rebuilds it, and this server is tuned and restarted.
// It reads them on the server's first connection (ls.conn) when there is
// one, and closes it if the server must be restarted.
func (ls *localServer) checkSettings(ctx context.Context, want Settings, cached cachedData) error {
	conn := ls.conn
	if conn == nil {
		var err error
		if conn, err = connect(ctx, ls.dsn("postgres")); err != nil {
			return err
		}
		defer conn.Close(ctx)
	}
	bad, err := differing(ctx, conn, want)
	if err != nil || len(bad) == 0 {
		return err
	}
	if ls.conn != nil {
		ls.conn.Close(ctx)
		ls.conn = nil
	}
	invalidateCache(cached.dir)
	if _, err := Tune(ctx, ls.dsn("postgres"), want, WithRestart(ls.restart)); err != nil {
		return fail(err, "local: the server copied from the cache did not show its settings, and tuning it failed, want them in effect",
			[]string{"differing: " + strings.Join(bad, ", "), err.Error()})
	}
	ls.how += " (the cache gave other values for " + strings.Join(bad, ", ") + ": tuned now, the cache will be rebuilt)"
	return nil
}

// differing returns the settings whose value in effect is not the one
// asked for, in one query.
func differing(ctx context.Context, conn *pgx.Conn, want Settings) ([]string, error) {
	names := want.names()
	infos, err := readSettings(ctx, conn, names)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, name := range names {
		si, ok := infos[strings.ToLower(name)]
		if !ok {
			bad = append(bad, name)
			continue
		}
		w, err1 := si.normalize(want[name])
		got, err2 := si.normalize(si.setting)
		if err1 != nil || err2 != nil || w != got {
			bad = append(bad, name)
		}
	}
	return bad, nil
}

// probeLocal probes a local server on the connection it was found with:
// a launched server's first connection (closed after), or a joined
// server's admin pool (which the Server keeps).
func (srv *Server) probeLocal(ctx context.Context, ls *localServer) error {
	if pool := ls.admin; pool != nil {
		ls.admin = nil
		srv.setAdmin(pool)
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return srv.probeOn(ctx, nil)
		}
		defer conn.Release()
		return srv.probeOn(ctx, conn.Conn())
	}
	conn := ls.conn
	ls.conn = nil
	if conn != nil {
		defer conn.Close(context.WithoutCancel(ctx))
	}
	return srv.probeOn(ctx, conn)
}
