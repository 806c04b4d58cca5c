package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Environment variables read by [Postgres].
const (
	// EnvURL names an existing server to use instead of starting one, such as
	// a GitHub Actions service container: a URL or keyword/value connection
	// string for a role that may create databases.
	EnvURL = "DBSUITE_POSTGRES_URL"
	// EnvProvider forces a provider: "existing", "local" or "docker".
	EnvProvider = "DBSUITE_PROVIDER"
	// EnvContainer is the Docker container of an existing server, used to
	// name the exact restart command when a setting needs one
	// (in GitHub Actions: ${{ job.services.postgres.id }}).
	EnvContainer = "DBSUITE_POSTGRES_CONTAINER"
	// EnvRunAs names the unprivileged user a local server runs as when the
	// tests run as root. Default: postgres, then nobody.
	EnvRunAs = "DBSUITE_RUN_AS"
	// EnvKeepFailed, set to 1, keeps the database of a failed test and logs
	// how to connect to it.
	EnvKeepFailed = "DBSUITE_KEEP_FAILED"
	// EnvCacheDir overrides where initialised data directories are cached.
	// Default: the user's cache directory (os.UserCacheDir) + "/dbsuite".
	EnvCacheDir = "DBSUITE_CACHE_DIR"
)

// Provider names, as reported by [Server.Provider].
const (
	ProviderExisting = "existing"
	ProviderLocal    = "local"
)

// Server is a running PostgreSQL server. Get one with [Postgres]; hand
// out databases with [Server.Database] and [Server.Tx].
type Server struct {
	provider   string
	version    string // "15.18"
	versionNum int    // 150018
	dsn        string // superuser or database-creating role, maintenance database
	password   string // for scrubbing messages
	private    bool
	started    time.Duration // how long it took to get the server
	how        string        // what that involved, for the log line
	fsyncOff   atomic.Bool   // re-read after Server.Tune, while clones read it

	owned       ownedServer   // nil unless dbsuite runs the server locally (see ownedServer)
	local       *localServer  // the same, for what only a local server has (its directories)
	docker      *dockerServer // nil unless ProviderDocker
	restartHint string        // how a user restarts a server we do not own

	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error

	warmSize int                  // databases kept ready per template
	warm     map[string]*warmPool // by template database
	warmStop chan struct{}

	mu        sync.Mutex
	templates map[string]*templateEntry
	txDBs     map[string]*txEntry
	janitor   sync.Once
	reaper    *reaper // drops this process's long-lived databases when it exits
	drops     dropper // drops finished tests' databases in the background
	budget    budget  // test slots within the server's max_connections

	ledgerOnce sync.Once
	ledger     *os.File // this process's ledger of its warm pool, on a local server (warm_spare.go)

	tplCache string               // local: where built templates are kept across runs
	touched  map[string]time.Time // templates whose last use this process recorded, and when
}

// Provider returns where the server comes from: [ProviderExisting],
// [ProviderLocal] or [ProviderDocker].
func (s *Server) Provider() string { return s.provider }

// Version returns the server's version, such as "15.18".
func (s *Server) Version() string { return s.version }

// DSN returns a connection string for the server's maintenance database
// ("postgres") as its administrative role. Prefer [Server.Database] for
// anything a test writes to.
func (s *Server) DSN() string { return s.dsn }

// String describes the server for logs, with any password redacted.
func (s *Server) String() string {
	scope := "shared"
	if s.private {
		scope = "private"
	}
	if s.provider == ProviderExisting {
		scope = "not owned"
	}
	return fmt.Sprintf("%s PostgreSQL %s (%s, %s)", s.provider, s.version, scope, dsn.Redact(s.dsn))
}

func (s *Server) readyLine() string {
	return fmt.Sprintf("containers: %s ready in %v: %s", s, s.started.Round(time.Millisecond), s.how)
}

// fail is a failure with the server's secrets scrubbed from its text.
func (s *Server) fail(cause error, headline string, details []string, fixes ...string) error {
	return scrubbed(fail(cause, headline, details, fixes...), append(dsn.Secrets(s.dsn), s.password)...)
}

// errorf formats an error with the server's password removed from its
// text; the last error among args stays in the chain, unscrubbed, for
// errors.As.
func (s *Server) errorf(format string, args ...any) error {
	var cause error
	for _, a := range args {
		if err, ok := a.(error); ok {
			cause = err
		}
	}
	return s.fail(cause, strings.TrimPrefix(fmt.Sprintf(format, args...), "containers: "), nil)
}

// adminPool is a small pool on the maintenance database, used to create
// and drop databases.
func (s *Server) adminPool(ctx context.Context) (*pgxpool.Pool, error) {
	s.adminOnce.Do(func() {
		cfg, err := adminConfig(s.dsn)
		if err != nil {
			s.adminErr = s.fail(err, s.provider+": bad connection string, want one pgx can read", []string{dsn.Redact(s.dsn), err.Error()})
			return
		}
		s.admin, s.adminErr = pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	})
	return s.admin, s.adminErr
}

// adminConfig is the configuration of a server's admin pool: two
// connections for the clones, drops and sweeps, closed when idle. More
// let more of them run at once but not finish sooner on a busy server,
// and each is one more backend that every DROP DATABASE signals and waits
// for: in the 6x20 suite on a 2-core VM, Database(t)'s work took 12 %
// more CPU with 4 (12.4 against 11.1 CPU-s, medians of 8 interleaved
// rounds, no pool opened ahead in either).
func adminConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 2
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 30 * time.Second
	return cfg, nil
}

// ownsServer reports whether dbsuite started the server (local or
// Docker) and removes it, with whatever is left on it, when the tests are
// done with it.
func (s *Server) ownsServer() bool { return s.owned != nil || s.docker != nil }

// setAdmin makes pool, already open, the server's admin pool.
func (s *Server) setAdmin(pool *pgxpool.Pool) {
	s.adminOnce.Do(func() { s.admin = pool })
}

// ownedServer is a server process dbsuite runs (a local postmaster, a
// container): what [Server] needs to restart, stop and keep it. A provider
// that starts servers sets Server.owned.
type ownedServer interface {
	// restart stops and starts the server in place (same address), for
	// [Server.Tune] on a private server.
	restart(ctx context.Context) error
	// shutdown stops the server and removes what it made, unless it is
	// kept.
	shutdown() error
	// keep marks the server kept (DBSUITE_KEEP_FAILED): it stays up after
	// the tests. It returns how the user stops it, for the log.
	keep() string
}

// provider is one place a server can come from. Adding one (Docker) is a
// file with a type implementing it and a line in providers.
type provider interface {
	name() string
	// unavailable says why the provider cannot be tried, or "" if it can.
	unavailable(c *serverOptions) string
	// explicit reports whether the user asked for this provider, in which
	// case its failure is final.
	explicit(c *serverOptions) bool
	start(ctx context.Context, c *serverOptions) (*Server, error)
}

var providers = []provider{existingProvider{}, localProvider{}, dockerProvider{}}

type serverEntry struct {
	once sync.Once
	srv  *Server
	err  error
}

var (
	serversMu sync.Mutex
	servers   = map[string]*serverEntry{}
)

// Postgres returns a running, tuned PostgreSQL server, failing the test
// with what went wrong and what to do if none can be had.
//
// The server comes from the first provider that works: an existing server
// named by DBSUITE_POSTGRES_URL, else local binaries (initdb, postgres)
// started from a cached data directory. Unless [WithPrivate](true) is given, one
// server per configuration is shared by every test of the process and by
// every test binary of the same `go test` run, and stopped and removed
// when the last of them exits, even if it crashes. The log says which
// provider was used and how long it took.
func Postgres(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	c, err := serverConfig(opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	if c.private {
		srv, err := startServer(tb.Context(), c)
		if err != nil {
			tb.Fatalf("%v", err)
		}
		tb.Cleanup(func() {
			if err := srv.stop(); err != nil {
				tb.Errorf("%v", err)
			}
		})
		tb.Logf("%s", srv.readyLine())
		return srv
	}
	key := c.key()
	serversMu.Lock()
	e, ok := servers[key]
	if !ok {
		e = &serverEntry{}
		servers[key] = e
	}
	serversMu.Unlock()
	first := false
	e.once.Do(func() {
		first = true
		// The server outlives this test: do not tie its start to the
		// test's context.
		ctx, cancel := context.WithTimeout(context.Background(), c.startTimeout)
		defer cancel()
		e.srv, e.err = startServer(ctx, c)
	})
	if e.err != nil {
		tb.Fatalf("%v", e.err)
	}
	if first {
		tb.Logf("%s", e.srv.readyLine())
	}
	return e.srv
}

// startServer tries the providers in order and returns the first server
// that starts. A provider the user asked for explicitly is final.
func startServer(ctx context.Context, c *serverOptions) (*Server, error) {
	var tried []string
	for _, p := range providers {
		if c.provider != "" && c.provider != p.name() {
			continue
		}
		if why := p.unavailable(c); why != "" {
			if c.provider == p.name() {
				return nil, fail(nil, fmt.Sprintf("provider %s cannot be used, want it usable: it was asked for", p.name()), []string{why})
			}
			tried = append(tried, fmt.Sprintf("%s: %s", p.name(), why))
			continue
		}
		t0 := time.Now()
		srv, err := p.start(ctx, c)
		if err == nil {
			srv.started = time.Since(t0)
			srv.warmSize = c.warm
			if !c.warmSet && srv.ownsServer() {
				srv.warmSize = 2
			}
			return srv, nil
		}
		if p.explicit(c) || c.provider == p.name() || errors.Is(err, errBadSettings) {
			return nil, err
		}
		tried = append(tried, p.name()+": "+strings.TrimPrefix(strings.TrimPrefix(err.Error(), "containers: "), p.name()+": "))
	}
	return nil, fail(nil, "no PostgreSQL server could be had, want one provider that works", tried,
		"set "+EnvURL+" to a server you run, or install the PostgreSQL server binaries (apt-get install postgresql)")
}

// stop stops a private server and removes everything it made.
func (s *Server) stop() error {
	s.stopDrops()
	s.mu.Lock()
	if s.warmStop != nil {
		close(s.warmStop)
	}
	txs := s.txDBs
	s.mu.Unlock()
	for _, e := range txs {
		if e.pool != nil {
			e.pool.Close()
		}
	}
	if s.admin != nil {
		s.admin.Close()
	}
	s.ledgerOnce.Do(func() {}) // no ledger opens from now on
	if s.ledger != nil {
		s.ledger.Close()
	}
	if s.owned != nil {
		return s.owned.shutdown()
	}
	if s.docker != nil {
		return s.docker.shutdown()
	}
	return nil
}
