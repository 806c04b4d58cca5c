package containers

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// existingProvider uses a server someone else runs, named by
// DBSUITE_POSTGRES_URL: a GitHub Actions service, a developer's server.
type existingProvider struct{}

func (existingProvider) name() string { return ProviderExisting }

func (p existingProvider) explicit(c *serverOptions) bool { return p.unavailable(c) == "" }

func (existingProvider) unavailable(c *serverOptions) string {
	switch {
	case os.Getenv(EnvURL) == "":
		return EnvURL + " is not set"
	case c.private:
		return "WithPrivate(true) asks for a server dbsuite starts, and " + EnvURL + " names one it does not"
	case c.customSettings:
		return "WithSettings asks for a server started with those settings, and " + EnvURL + " names one dbsuite does not start"
	case c.tcp || c.binDir != "" || c.runAs != "":
		return "WithTCP, WithBinDir and WithRunAs apply to servers dbsuite starts"
	}
	return ""
}

func (existingProvider) start(ctx context.Context, c *serverOptions) (*Server, error) {
	raw := strings.TrimSpace(os.Getenv(EnvURL))
	srv := &Server{provider: ProviderExisting, dsn: raw, how: "connected"}
	url, err := dsn.Validate(raw)
	if err != nil {
		return nil, srv.fail(err, "existing: "+EnvURL+" refused, want a postgres:// or postgresql:// URL, or keyword/value pairs",
			[]string{dsn.Redact(raw), err.Error()}, "set "+EnvURL+" to a URL such as postgres://user:password@localhost:5432/postgres?sslmode=disable")
	}
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, srv.fail(err, "existing: "+EnvURL+" is not a valid connection string, want one pgx can read",
			[]string{dsn.Redact(url), err.Error()}, "set "+EnvURL+" to a URL such as postgres://user:password@localhost:5432/postgres?sslmode=disable, or key=value pairs")
	}
	srv.password = cfg.Password
	srv.dsn = url
	if cfg.Database == "" {
		// Connecting to a database named like the user is libpq's default;
		// the maintenance database is a better one.
		if srv.dsn, err = dsn.WithDatabase(url, "postgres"); err != nil {
			return nil, srv.fail(err, "existing: cannot name the maintenance database in "+EnvURL+", want a connection string with a database", []string{err.Error()})
		}
	}
	if err := srv.probe(ctx); err != nil {
		return nil, err
	}
	srv.primeTemplate1(ctx)
	if h := os.Getenv(EnvContainer); h != "" {
		srv.restartHint = "docker restart " + h
	}
	if !srv.fsyncOff.Load() {
		srv.how = "connected (fsync is on: tune it with `go run github.com/dbsuite/dbsuite/containers/cmd/pgtune -dsn \"$" + EnvURL + "\"`)"
	}
	return srv, nil
}

// probe connects once and reads what the rest of the package needs: the
// version, whether fsync is off, and whether the role may create
// databases. It runs before the server is handed out, and later only to
// refresh fsync.
func (s *Server) probe(ctx context.Context) error { return s.probeOn(ctx, nil) }

// probeOn probes on conn, a connection to s.dsn, when it is not nil (its
// caller closes it), else on a connection of its own.
func (s *Server) probeOn(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t0 := time.Now()
	if conn == nil {
		var err error
		if conn, err = pgx.Connect(ctx, s.dsn); err != nil {
			return s.fail(err, fmt.Sprintf("%s: cannot connect to %s after %v, want a server that accepts this role",
				s.provider, dsn.Redact(s.dsn), time.Since(t0).Round(time.Millisecond)), []string{err.Error()},
				"check that the server runs and accepts this role (pg_isready, and its log)")
		}
		defer conn.Close(context.WithoutCancel(ctx))
	}
	var fsync string
	var super, createdb bool
	if s.version != "" {
		// Already probed: only fsync can have changed.
		if err := conn.QueryRow(ctx, "SELECT current_setting('fsync')").Scan(&fsync); err != nil {
			return s.fail(err, s.provider+": SHOW fsync failed, want its value", []string{err.Error()})
		}
		s.fsyncOff.Store(fsync == "off")
		return nil
	}
	err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int,
		current_setting('fsync'), r.rolsuper, r.rolcreatedb
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&s.version, &s.versionNum, &fsync, &super, &createdb)
	if err != nil {
		return s.fail(err, s.provider+": reading the server's version failed, want its version and the role's privileges", []string{err.Error()})
	}
	if v, _, ok := strings.Cut(s.version, " "); ok {
		s.version = v
	}
	s.fsyncOff.Store(fsync == "off")
	if !super && !createdb {
		user := conn.Config().User
		return s.fail(nil, fmt.Sprintf("%s: role %q may not create databases, want CREATEDB: every test gets its own database", s.provider, user), nil,
			fmt.Sprintf("ALTER ROLE %s CREATEDB (as a superuser), or connect as a superuser", pgx.Identifier{user}.Sanitize()))
	}
	if s.versionNum < 130000 {
		return s.fail(nil, fmt.Sprintf("%s: PostgreSQL %s is too old, want 13 or newer (DROP DATABASE ... WITH (FORCE))", s.provider, s.version), nil)
	}
	return nil
}
