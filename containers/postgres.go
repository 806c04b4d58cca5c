package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
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
	// EnvProvider forces a provider: "existing" or "local".
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

// Option configures [Postgres].
type Option func(*config)

type config struct {
	provider       string
	warm           int
	settings       Settings
	customSettings bool
	private        bool
	tcp            bool
	binDir         string
	runAs          string
	startTimeout   time.Duration
	image          string
}

type serverOptions = config

// WithProvider picks the provider instead of the first that works:
// [ProviderExisting] or [ProviderLocal]. Default: the DBSUITE_PROVIDER
// environment variable, else existing when DBSUITE_POSTGRES_URL is set,
// else local.
func WithProvider(name string) Option { return func(c *config) { c.provider = name } }

// WithSettings adds server settings to those of [TestSettings] (a value
// given here wins). A server started by dbsuite applies them before its
// first use; servers with different settings are different servers.
// Default: [TestSettings] only.
func WithSettings(s Settings) Option {
	return func(c *config) {
		if c.settings == nil {
			c.settings = Settings{}
		}
		c.customSettings = true
		for k, v := range s {
			c.settings[k] = v
		}
	}
}

// Private gives the test a server of its own, stopped and removed when the
// test ends, instead of the shared one. Use it for tests that restart or
// reconfigure the server. Default: shared.
func Private() Option { return func(c *config) { c.private = true } }

// WithTCP makes a local server also listen on a free loopback port, with
// password authentication. Default: a private unix socket only.
func WithTCP() Option { return func(c *config) { c.tcp = true } }

// WithBinDir names the directory that holds initdb and postgres.
// Default: PATH, then pg_config --bindir, then the newest
// /usr/lib/postgresql/*/bin.
func WithBinDir(dir string) Option { return func(c *config) { c.binDir = dir } }

// WithRunAs names the unprivileged user a local server runs as when the
// tests run as root (PostgreSQL refuses to run as root). Default: the
// DBSUITE_RUN_AS environment variable, then postgres, then nobody.
func WithRunAs(user string) Option { return func(c *config) { c.runAs = user } }

// WithStartTimeout bounds how long starting a server may take.
// Default: 60s.
func WithStartTimeout(d time.Duration) Option { return func(c *config) { c.startTimeout = d } }

// WithWarmDatabases keeps n databases per template cloned ahead of time
// in the background, so that [Server.Database] hands one out in well under
// a millisecond. Databases made ahead of time and never handed out are
// removed with a local server; on an existing server they are dropped by
// the first test binary of the next run. Default: 2 for a local server, 0
// for an existing one.
func WithWarmDatabases(n int) Option { return func(c *config) { c.warm = n } }

func newConfig(opts []Option) *config {
	c := &config{startTimeout: 60 * time.Second, warm: -1}
	for _, o := range opts {
		o(c)
	}
	if c.provider == "" {
		c.provider = os.Getenv(EnvProvider)
	}
	if c.runAs == "" {
		c.runAs = os.Getenv(EnvRunAs)
	}
	merged := TestSettings()
	for k, v := range c.settings {
		merged[k] = v
	}
	c.settings = merged
	return c
}

// key identifies servers that can be shared: same provider choice, same
// binaries and same settings.
func (c *config) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00%t\x00%s\x00%s\x00%s\x00%d\x00", c.provider, c.tcp, c.binDir, c.runAs, os.Getenv(EnvURL), c.warm)
	names := make([]string, 0, len(c.settings))
	for k := range c.settings {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(h, "%s=%s\x00", k, c.settings[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

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

	local       *localServer  // nil unless ProviderLocal
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
}

// Provider returns where the server comes from: [ProviderExisting] or
// [ProviderLocal].
func (s *Server) Provider() string { return s.provider }

// Version returns the server's version, such as "15.18".
func (s *Server) Version() string { return s.version }

// DSN returns a connection string for the server's maintenance database
// ("postgres") as its administrative role. Prefer [Server.Database] for
// anything a test writes to.
func (s *Server) DSN() string { return s.dsn }

// Owned reports whether dbsuite started the server, and so may restart it.
func (s *Server) Owned() bool { return s.local != nil || s.docker != nil }

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

// scrub removes the server's password from a message.
func (s *Server) scrub(msg string) string { return dsn.Scrub(msg, s.password) }

// errorf formats an error and removes the server's password from it.
func (s *Server) errorf(format string, args ...any) error {
	return errors.New(s.scrub(fmt.Sprintf(format, args...)))
}

// adminPool is a small pool on the maintenance database, used to create
// and drop databases.
func (s *Server) adminPool(ctx context.Context) (*pgxpool.Pool, error) {
	s.adminOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(s.dsn)
		if err != nil {
			s.adminErr = s.errorf("containers: %s: bad connection string %s: %v", s.provider, dsn.Redact(s.dsn), err)
			return
		}
		cfg.MaxConns = 4
		cfg.MinConns = 0
		cfg.MaxConnIdleTime = 30 * time.Second
		s.admin, s.adminErr = pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	})
	return s.admin, s.adminErr
}

// provider is one place a server can come from.
type provider interface {
	name() string
	// unavailable says why the provider cannot be tried, or "" if it can.
	unavailable(c *config) string
	// explicit reports whether the user asked for this provider, in which
	// case its failure is final.
	explicit(c *config) bool
	start(ctx context.Context, c *config) (*Server, error)
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
// started from a cached data directory. Unless [Private] is given, one
// server per configuration is shared by every test of the process and by
// every test binary of the same `go test` run, and stopped and removed
// when the last of them exits, even if it crashes. The log says which
// provider was used and how long it took.
func Postgres(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	c := newConfig(opts)
	if err := c.validate(); err != nil {
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

func (c *config) validate() error {
	switch c.provider {
	case "", ProviderExisting, ProviderLocal, ProviderDocker:
	default:
		return fmt.Errorf("containers: unknown provider %q (from WithProvider or %s): want %q or %q",
			c.provider, EnvProvider, ProviderExisting, ProviderLocal)
	}
	if c.warm < -1 {
		return fmt.Errorf("containers: WithWarmDatabases(%d): want 0 or more", c.warm)
	}
	if c.startTimeout <= 0 {
		return fmt.Errorf("containers: WithStartTimeout(%v): want a positive duration", c.startTimeout)
	}
	return nil
}

// startServer tries the providers in order and returns the first server
// that starts. A provider the user asked for explicitly is final.
func startServer(ctx context.Context, c *config) (*Server, error) {
	var tried []string
	for _, p := range providers {
		if c.provider != "" && c.provider != p.name() {
			continue
		}
		if why := p.unavailable(c); why != "" {
			if c.provider == p.name() {
				return nil, fmt.Errorf("containers: provider %s was asked for but cannot be used: %s", p.name(), why)
			}
			tried = append(tried, fmt.Sprintf("  %s: %s", p.name(), why))
			continue
		}
		t0 := time.Now()
		srv, err := p.start(ctx, c)
		if err == nil {
			srv.started = time.Since(t0)
			srv.warmSize = c.warm
			if c.warm < 0 && (srv.local != nil || srv.docker != nil) {
				srv.warmSize = 2
			} else if c.warm < 0 {
				srv.warmSize = 0
			}
			return srv, nil
		}
		if p.explicit(c) || c.provider == p.name() {
			return nil, err
		}
		tried = append(tried, fmt.Sprintf("  %s: %v", p.name(), err))
	}
	return nil, fmt.Errorf("containers: no PostgreSQL server could be had:\n%s\nfix: set %s to a server you run, or install the PostgreSQL server binaries (apt-get install postgresql)",
		strings.Join(tried, "\n"), EnvURL)
}

// stop stops a private server and removes everything it made.
func (s *Server) stop() error {
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
	if s.local != nil {
		return s.local.shutdown()
	}
	if s.docker != nil {
		return s.docker.shutdown()
	}
	return nil
}
