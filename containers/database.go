package containers

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Template describes a template database that [Server.Database] clones:
// built once by Setup (schema, views, seed data), and reused for as long
// as Name and Hash stay the same — across test binaries, and across runs
// on a server that outlives them.
type Template struct {
	// Name names the template in logs and in the database name: letters,
	// digits and underscores.
	Name string
	// Hash must change whenever what Setup builds changes: a hash of the
	// migration files, of the schema text, of the seed's parameters.
	// [HashOf] computes one.
	Hash string
	// Setup builds the template's content on a connection to it. For a
	// migration tool that wants a connection string, use
	// conn.Config().ConnString().
	Setup func(ctx context.Context, conn *pgx.Conn) error
}

// HashOf returns a short hex hash of its arguments, for [Template.Hash].
func HashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\x00", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Database is a database of its own for one test, dropped when the test
// ends.
type Database struct {
	name string
	dsn  string
}

// Name returns the database's name.
func (d *Database) Name() string { return d.name }

// DSN returns a connection string for the database, for pgx or
// database/sql (pgx's stdlib driver, lib/pq).
func (d *Database) DSN() string { return d.dsn }

// Pool returns a pgx pool on the database, closed when the test ends.
func (d *Database) Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(tb.Context(), d.dsn)
	if err != nil {
		tb.Fatalf("containers: pool for database %s: %v", d.name, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// SQL returns a database/sql handle on the database (pgx's stdlib
// driver), closed when the test ends.
func (d *Database) SQL(tb testing.TB) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(d.dsn)
	if err != nil {
		tb.Fatalf("containers: database %s: %v", d.name, err)
	}
	db := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { db.Close() })
	return db
}

// Database returns a fresh database for the test, cloned from an empty
// database or from a [Template] ([WithTemplate]), and dropped when the
// test ends, whatever connections are still open. When the test failed
// and DBSUITE_KEEP_FAILED=1, it is kept instead, and the log says how to
// connect to it.
func (s *Server) Database(tb testing.TB, opts ...Option) *Database {
	tb.Helper()
	c, err := databaseConfig("Server.Database", opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	ctx := tb.Context()
	db, err := s.createDatabase(ctx, c, "t")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() && os.Getenv(EnvKeepFailed) == "1" {
			tb.Logf("containers: %s=1: kept database %s of the failed test; connect with: psql %q%s",
				EnvKeepFailed, db.name, dsn.Redact(db.dsn), s.keepServer(db.name))
			return
		}
		if err := s.dropDatabase(context.Background(), db.name); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return db
}

// keepServer makes sure a local server outlives the run when a database
// on it is kept, and says how to stop it.
func (s *Server) keepServer(db string) string {
	if s.docker != nil {
		return s.docker.keep(db)
	}
	if s.local == nil {
		return ""
	}
	_ = os.WriteFile(filepath.Join(s.local.runDir, "keep"), nil, 0o600)
	return fmt.Sprintf("\nthe server stays up after the tests; stop it with: kill -INT %d && rm -rf %s", s.local.pid(), s.local.runDir)
}

// Database names carry their owner (host, pid and the pid's start time)
// so that databases left by a killed test binary can be found and dropped.
var (
	dbSeq     atomic.Int64
	ownerOnce sync.Once
	ownerTag  string
)

func owner() string {
	ownerOnce.Do(func() {
		host, _ := os.Hostname()
		h := sha256.Sum256([]byte(host))
		ownerTag = fmt.Sprintf("%s_%d_%d", hex.EncodeToString(h[:3]), os.Getpid(), processStart(os.Getpid()))
	})
	return ownerTag
}

// processStart returns a process's start time in clock ticks since boot
// (Linux), so that a reused pid is not mistaken for its predecessor.
func processStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(fields[19], 10, 64)
	return n
}

var ownedNameRE = regexp.MustCompile(`^dbsuite_[tx]_([0-9a-f]{6})_(\d+)_(\d+)_\d+$`)

// sweep drops databases left behind by test binaries of this host that
// are no longer running.
func (s *Server) sweep(ctx context.Context, pool *pgxpool.Pool) {
	host, _ := os.Hostname()
	h := sha256.Sum256([]byte(host))
	me := hex.EncodeToString(h[:3])
	rows, err := pool.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'dbsuite\_%'`)
	if err != nil {
		return
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, name := range names {
		m := ownedNameRE.FindStringSubmatch(name)
		if m == nil || m[1] != me {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		start, _ := strconv.ParseUint(m[3], 10, 64)
		if pidAlive(pid) && processStart(pid) == start {
			continue
		}
		_ = s.dropDatabase(ctx, name)
	}
}

func (s *Server) createDatabase(ctx context.Context, c *databaseOptions, kind string) (*Database, error) {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return nil, err
	}
	s.janitor.Do(func() { s.sweep(ctx, pool) })
	tpl, err := s.template(ctx, c.template)
	if err != nil {
		return nil, err
	}
	if kind == "t" && s.warmSize > 0 {
		wp := s.warmPool(tpl)
		select {
		case db := <-wp.ready:
			wp.refill()
			return db, nil
		default:
			defer wp.refill()
		}
	}
	return s.clone(ctx, tpl, kind)
}

// clone creates a database from the template tpl.
func (s *Server) clone(ctx context.Context, tpl, kind string) (*Database, error) {
	pool, err := s.adminPool(ctx)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("dbsuite_%s_%s_%d", kind, owner(), dbSeq.Add(1))
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{tpl}.Sanitize()
	if s.versionNum >= 150000 && s.fsyncOff.Load() {
		// FILE_COPY copies the files and checkpoints: about twice as fast
		// as WAL_LOG when fsync is off, much slower when it is on.
		q += " STRATEGY FILE_COPY"
	}
	// Someone connected to the template (template1 is a popular place to
	// be) makes CREATE DATABASE fail: retry for a while.
	var last error
	for attempt := 0; attempt < 50; attempt++ {
		_, last = pool.Exec(ctx, q)
		var pgErr *pgconn.PgError
		if last == nil || !errors.As(last, &pgErr) || pgErr.Code != "55006" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last != nil {
		return nil, s.errorf("containers: %s: %s: %v", s.provider, q, last)
	}
	d, err := dsn.WithDatabase(s.dsn, name)
	if err != nil {
		return nil, s.errorf("containers: %v", err)
	}
	return &Database{name: name, dsn: d}, nil
}

// warmPool keeps a few clones of one template ready, made in the
// background, so that handing one out costs a channel receive.
type warmPool struct {
	ready chan *Database
	kick  chan struct{}
}

func (s *Server) warmPool(tpl string) *warmPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warm == nil {
		s.warm = map[string]*warmPool{}
		s.warmStop = make(chan struct{})
	}
	wp, ok := s.warm[tpl]
	if !ok {
		wp = &warmPool{ready: make(chan *Database, s.warmSize), kick: make(chan struct{}, 1)}
		s.warm[tpl] = wp
		go s.fillWarmPool(wp, tpl, s.warmStop)
	}
	return wp
}

func (wp *warmPool) refill() {
	select {
	case wp.kick <- struct{}{}:
	default:
	}
}

func (s *Server) fillWarmPool(wp *warmPool, tpl string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-wp.kick:
		}
		for len(wp.ready) < cap(wp.ready) {
			db, err := s.clone(context.Background(), tpl, "t")
			if err != nil {
				break // the next hand-out clones in the foreground and reports it
			}
			s.reapAtExit(db.name)
			select {
			case wp.ready <- db:
			case <-stop:
				return
			}
		}
	}
}

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

type templateEntry struct {
	once sync.Once
	name string
	err  error
}

var templateNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// template returns the database to clone for t, building it first if
// needed: once per process (sync.Once), once per server across processes
// (an advisory lock, and datistemplate as the mark of a finished build).
func (s *Server) template(ctx context.Context, t *Template) (string, error) {
	if t == nil {
		return "template1", nil
	}
	switch {
	case !templateNameRE.MatchString(t.Name):
		return "", fmt.Errorf("containers: Template.Name %q: want letters, digits and underscores", t.Name)
	case t.Hash == "":
		return "", fmt.Errorf("containers: template %q has no Hash: set it to something that changes when what Setup builds changes, such as containers.HashOf(schemaSQL)", t.Name)
	case t.Setup == nil:
		return "", fmt.Errorf("containers: template %q has no Setup function", t.Name)
	}
	slug := strings.ToLower(t.Name)
	if len(slug) > 30 {
		slug = slug[:30]
	}
	name := "dbsuite_tpl_" + slug + "_" + HashOf(t.Name, t.Hash)[:12]
	s.mu.Lock()
	if s.templates == nil {
		s.templates = map[string]*templateEntry{}
	}
	e, ok := s.templates[name]
	if !ok {
		e = &templateEntry{name: name}
		s.templates[name] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		// The template outlives the test that first asks for it.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		e.err = s.buildTemplate(bctx, t, name)
	})
	return e.name, e.err
}

func (s *Server) buildTemplate(ctx context.Context, t *Template, name string) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return s.errorf("containers: template %q: connect: %v", t.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Another test binary may be building it: wait for it.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", "dbsuite-template:"+name); err != nil {
		return s.errorf("containers: template %q: lock: %v", t.Name, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", "dbsuite-template:"+name)
	var done bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&done)
	if err == nil && done {
		return nil
	}
	ident := pgx.Identifier{name}.Sanitize()
	drop := func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)") }
	drop() // a build that died halfway
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return s.errorf("containers: template %q: CREATE DATABASE %s: %v", t.Name, name, err)
	}
	tdsn, err := dsn.WithDatabase(s.dsn, name)
	if err != nil {
		drop()
		return s.errorf("containers: %v", err)
	}
	tconn, err := pgx.Connect(ctx, tdsn)
	if err != nil {
		drop()
		return s.errorf("containers: template %q: connect: %v", t.Name, err)
	}
	t0 := time.Now()
	serr := t.Setup(ctx, tconn)
	tconn.Close(context.WithoutCancel(ctx))
	if serr != nil {
		drop()
		return s.errorf("containers: template %q: Setup failed after %v: %v", t.Name, time.Since(t0).Round(time.Millisecond), serr)
	}
	// Sealed: no one can connect to it by mistake and block the clones.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		drop()
		return s.errorf("containers: template %q: %v", t.Name, err)
	}
	return nil
}

type txEntry struct {
	once sync.Once
	pool *pgxpool.Pool
	name string
	err  error
}

// Tx returns a transaction on a database shared by the tests of this
// process (one per template), rolled back when the test ends: the
// cheapest isolation there is (well under a millisecond). The code under
// test must use this transaction and must not commit it; tests running in
// parallel see each other's locks, and code that opens its own
// connections, commits or uses LISTEN/NOTIFY needs [Server.Database].
func (s *Server) Tx(tb testing.TB, opts ...Option) pgx.Tx {
	tb.Helper()
	c, err := databaseConfig("Server.Tx", opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	key := ""
	if c.template != nil {
		key = c.template.Name + "\x00" + c.template.Hash
	}
	s.mu.Lock()
	if s.txDBs == nil {
		s.txDBs = map[string]*txEntry{}
	}
	e, ok := s.txDBs[key]
	if !ok {
		e = &txEntry{}
		s.txDBs[key] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		ctx := context.WithoutCancel(tb.Context())
		db, err := s.createDatabase(ctx, c, "x")
		if err != nil {
			e.err = err
			return
		}
		e.name = db.name
		s.reapAtExit(db.name)
		e.pool, e.err = pgxpool.New(ctx, db.dsn)
	})
	if e.err != nil {
		tb.Fatalf("%v", e.err)
	}
	tx, err := e.pool.Begin(tb.Context())
	if err != nil {
		tb.Fatalf("containers: begin a transaction on %s: %v", e.name, err)
	}
	tb.Cleanup(func() {
		err := tx.Rollback(context.Background())
		if errors.Is(err, pgx.ErrTxClosed) {
			tb.Errorf("containers: the transaction from Server.Tx was committed or rolled back by the test; "+
				"its changes may now be visible to other tests in %s: use Server.Database for code that commits", e.name)
			return
		}
		if err != nil {
			tb.Errorf("containers: roll back the test's transaction: %v", err)
		}
	})
	return tx
}

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
	case s.local != nil && s.private:
		opts = append(opts, WithRestart(func(ctx context.Context) error {
			err := s.local.restart(ctx)
			s.resetPools() // their connections died with the old postmaster
			return err
		}))
	case s.local != nil:
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
