package containers

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// Option configures [Postgres], [Server.Database], [Server.Tx] and [Tune].
// Each option applies to some of them, as its doc says; one given to a
// function it does not apply to (WithTemplate to Postgres) fails with an
// error naming both. When an option is given twice, the last one wins.
type Option func(*options)

// options holds every knob, one sub-struct per function family. An option
// writes only its own field, so that adding one (WithImage, WithTracer)
// is a field and a WithX function.
type options struct {
	server serverOptions   // Postgres
	db     databaseOptions // Server.Database, Server.Tx, Database.Pool, Database.SQL
	tune   tuneOptions     // Tune

	target    scope    // what is being configured
	misplaced []string // options given to a function they do not apply to
}

// serverOptions configures [Postgres] and is what a provider starts.
type serverOptions struct {
	provider       string
	warm           int
	warmSet        bool
	settings       Settings
	customSettings bool
	private        bool
	tcp            bool
	binDir         string
	runAs          string
	startTimeout   time.Duration
	image          string // ProviderDocker: see WithImage
}

// databaseOptions configures [Server.Database] and [Server.Tx], and the
// handles of [Database.Pool] and [Database.SQL].
type databaseOptions struct {
	template  Template
	tracer    pgx.QueryTracer
	connector func(driver.Connector) driver.Connector
}

// tuneOptions configures [Tune].
type tuneOptions struct {
	restart     func(context.Context) error
	restartHint string
	readyWait   time.Duration
}

// scope is the set of functions an option applies to.
type scope uint8

const (
	forServer   scope = 1 << iota // Postgres
	forDatabase                   // Server.Database, Server.Tx
	forTune                       // Tune
	forHandle                     // Database.Pool, Database.SQL
)

// option makes an Option named name (as the user wrote it, for errors)
// that applies to the functions in to.
func option(name string, to scope, set func(*options)) Option {
	return func(o *options) {
		if o.target&to == 0 {
			o.misplaced = append(o.misplaced, name+" ("+to.String()+")")
			return
		}
		set(o)
	}
}

func (s scope) String() string {
	var names []string
	if s&forServer != 0 {
		names = append(names, "Postgres")
	}
	if s&forDatabase != 0 {
		names = append(names, "Server.Database", "Server.Tx")
	}
	if s&forTune != 0 {
		names = append(names, "Tune")
	}
	if s&forHandle != 0 {
		names = append(names, "Database.Pool", "Database.SQL")
	}
	return "an option of " + strings.Join(names, ", ")
}

// collect applies opts for the function fn (in target) over the defaults,
// and rejects options that do not apply to it.
func collect(fn string, target scope, opts []Option) (*options, error) {
	o := &options{
		target: target,
		server: serverOptions{startTimeout: 60 * time.Second},
		tune:   tuneOptions{readyWait: 60 * time.Second},
	}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if len(o.misplaced) > 0 {
		return nil, &failure.Error{Pkg: "containers", Headline: fmt.Sprintf("%s given an option that does not apply to it, want only options of %s", fn, fn),
			Details: o.misplaced, Fixes: []string{"pass each option to the function its doc names"}}
	}
	return o, nil
}

// serverConfig collects the options of [Postgres] and fills in what the
// environment and the defaults say.
func serverConfig(opts []Option) (*serverOptions, error) {
	o, err := collect("Postgres", forServer, opts)
	if err != nil {
		return nil, err
	}
	c := &o.server
	if c.provider == "" {
		c.provider = os.Getenv(EnvProvider)
	}
	if c.runAs == "" {
		c.runAs = os.Getenv(EnvRunAs)
	}
	merged := ThrowawaySettings()
	maps.Copy(merged, c.settings)
	c.settings = merged
	return c, c.validate()
}

// WithProvider picks the provider instead of the first that works:
// [ProviderExisting], [ProviderLocal] or [ProviderDocker]. Applies to [Postgres].
// Default: the DBSUITE_PROVIDER environment variable, else existing when
// DBSUITE_POSTGRES_URL is set, else local.
func WithProvider(name string) Option {
	return option("WithProvider", forServer, func(o *options) { o.server.provider = name })
}

// WithSettings adds server settings to those of [ThrowawaySettings] (a value
// given here wins; given twice, the settings of both are merged, the later
// winning). A server started by dbsuite applies them before its first use;
// servers with different settings are different servers. Applies to
// [Postgres]. Default: [ThrowawaySettings] only.
func WithSettings(s Settings) Option {
	return option("WithSettings", forServer, func(o *options) {
		if o.server.settings == nil {
			o.server.settings = Settings{}
		}
		o.server.customSettings = true
		maps.Copy(o.server.settings, s)
	})
}

// WithPrivate(true) gives the test a server of its own, stopped and
// removed when the test ends, instead of the shared one. Use it for tests
// that restart or reconfigure the server. Applies to [Postgres].
// Default: false (shared).
func WithPrivate(private bool) Option {
	return option("WithPrivate", forServer, func(o *options) { o.server.private = private })
}

// WithTCP(true) makes a local server also listen on a free loopback port,
// with password authentication. Applies to [Postgres]. Default: false (a
// private unix socket only).
func WithTCP(tcp bool) Option {
	return option("WithTCP", forServer, func(o *options) { o.server.tcp = tcp })
}

// WithBinDir names the directory that holds initdb and postgres. Applies
// to [Postgres]. Default: PATH, then pg_config --bindir, then the newest
// /usr/lib/postgresql/*/bin.
func WithBinDir(dir string) Option {
	return option("WithBinDir", forServer, func(o *options) { o.server.binDir = dir })
}

// WithRunAs names the unprivileged user a local server runs as when the
// tests run as root (PostgreSQL refuses to run as root). Applies to
// [Postgres]. Default: the DBSUITE_RUN_AS environment variable, then
// postgres, then nobody.
func WithRunAs(user string) Option {
	return option("WithRunAs", forServer, func(o *options) { o.server.runAs = user })
}

// WithStartTimeout bounds how long starting a server may take, and, in
// [Tune], how long to wait for the server to accept connections after a
// restart. Applies to [Postgres] and [Tune]. Default: 60s.
func WithStartTimeout(d time.Duration) Option {
	return option("WithStartTimeout", forServer|forTune, func(o *options) {
		o.server.startTimeout = d
		o.tune.readyWait = d
	})
}

// WithWarmDatabases keeps n databases per template cloned ahead of time
// in the background, so that [Server.Database] hands one out in well under
// a millisecond. Databases made ahead of time and never handed out are
// removed with a local server; on an existing server they are dropped by
// the first test binary of the next run. Applies to [Postgres].
// Default: 2 for a local server, 0 for an existing one.
func WithWarmDatabases(n int) Option {
	return option("WithWarmDatabases", forServer, func(o *options) { o.server.warm, o.server.warmSet = n, true })
}

// WithTemplate clones the database from t instead of an empty one.
// Applies to [Server.Database] and [Server.Tx]. Default: an empty
// database (a clone of template1).
func WithTemplate(t Template) Option {
	return option("WithTemplate", forDatabase, func(o *options) { o.db.template = t })
}

// WithRestart gives [Tune] a way to restart the server when a setting
// needs it; it must return once the server is stopped and started again
// (Tune then waits until it accepts connections). Without it, such
// settings are reported with [ErrRestartRequired]. Applies to [Tune].
// Default: nil (Tune never restarts).
func WithRestart(restart func(ctx context.Context) error) Option {
	return option("WithRestart", forTune, func(o *options) { o.tune.restart = restart })
}

// WithRestartHint is the command a user should run to restart the server,
// quoted in the report and the error when a restart is needed and
// [WithRestart] was not given. Applies to [Tune]. Default: a generic
// docker/pg_ctl hint.
func WithRestartHint(command string) Option {
	return option("WithRestartHint", forTune, func(o *options) { o.tune.restartHint = command })
}

func (c *serverOptions) validate() error {
	var names []string
	for _, p := range providers {
		names = append(names, strconv.Quote(p.name()))
	}
	if c.provider != "" && !slices.ContainsFunc(providers, func(p provider) bool { return p.name() == c.provider }) {
		return fmt.Errorf("containers: unknown provider %q (from WithProvider or %s): want one of %s",
			c.provider, EnvProvider, strings.Join(names, ", "))
	}
	if c.warmSet && c.warm < 0 {
		return fmt.Errorf("containers: WithWarmDatabases(%d): want 0 or more", c.warm)
	}
	if c.startTimeout <= 0 {
		return fmt.Errorf("containers: WithStartTimeout(%v): want a positive duration", c.startTimeout)
	}
	return nil
}

// key identifies servers that can be shared: same provider choice, same
// binaries and same settings.
func (c *serverOptions) key() string {
	h := sha256.New()
	warm := -1
	if c.warmSet {
		warm = c.warm
	}
	fmt.Fprintf(h, "v1\x00%s\x00%t\x00%s\x00%s\x00%s\x00%d\x00%s\x00", c.provider, c.tcp, c.binDir, c.runAs, os.Getenv(EnvURL), warm, c.image)
	for _, k := range slices.Sorted(maps.Keys(c.settings)) {
		fmt.Fprintf(h, "%s=%s\x00", k, c.settings[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// databaseConfig collects the options of [Server.Database] or
// [Server.Tx] (fn).
func databaseConfig(fn string, opts []Option) (*databaseOptions, error) {
	return dbOptions(fn, forDatabase, opts)
}

// dbOptions collects the options of fn, one of the functions in target.
func dbOptions(fn string, target scope, opts []Option) (*databaseOptions, error) {
	o, err := collect(fn, target, opts)
	if err != nil {
		return nil, err
	}
	return &o.db, nil
}
