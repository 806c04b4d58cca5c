//go:build unix

package containers_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
	dsnpkg "github.com/dbsuite/dbsuite/internal/dsn"
)

// query runs a one-value query on dsn.
func query[T any](t *testing.T, dsn, sql string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var v T
	require.NoError(t, conn.QueryRow(t.Context(), sql, args...).Scan(&v), sql)
	return v
}

func exec(t *testing.T, dsn string, sqls ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	for _, sql := range sqls {
		_, err := conn.Exec(t.Context(), sql)
		require.NoError(t, err, sql)
	}
}

func databaseExists(t *testing.T, srv *containers.Server, name string) bool {
	t.Helper()
	return query[bool](t, srv.DSN(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name)
}

// dropped waits for a finished test's database to be dropped in the
// background, and reports whether it was within a few seconds.
func dropped(t *testing.T, srv *containers.Server, name string) bool {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if !databaseExists(t, srv, name) {
			return true
		}
	}
	return false
}

// postmaster returns the server's data directory and postmaster pid.
func postmaster(t *testing.T, srv *containers.Server) (dataDir string, pid int) {
	t.Helper()
	dataDir = query[string](t, srv.DSN(), "SHOW data_directory")
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err = strconv.Atoi(first)
	require.NoError(t, err)
	return dataDir, pid
}

// TestPostgresLocal asks for the local provider by name, so that it also
// runs where DBSUITE_POSTGRES_URL names a server (the project's CI).
func TestPostgresLocal(t *testing.T) {
	local := containers.WithProvider(containers.ProviderLocal)
	srv := containers.Postgres(t, local)
	require.Equal(t, containers.ProviderLocal, srv.Provider())
	require.Regexp(t, `^\d+\.\d+$`, srv.Version())
	assert.Same(t, srv, containers.Postgres(t, local), "a second call must return the shared server")

	t.Run("settings in effect", func(t *testing.T) {
		for name, want := range containers.ThrowawaySettings() {
			got := query[string](t, srv.DSN(), "SELECT current_setting($1)", name)
			assert.Equal(t, want, got, "SHOW %s", name)
		}
	})
	t.Run("private directory, unix socket only", func(t *testing.T) {
		dataDir, pid := postmaster(t, srv)
		runDir := filepath.Dir(dataDir)
		for _, dir := range []string{runDir, filepath.Dir(runDir), dataDir} {
			st, err := os.Stat(dir)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "mode of %s", dir)
		}
		assert.Equal(t, "", query[string](t, srv.DSN(), "SHOW listen_addresses"), "no TCP unless asked")
		assert.Equal(t, runDir, query[string](t, srv.DSN(), "SHOW unix_socket_directories"))
		// PostgreSQL refuses root: when the tests run as root, the server
		// runs as someone else.
		uid := processUID(t, pid)
		if os.Geteuid() == 0 {
			assert.NotEqual(t, 0, uid, "the server runs as root")
		} else {
			assert.Equal(t, os.Geteuid(), uid)
		}
	})
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[0])
			require.NoError(t, err)
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return 0
}

// passwordOf returns the password a connection string carries.
func passwordOf(t *testing.T, dsn string) string {
	t.Helper()
	sec := dsnpkg.Secrets(dsn)
	require.NotEmpty(t, sec, "a password in the connection string")
	return sec[0]
}

func TestPostgresTCP(t *testing.T) {
	srv := containers.Postgres(t, containers.WithTCP(true), containers.WithPrivate(true))
	dsn := srv.DSN()
	assert.Contains(t, dsn, "host=127.0.0.1")
	assert.Equal(t, "127.0.0.1", query[string](t, dsn, "SHOW listen_addresses"))
	assert.NotContains(t, srv.String(), passwordOf(t, dsn), "String must redact the password")
	// Loopback TCP needs the password.
	_, err := pgx.Connect(t.Context(), strings.Replace(dsn, "password="+passwordOf(t, dsn), "password=wrong", 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "password authentication failed")
}

func TestDatabaseIsolation(t *testing.T) {
	srv := containers.Postgres(t)
	names := make(chan string, 8)
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprintf("db%d", i), func(t *testing.T) {
				t.Parallel()
				db := srv.Database(t)
				names <- db.Name()
				pool := db.Pool(t)
				_, err := pool.Exec(t.Context(), "CREATE TABLE mine (v int)")
				require.NoError(t, err)
				_, err = pool.Exec(t.Context(), "INSERT INTO mine VALUES ($1)", i)
				require.NoError(t, err)
				var vs []int
				rows, err := pool.Query(t.Context(), "SELECT v FROM mine")
				require.NoError(t, err)
				vs, err = pgx.CollectRows(rows, pgx.RowTo[int])
				require.NoError(t, err)
				assert.Equal(t, []int{i}, vs, "each database sees only its own rows")
			})
		}
	})
	close(names)
	seen := map[string]bool{}
	for name := range names {
		assert.False(t, seen[name], "database %s handed out twice", name)
		seen[name] = true
		assert.True(t, dropped(t, srv, name), "database %s not dropped after its test", name)
	}
	assert.Len(t, seen, 8)
}

func TestDatabaseHandles(t *testing.T) {
	srv := containers.Postgres(t)
	db := srv.Database(t)
	tests := []struct {
		name  string
		query func(t *testing.T) string
	}{
		{"DSN", func(t *testing.T) string { return query[string](t, db.DSN(), "SELECT current_database()") }},
		{"Pool", func(t *testing.T) string {
			var s string
			require.NoError(t, db.Pool(t).QueryRow(t.Context(), "SELECT current_database()").Scan(&s))
			return s
		}},
		{"SQL", func(t *testing.T) string {
			var s string
			require.NoError(t, db.SQL(t).QueryRowContext(t.Context(), "SELECT current_database()").Scan(&s))
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, db.Name(), tt.query(t))
		})
	}
}

func TestDatabaseDropsWithLeakedConnections(t *testing.T) {
	srv := containers.Postgres(t)
	var name string
	var leaked *pgx.Conn
	t.Run("leaks", func(t *testing.T) {
		db := srv.Database(t)
		name = db.Name()
		var err error
		leaked, err = pgx.Connect(context.Background(), db.DSN()) // never closed by the test
		require.NoError(t, err)
		require.NoError(t, leaked.Ping(t.Context()))
	})
	assert.True(t, dropped(t, srv, name), "the drop must terminate leaked connections")
	assert.Error(t, leaked.Ping(context.Background()), "the leaked connection must have been terminated")
}

func TestDatabaseKeepFailed(t *testing.T) {
	t.Setenv(containers.EnvKeepFailed, "1")
	srv := containers.Postgres(t, containers.WithPrivate(true))
	var name string
	f := runFake(t, true, func(tb testing.TB) {
		name = srv.Database(tb).Name()
	})
	require.True(t, databaseExists(t, srv, name), "the failed test's database must be kept")
	out := f.output()
	assert.Contains(t, out, "kept database "+name)
	assert.Contains(t, out, "psql \"host=")
	m := stopRE.FindStringSubmatch(out)
	require.NotNil(t, m, "the log says how to stop the kept server:\n%s", out)
	// The kept server stays up after Postgres's cleanup: stop it as the
	// user would.
	t.Cleanup(func() { _ = osexec.Command("/bin/sh", "-c", m[1]).Run() })

	t.Run("passing test drops", func(t *testing.T) {
		var name string
		runFake(t, false, func(tb testing.TB) { name = srv.Database(tb).Name() })
		assert.True(t, dropped(t, srv, name))
	})
}

func TestTemplate(t *testing.T) {
	srv := containers.Postgres(t)
	var setups atomic.Int32
	tpl := containers.NewTemplate("people", containers.HashOf("v1", t.Name(), strconv.FormatInt(time.Now().UnixNano(), 10)),
		func(ctx context.Context, conn *pgx.Conn) error {
			setups.Add(1)
			_, err := conn.Exec(ctx, `CREATE TABLE person (id int PRIMARY KEY, name text NOT NULL);
				INSERT INTO person SELECT i, 'p' || i FROM generate_series(1, 1000) i`)
			return err
		})
	t.Run("clones", func(t *testing.T) {
		for i := range 4 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				db := srv.Database(t, containers.WithTemplate(tpl))
				pool := db.Pool(t)
				var n int
				require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM person").Scan(&n))
				assert.Equal(t, 1000, n, "a clone holds the template's rows")
				_, err := pool.Exec(t.Context(), "DELETE FROM person WHERE id > $1", i*100)
				require.NoError(t, err)
				require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM person").Scan(&n))
				assert.Equal(t, i*100, n, "changes stay in this clone")
			})
		}
	})
	assert.Equal(t, int32(1), setups.Load(), "Setup runs once")
	tplName := query[string](t, srv.DSN(), "SELECT datname FROM pg_database WHERE datname LIKE 'dbsuite_tpl_people_%' AND datistemplate AND NOT datallowconn")
	assert.NotEmpty(t, tplName, "the template is sealed: a template, no connections allowed")
}

func TestTemplateErrors(t *testing.T) {
	srv := containers.Postgres(t)
	setupOK := func(ctx context.Context, conn *pgx.Conn) error { return nil }
	tests := []struct {
		name string
		tpl  containers.Template
		want string
	}{
		{"no hash", containers.NewTemplate("a", "", setupOK), `template "a" has no hash`},
		{"bad name", containers.NewTemplate("a-b", "1", setupOK), `template name "a-b": want letters, digits and underscores`},
		{"no setup", containers.NewTemplate("nosetup", containers.HashOf(t.Name(), time.Now().String()), nil), `NewTemplate was given a nil setup function`},
		{"setup fails", containers.NewTemplate("broken", containers.HashOf(t.Name(), time.Now().String()),
			func(ctx context.Context, conn *pgx.Conn) error {
				_, err := conn.Exec(ctx, "CREATE TABLE x (id nosuchtype)")
				return err
			}), `template "broken": SetupTemplate failed after`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := runFake(t, false, func(tb testing.TB) { srv.Database(tb, containers.WithTemplate(tt.tpl)) })
			assert.Contains(t, f.fatal, tt.want)
		})
	}
	t.Run("a failed build leaves nothing", func(t *testing.T) {
		n := query[int](t, srv.DSN(), "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbsuite_tpl_broken_%'")
		assert.Equal(t, 0, n)
	})
}

func TestTx(t *testing.T) {
	srv := containers.Postgres(t)
	tpl := containers.NewTemplate("txdemo", "1", func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE TABLE item (id int PRIMARY KEY)")
		return err
	})
	for i := range 3 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			tx := srv.Tx(t, containers.WithTemplate(tpl))
			var n int
			require.NoError(t, tx.QueryRow(t.Context(), "SELECT count(*) FROM item").Scan(&n))
			assert.Equal(t, 0, n, "the previous test's rows were rolled back")
			_, err := tx.Exec(t.Context(), "INSERT INTO item VALUES (1)")
			require.NoError(t, err)
		})
	}
	t.Run("without a template, a local server's postgres database: nothing to clone", func(t *testing.T) {
		var db string
		require.NoError(t, srv.Tx(t).QueryRow(t.Context(), "SELECT current_database()").Scan(&db))
		if srv.Provider() == containers.ProviderLocal {
			assert.Equal(t, "postgres", db)
		} else {
			assert.NotEqual(t, "postgres", db, "a server dbsuite does not own: a clone of its own")
		}
	})
	t.Run("committing is reported", func(t *testing.T) {
		f := runFake(t, false, func(tb testing.TB) {
			tx := srv.Tx(tb, containers.WithTemplate(tpl))
			require.NoError(t, tx.Commit(t.Context()))
		})
		assert.Contains(t, strings.Join(f.errors, "\n"), "was committed or rolled back by the test")
		// Undo what the commit leaked, for the other tests (committing
		// again, which the fake absorbs).
		runFake(t, false, func(tb testing.TB) {
			tx := srv.Tx(tb, containers.WithTemplate(tpl))
			_, err := tx.Exec(t.Context(), "DELETE FROM item")
			require.NoError(t, err)
			require.NoError(t, tx.Commit(t.Context()))
		})
	})
}

func TestPostgresBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []containers.Option
	}{
		{"unknown provider", []containers.Option{containers.WithProvider("podman")}},
		{"bad timeout", []containers.Option{containers.WithStartTimeout(0)}},
		{"bad warm count", []containers.Option{containers.WithWarmDatabases(-5)}},
		{"bad bin dir", []containers.Option{containers.WithBinDir("/nonexistent"), containers.WithPrivate(true)}},
		{"bad setting", []containers.Option{containers.WithSettings(containers.Settings{"fsync": "maybe"}), containers.WithPrivate(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := runFake(t, false, func(tb testing.TB) { containers.Postgres(tb, tt.opts...) })
			checkMessage(t, "options/"+tt.name, f.fatal)
		})
	}
}

// TestOptionMisplaced: an option given to a function it does not apply to
// is an error naming both, and changes nothing.
func TestOptionMisplaced(t *testing.T) {
	t.Parallel()
	tpl := containers.NewTemplate("x", "1", func(context.Context, *pgx.Conn) error { return nil })
	tests := []struct {
		name string
		call func(tb testing.TB)
		want string
	}{
		{"template to Postgres", func(tb testing.TB) { containers.Postgres(tb, containers.WithTemplate(tpl)) },
			"containers: Postgres given an option that does not apply to it, want only options of Postgres\n" +
				"  WithTemplate (an option of Server.Database, Server.Tx)\n" +
				"fix: pass each option to the function its doc names"},
		{"provider to Database", func(tb testing.TB) {
			containers.Postgres(tb).Database(tb, containers.WithProvider("local"), containers.WithRestartHint("x"))
		}, "containers: Server.Database given an option that does not apply to it, want only options of Server.Database\n" +
			"  WithProvider (an option of Postgres)\n" +
			"  WithRestartHint (an option of Tune)\n" +
			"fix: pass each option to the function its doc names"},
		{"template to Tune", func(tb testing.TB) {
			_, err := containers.Tune(tb.Context(), "postgres://localhost:1/x", containers.Settings{"jit": "off"}, containers.WithTemplate(tpl))
			tb.Fatalf("%v", err)
		}, "containers: Tune given an option that does not apply to it, want only options of Tune\n" +
			"  WithTemplate (an option of Server.Database, Server.Tx)\n" +
			"fix: pass each option to the function its doc names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := runFake(t, false, tt.call)
			assert.Equal(t, tt.want, f.fatal)
		})
	}
}

// TestOptionLastWins: an option given twice takes its last value.
func TestOptionLastWins(t *testing.T) {
	srv := containers.Postgres(t, containers.WithPrivate(true), containers.WithPrivate(false))
	assert.Contains(t, srv.String(), "shared")
}

func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		// Not root: the server runs as ourselves and WithRunAs is unused.
		srv := containers.Postgres(t, containers.WithPrivate(true), containers.WithRunAs("no-such-user"))
		_, pid := postmaster(t, srv)
		assert.Equal(t, os.Geteuid(), processUID(t, pid))
		return
	}
	f := runFake(t, false, func(tb testing.TB) {
		containers.Postgres(tb, containers.WithPrivate(true), containers.WithRunAs("no-such-user"))
	})
	assert.Contains(t, f.fatal, "the tests run as root and PostgreSQL refuses to run as root")
	assert.Contains(t, f.fatal, "tried no-such-user (no such user)")
	assert.Contains(t, f.fatal, "DBSUITE_RUN_AS=<user>")
}

func TestPrivateServerCleanup(t *testing.T) {
	var dataDir string
	var pid int
	t.Run("uses", func(t *testing.T) {
		srv := containers.Postgres(t, containers.WithPrivate(true))
		dataDir, pid = postmaster(t, srv)
		srv.Database(t)
	})
	assert.NoDirExists(t, filepath.Dir(dataDir), "the private server's directory is removed at cleanup")
	assert.False(t, alive(pid), "the private server's postmaster is stopped at cleanup")
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// A zombie is dead, whoever has yet to reap it.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 15s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
