//go:build unix

package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// How servers are shared and cleaned up
//
// Every process that uses a local server holds a shared flock on the
// server's "alive" file for as long as it lives (the kernel drops it when
// the process exits, however it exits). A supervisor, a small sh script
// started with the server in its own session, waits for an exclusive lock
// on that file with flock(1): it gets it only once no test binary holds
// the server. It then stops postgres and removes the server's directory.
// If the tests were started by `go test`, the supervisor keeps the server
// up while that go command runs, so the package test binaries it starts
// one after another reuse one server; it checks twice a second.
//
// Test binaries find a running server through a state file in the cache
// directory (under the run root when the cache directory is read-only),
// read and written under an exclusive file lock.

// supervisorScript stops the server in $1 once no process holds $1/alive,
// and once the process $2 (the go command, or 0) is gone.
const supervisorScript = `
run="$1"; session="$2"
while :; do
	flock -x "$run/alive" sh -c '
		run="$1"; session="$2"
		` + shRunning + `
		if [ "$session" != 0 ] && running "$session" && [ -d "$run/data" ]; then
			exit 3
		fi
		[ -f "$run/keep" ] && exit 0 # DBSUITE_KEEP_FAILED: up until the user stops it
		pidfile="$run/data/postmaster.pid"
		pid=""
		[ -f "$pidfile" ] && pid=$(head -n 1 "$pidfile")
		# A server killed while starting has no pid file yet: find it by its data directory.
		[ -n "$pid" ] || pid=$(pgrep -o -f -- "-D $run/data" 2>/dev/null)
		if [ -n "$pid" ]; then
			# Immediate shutdown: no checkpoint writes what is removed next.
			kill -QUIT "$pid" 2>/dev/null
			i=0
			while running "$pid"; do
				i=$((i+1))
				[ "$i" = 200 ] && kill -KILL "$pid" 2>/dev/null
				[ "$i" -gt 400 ] && break
				sleep 0.05
			done
		fi
		# A server still starting may add files while they are removed: try again.
		i=0
		while [ -e "$run" ] && [ "$i" -lt 50 ]; do
			rm -rf "$run" 2>/dev/null || sleep 0.1
			i=$((i+1))
		done
		pkill -KILL -f -- "-D $run/data" 2>/dev/null
		rmdir "$(dirname "$run")" 2>/dev/null
		exit 0
	' sh "$run" "$session"
	[ "$?" = 3 ] || exit 0
	sleep 0.5
done
`

// shRunning defines running PID for the supervisors: true while the
// process exists and is not a zombie. kill -0 alone finds a zombie, and a
// postmaster whose test binary has exited is one until PID 1 reaps it:
// 1.5 s later on the benchmark machine, never where PID 1 does not reap
// (go test run as a container's command), and the supervisor
// waited out its 20 s loop for a process that had stopped, while the next run's
// first test binary waited for the supervisor.
const shRunning = `running() { kill -0 "$1" 2>/dev/null || return 1; [ -r "/proc/$1/stat" ] || return 0; ` +
	`read -r s < "/proc/$1/stat" || return 0; s=${s##*) }; case $s in Z*) return 1;; esac; }`

// fallbackSupervisor is used where flock(1) is missing: it watches one
// process, and servers are not shared between processes.
const fallbackSupervisor = `
run="$1"; owner="$3"
` + shRunning + `
while running "$owner" && [ -d "$run" ]; do sleep 0.2; done
[ -f "$run/keep" ] && exit 0
pidfile="$run/data/postmaster.pid"
if [ -f "$pidfile" ]; then
	pid=$(head -n 1 "$pidfile")
	kill -QUIT "$pid" 2>/dev/null # immediate: the directory is removed next
	i=0
	while [ -f "$pidfile" ] && running "$pid" && [ "$i" -lt 400 ]; do i=$((i+1)); sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
fi
i=0
while [ -e "$run" ] && [ "$i" -lt 50 ]; do
	rm -rf "$run" 2>/dev/null || sleep 0.1
	i=$((i+1))
done
`

// canShare reports whether servers can be shared between processes,
// which needs flock(1) for the supervisor.
func canShare() bool {
	_, err := exec.LookPath("flock")
	return err == nil
}

func startSupervisor(runDir string, session int) error {
	script := supervisorScript
	if !canShare() {
		script = fallbackSupervisor
	}
	cmd := exec.Command("/bin/sh", "-c", script, "sh", runDir, strconv.Itoa(session), strconv.Itoa(os.Getpid()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return fail(err, "local: cannot start the supervisor (/bin/sh), want one watching "+runDir, []string{err.Error()})
	}
	go func() { _ = cmd.Wait() }()
	// The sweep of a later run leaves a directory alone while its
	// supervisor lives.
	_ = os.WriteFile(filepath.Join(runDir, "supervisor"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	return nil
}

// goCommandPID returns the pid of the go command that started this test
// binary, or 0 when the parent is something else.
func goCommandPID() int {
	ppid := os.Getppid()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return 0
	}
	return ppid
}

// sharedState is what the state file records about a running server.
type sharedState struct {
	RunDir string `json:"run_dir"`
	Port   int    `json:"port"`
	TCP    bool   `json:"tcp"`
}

// joinOrLaunch joins the running server of this configuration, or starts
// one and records it for the other test binaries.
func joinOrLaunch(ctx context.Context, key string, bins binaries, id identity, cached cachedData, tcp bool) (*localServer, error) {
	// The state lives in the cache directory, or under the run root when
	// that is not writable: where the cache entry is.
	root := filepath.Dir(cached.dir)
	statePath := filepath.Join(root, "server-"+key+".json")
	lock := filepath.Join(root, "server-"+key+".lock")
	release, err := lockFile(ctx, lock)
	if err != nil {
		return nil, fail(err, "local: gave up waiting for "+lock+", want the lock", []string{errText(err)})
	}
	defer release()

	if ls := joinRecorded(ctx, statePath, bins, id, cached); ls != nil {
		return ls, nil
	}
	ls, err := launch(ctx, bins, id, cached, tcp, key[:8], goCommandPID())
	if err != nil {
		return nil, err
	}
	if err := writeState(statePath, sharedState{RunDir: ls.runDir, Port: ls.port, TCP: tcp}); err != nil {
		// Not silently: without the state file no other binary finds it.
		ls.how += fmt.Sprintf(" (not shared with other test binaries: %v)", err)
	}
	return ls, nil
}

// joinRunning joins the running server of this configuration, if there
// is one, without checking the cache entry it was started from (the
// binary that started it did; a stat of each of its files cost a joining
// binary 5 ms): a binary that joins needs only the entry's path and
// password. It returns nil when there is no server to join.
// root and note are writableCacheRoot's.
func joinRunning(ctx context.Context, root, note, key string, bins binaries, id identity, settings Settings) (*localServer, cachedData) {
	statePath := filepath.Join(root, "server-"+key+".json")
	if _, err := os.Stat(statePath); err != nil {
		return nil, cachedData{}
	}
	dir := cacheEntry(root, bins, id, settings)
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		return nil, cachedData{}
	}
	cached := cachedData{dir: dir, password: string(pw), note: note}
	release, err := lockFile(ctx, filepath.Join(root, "server-"+key+".lock"))
	if err != nil {
		return nil, cachedData{}
	}
	defer release()
	if ls := joinRecorded(ctx, statePath, bins, id, cached); ls != nil {
		return ls, cached
	}
	return nil, cachedData{}
}

// joinRecorded joins the server the state file records, if it still runs.
// The caller holds the state file's lock.
func joinRecorded(ctx context.Context, statePath string, bins binaries, id identity, cached cachedData) *localServer {
	st, ok := readState[sharedState](statePath)
	if !ok || st.RunDir == "" {
		return nil
	}
	ls := join(ctx, st, bins, id, cached)
	if ls != nil {
		ls.how = "joined the server another test binary started"
	}
	return ls
}

// join takes a shared hold on a recorded server and checks that it
// answers. It returns nil when the server is gone or shutting down.
func join(ctx context.Context, st sharedState, bins binaries, id identity, cached cachedData) *localServer {
	alive := holdAlive(st.RunDir, filepath.Join(st.RunDir, "data"))
	if alive == nil {
		return nil
	}
	ls := &localServer{bins: bins, id: id, runDir: st.RunDir, dataDir: filepath.Join(st.RunDir, "data"),
		port: st.Port, tcp: st.TCP, password: cached.password, alive: alive}
	// The connection that finds the server answering is the admin pool's
	// first: the probe and the binary's clones and drops use it, and a
	// joining binary starts one backend, not two.
	if ls.admin = connectAdmin(ctx, ls.dsn("postgres")); ls.admin == nil {
		alive.Close()
		return nil
	}
	return ls
}

// holdAlive takes a shared hold on runDir/alive for as long as this
// process uses what runDir holds. It returns nil when want (a path the
// server needs) is gone, or the hold cannot be had within 10 s: the
// supervisor holds the lock exclusively for a moment twice a second to
// check, and while it stops the server, until the directory is gone.
func holdAlive(runDir, want string) *flock.Flock {
	alive := flock.New(filepath.Join(runDir, "alive"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(want); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		ok, err := alive.TryRLock()
		if ok {
			return alive
		}
		if err != nil || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connectAdmin opens an admin pool on dsn with one connection open, or
// returns nil if the server does not accept the connection within 5 s.
func connectAdmin(ctx context.Context, dsn string) *pgxpool.Pool {
	cfg, err := adminConfig(dsn)
	if err != nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil
	}
	conn, err := pool.Acquire(pctx)
	if err != nil {
		pool.Close()
		return nil
	}
	conn.Release()
	return pool
}

// connectOnce connects to dsn, or returns nil if the server does not
// accept the connection within 5 s.
func connectOnce(ctx context.Context, dsn string) *pgx.Conn {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(pctx, dsn)
	if err != nil {
		return nil
	}
	return conn
}

// writeState records v in the state file at path (atomically: other
// test binaries read it).
func writeState(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %v", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
