//go:build unix

package containers_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

const helperEnv = "DBSUITE_TEST_HELPER"

// TestHelperProcess is not a test: TestNothingOutlivesTheTests runs the
// test binary again with only this function selected and helperEnv set,
// and this function then plays a test binary that dies in some way.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	if mode == "template" {
		helperTemplate(t)
		return
	}
	if mode == "dropped" {
		helperDropped(t)
		return
	}
	if mode == "tx" {
		srv := containers.Postgres(t)
		tx := srv.Tx(t)
		var name string
		if err := tx.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("HELPER-TX %s %s\n", srv.Provider(), name)
		return
	}
	var opts []containers.Option
	switch {
	case strings.HasSuffix(mode, "-private"):
		opts = append(opts, containers.WithPrivate(true))
	case strings.HasSuffix(mode, "-keep"):
		// A shared server of its own, kept up by DBSUITE_KEEP_FAILED.
		opts = append(opts, containers.WithSettings(containers.Settings{"work_mem": "9MB"}))
	case strings.HasSuffix(mode, "-alone"):
		// Settings no other test uses: a shared server of its own.
		opts = append(opts, containers.WithSettings(containers.Settings{"work_mem": "7MB"}))
	}
	srv := containers.Postgres(t, opts...)
	db := srv.Database(t)
	dataDir, pid := postmaster(t, srv)
	fmt.Printf("HELPER %s %d %s\n", dataDir, pid, db.Name())
	switch {
	case strings.HasPrefix(mode, "kill"):
		time.Sleep(time.Minute) // until killed
	case strings.HasPrefix(mode, "panic"):
		panic("the helper test panics")
	case strings.HasPrefix(mode, "fail"):
		t.Fatal("the helper test fails")
	}
}

type helper struct {
	dataDir string
	pid     int
	db      string
	cmd     *osexec.Cmd
}

// startHelper runs TestHelperProcess in a child test binary and waits for
// it to report its server.
func startHelper(t *testing.T, mode string) *helper {
	t.Helper()
	h := &helper{}
	h.cmd = containers.StartChild(t, "TestHelperProcess", helperEnv, mode, "its server", func(line string) bool {
		_, err := fmt.Sscanf(line, "HELPER %s %d %s", &h.dataDir, &h.pid, &h.db)
		return err == nil
	})
	return h
}

func TestNothingOutlivesTheTests(t *testing.T) {
	tests := []struct {
		name string
		mode string
		kill bool
	}{
		{"killed, private server", "kill-private", true},
		{"killed, shared server used by no one else", "kill-alone", true},
		{"panics, private server", "panic-private", false},
		{"panics, shared server used by no one else", "panic-alone", false},
		{"fails, private server", "fail-private", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startHelper(t, tt.mode)
			require.DirExists(t, h.dataDir)
			require.True(t, alive(h.pid), "postmaster %d", h.pid)
			if tt.kill {
				require.NoError(t, h.cmd.Process.Kill())
			}
			err := h.cmd.Wait()
			require.Error(t, err, "the helper must die or fail")
			eventually(t, "postgres stopped", func() bool { return !alive(h.pid) })
			eventually(t, "server directory removed", func() bool {
				_, err := os.Stat(filepath.Dir(h.dataDir))
				return os.IsNotExist(err)
			})
		})
	}
}

// TestKilledBinaryLeavesSharedServerUp checks the other side: a test
// binary killed while it shares the server with this one does not take
// the server down, and the databases it leaves are swept by the next test
// binary that starts.
func TestKilledBinaryLeavesSharedServerUp(t *testing.T) {
	srv := containers.Postgres(t)
	srv.Database(t) // this process holds the server
	h := startHelper(t, "kill-shared")
	dataDir, pid := postmaster(t, srv)
	require.Equal(t, dataDir, h.dataDir, "the helper joins this process's server")
	require.NoError(t, h.cmd.Process.Kill())
	_ = h.cmd.Wait() // the kernel has dropped the killed binary's hold
	// A new binary joins the very same postmaster (not a new server in the
	// same place): the server survived the kill up to that moment. No
	// fixed sleep: a slow wrong shutdown would still have to beat the join.
	sweeper := startHelper(t, "kill-shared") // its first Database also sweeps; it lives until killed
	t.Cleanup(func() { _ = sweeper.cmd.Process.Kill(); _ = sweeper.cmd.Wait() })
	assert.Equal(t, h.dataDir, sweeper.dataDir, "the next binary joins the shared server")
	assert.Equal(t, pid, sweeper.pid, "the shared server must survive a killed test binary")
	assert.True(t, alive(pid), "the shared server must survive a killed test binary")
	// The killed binary could not drop its database; the next binary's
	// first Database sweeps it (in its background: on a server dbsuite
	// owns, the sweep's drops are queued behind the tests').
	eventually(t, "the next binary sweeps databases of dead binaries", func() bool { return !databaseExists(t, srv, h.db) })
}

// helperTemplate asks for a template database on the server named by
// DBSUITE_POSTGRES_URL and prints whether it had to build it.
func helperTemplate(t *testing.T) {
	setups := 0
	tpl := containers.NewTemplate("runs", "fixed", func(ctx context.Context, conn *pgx.Conn) error {
		setups++
		_, err := conn.Exec(ctx, "CREATE TABLE built (at timestamptz DEFAULT now())")
		return err
	})
	srv := containers.Postgres(t)
	srv.Database(t, containers.WithTemplate(tpl))
	fmt.Printf("HELPER-TEMPLATE provider=%s setups=%d\n", srv.Provider(), setups)
}

// TestTemplateReusedAcrossRuns builds a template in one test binary run
// and finds it reused by the next, on a server that outlives both.
func TestTemplateReusedAcrossRuns(t *testing.T) {
	host := containers.Postgres(t, containers.WithPrivate(true))
	var got []string
	for range 2 {
		got = append(got, runHelper(t, "template", host.DSN(), "HELPER-TEMPLATE"))
	}
	assert.Equal(t, []string{
		"HELPER-TEMPLATE provider=existing setups=1",
		"HELPER-TEMPLATE provider=existing setups=0",
	}, got)
}

// runHelper runs TestHelperProcess in a child test binary, against the
// server at url as an existing server, to completion, and returns the line
// of its output that starts with prefix.
func runHelper(t *testing.T, mode, url, prefix string) string {
	t.Helper()
	cmd := osexec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, containers.EnvURL+"="+url)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("helper %s printed no %s line:\n%s", mode, prefix, out)
	return ""
}

// TestReaperSkipsDropped: a binary on a server it does not own drops its
// tests' databases itself, after each test; the reaper that runs when it
// exits sends no second DROP for them, and still drops what the binary
// left (the database of Tx).
func TestReaperSkipsDropped(t *testing.T) {
	host := containers.Postgres(t, containers.WithPrivate(true))
	exec(t, host.DSN(), "ALTER SYSTEM SET log_statement = 'ddl'", "SELECT pg_reload_conf()")
	logPath := filepath.Join(filepath.Dir(query[string](t, host.DSN(), "SHOW data_directory")), "postgres.log")
	var pid int
	var left, dropped string
	line := runHelper(t, "dropped", host.DSN(), "HELPER-DROPPED")
	_, err := fmt.Sscanf(line, "HELPER-DROPPED %d %s %s", &pid, &left, &dropped)
	require.NoError(t, err, line)
	root, err := containers.CacheRoot()
	require.NoError(t, err)
	eventually(t, "the exited binary's reaper done", func() bool {
		m, _ := filepath.Glob(filepath.Join(root, fmt.Sprintf("reap-%d-*", pid)))
		return len(m) == 0
	})
	assert.False(t, databaseExists(t, host, left), "the reaper dropped %s", left)
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	for _, name := range append(strings.Split(dropped, ","), left) {
		assert.Equal(t, 1, strings.Count(string(b), `DROP DATABASE IF EXISTS "`+name+`"`), "DROPs of %s", name)
	}
}

// helperDropped plays a binary whose tests' databases are all dropped
// before it exits, and whose Tx database is not.
func helperDropped(t *testing.T) {
	srv := containers.Postgres(t)
	var names []string
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) { names = append(names, srv.Database(t).Name()) })
	}
	url := os.Getenv(containers.EnvURL)
	eventually(t, fmt.Sprintf("the background drops of %v done", names), func() bool {
		return query[int](t, url, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names) == 0
	})
	var left string
	require.NoError(t, srv.Tx(t).QueryRow(t.Context(), "SELECT current_database()").Scan(&left))
	fmt.Printf("HELPER-DROPPED %d %s %s\n", os.Getpid(), left, strings.Join(names, ","))
}

// TestTxDatabaseDroppedAtExit checks that the database Tx mode shares for
// a test binary's whole life on a server dbsuite does not own is dropped
// when the binary exits.
func TestTxDatabaseDroppedAtExit(t *testing.T) {
	host := containers.Postgres(t, containers.WithPrivate(true))
	line := runHelper(t, "tx", host.DSN(), "HELPER-TX")
	var provider, name string
	_, err := fmt.Sscanf(line, "HELPER-TX %s %s", &provider, &name)
	require.NoError(t, err, line)
	require.Equal(t, "existing", provider, line)
	require.NotEmpty(t, name)
	eventually(t, "the Tx database of the exited binary dropped", func() bool { return !databaseExists(t, host, name) })
}
