//go:build unix

package containers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/failure"
	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// localServer is a postgres process started by dbsuite, by this process
// or by another test binary that shares it.
type localServer struct {
	bins     binaries
	id       identity
	runDir   string // private directory: socket, log, data/, alive
	dataDir  string
	port     int
	tcp      bool
	password string
	how      string

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when another process started it
	exited chan struct{} // closed when cmd exits
	alive  *flock.Flock  // shared lock held for as long as this process uses the server

	conn  *pgx.Conn     // the first connection of a launched server (template1: relcache.go), for Server.probe
	admin *pgxpool.Pool // the pool whose connection found a joined server answering: the Server's admin pool
}

// launched reports whether this process started the server (rather
// than joining one another test binary started).
func (ls *localServer) launched() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.cmd != nil
}

func (ls *localServer) dsn(db string) string {
	if ls.tcp {
		return dsn.KV("host", "127.0.0.1", "port", strconv.Itoa(ls.port), "user", "postgres",
			"password", ls.password, "dbname", db, "sslmode", "disable")
	}
	return dsn.KV("host", ls.runDir, "port", strconv.Itoa(ls.port), "user", "postgres", "dbname", db, "sslmode", "disable")
}

// launch starts a new server in a fresh private directory under the run
// root, copying the cached data directory, with a supervisor that stops
// it and removes the directory once no process holds its alive lock.
// session, when not 0, is a process (the go command) whose life keeps the
// server up between test binaries.
func launch(ctx context.Context, bins binaries, id identity, cached cachedData, tcp bool, prefix string, session int) (*localServer, error) {
	rroot, err := runRoot(id)
	if err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = "p"
	}
	runDir := filepath.Join(rroot, prefix+"-"+randomHex(6))
	if err := privateDir(runDir, id); err != nil {
		return nil, err
	}
	alive := flock.New(filepath.Join(runDir, "alive"))
	if ok, err := alive.TryRLock(); !ok {
		os.RemoveAll(runDir)
		return nil, fail(err, "local: cannot lock "+alive.Path()+", want a shared hold on the new server", []string{errText(err)})
	}
	if err := startSupervisor(runDir, session); err != nil {
		alive.Close()
		os.RemoveAll(runDir)
		return nil, err
	}
	t0 := time.Now()
	dataDir := filepath.Join(runDir, "data")
	copyFailed := func(err error) error {
		return fail(err, "local: cannot copy the cached data directory "+cached.dir+", want a copy in "+runDir, []string{err.Error()},
			runRootFix(runDir))
	}
	databases, err := copyDataDir(filepath.Join(cached.dir, "data"), dataDir, filepath.Join(runDir, "databases.copy"), &id)
	if err != nil {
		alive.Close()
		return nil, copyFailed(err)
	}
	copied := time.Since(t0)
	// The databases are copied while postgres starts (copy_databases.go).
	var dbCopy time.Duration
	dbCopied := make(chan error, 1)
	go func() {
		err := databases()
		dbCopy = time.Since(t0) - copied
		dbCopied <- err
	}()
	ls, err := launchIn(ctx, bins, id, runDir, dataDir, tcp, cached.password)
	dbErr := <-dbCopied
	if err == nil && dbErr != nil {
		_ = ls.discardProcess()
		err = copyFailed(dbErr)
	}
	if err != nil {
		alive.Close() // the supervisor removes the directory
		return nil, err
	}
	ls.alive = alive
	// The first connection goes to template1, which writes its relation
	// cache init file (relcache.go); it is kept for the settings check and
	// the probe: one connection, not three.
	ls.conn = connectOnce(ctx, ls.dsn("template1"))
	ls.how = fmt.Sprintf("started from the cached data directory (copied in %v, and its databases in %v while it started in %v)",
		copied.Round(time.Millisecond), dbCopy.Round(time.Millisecond), (time.Since(t0) - copied).Round(time.Millisecond))
	return ls, nil
}

// launchIn starts postgres on dataDir with its socket in runDir.
func launchIn(ctx context.Context, bins binaries, id identity, runDir, dataDir string, tcp bool, password string) (*localServer, error) {
	if err := privateDir(runDir, id); err != nil {
		return nil, err
	}
	ls := &localServer{bins: bins, id: id, runDir: runDir, dataDir: dataDir, port: 5432, tcp: tcp, password: password}
	if tcp {
		port, err := freePort()
		if err != nil {
			return nil, fail(err, "local: no free loopback port, want one for WithTCP(true)", []string{err.Error()})
		}
		ls.port = port
	}
	if err := ls.startProcess(ctx); err != nil {
		return nil, err
	}
	return ls, nil
}

func (ls *localServer) args() []string {
	listen := ""
	if ls.tcp {
		listen = "127.0.0.1"
	}
	return []string{"-D", ls.dataDir,
		// Dynamic shared memory in files of the data directory
		// (pg_dynshmem) rather than in /dev/shm: what a process killed
		// while it makes a segment, or a killed postmaster, leaves there
		// goes with the run directory; in /dev/shm it stayed until the
		// next reboot. The run directory is on /dev/shm's tmpfs too,
		// where there is one.
		"-c", "dynamic_shared_memory_type=mmap",
		"-c", "unix_socket_directories=" + ls.runDir,
		"-c", "listen_addresses=" + listen,
		"-c", "port=" + strconv.Itoa(ls.port),
	}
}

func (ls *localServer) startProcess(ctx context.Context) error {
	logPath := filepath.Join(ls.runDir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err, "local: cannot create the server's log, want "+logPath, []string{err.Error()}, runRootFix(ls.runDir))
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(ls.bins.dir, "postgres"), ls.args()...)
	cmd.Env = serverEnv()
	cmd.Dir = ls.runDir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: a Ctrl-C meant for the tests does not reach it; the
	// supervisor stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: ls.id.cred}
	if err := cmd.Start(); err != nil {
		return fail(err, "local: postgres could not be started, want a running server", []string{"command: " + cmd.String(), err.Error()},
			runRootFix(ls.runDir))
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	ls.mu.Lock()
	ls.cmd, ls.exited = cmd, exited
	ls.mu.Unlock()
	atStage("start", ls.runDir)
	if err := ls.waitReady(ctx, exited); err != nil {
		// An immediate shutdown, not a SIGKILL: postgres removes its
		// shared memory segments as it goes.
		_ = ls.discardProcess()
		<-exited
		log := tailFile(logPath, 3000)
		details := []string{"command: " + cmd.String(), "log (" + logPath + "):\n" + failure.Indent("  "+log, 2)}
		return fail(err, err.Error()+", want it ready", details, startFix(log, ls.runDir))
	}
	return nil
}

// waitReady waits until postmaster.pid says "ready" (the status pg_ctl
// waits for), or the process exits, or ctx ends.
func (ls *localServer) waitReady(ctx context.Context, exited <-chan struct{}) error {
	t0 := time.Now()
	pidfile := filepath.Join(ls.dataDir, "postmaster.pid")
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(pidfile); err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("local: postgres exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("local: postgres not ready after %v (%w)", time.Since(t0).Round(time.Millisecond), ctx.Err())
		case <-tick.C:
		}
	}
}

// pid returns the postmaster's pid from postmaster.pid, or 0.
func (ls *localServer) pid() int {
	b, err := os.ReadFile(filepath.Join(ls.dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	n, _ := strconv.Atoi(strings.TrimSpace(first))
	return n
}

// stopProcess stops postgres with a fast shutdown, escalating to an
// immediate one and then SIGKILL if it does not exit.
func (ls *localServer) stopProcess() error { return ls.stop(syscall.SIGINT) }

// discardProcess stops postgres whose data directory is removed next:
// an immediate shutdown, without the checkpoint that would write what
// is about to be removed, escalating to SIGKILL.
func (ls *localServer) discardProcess() error { return ls.stop(syscall.SIGQUIT) }

// stop sends postgres first (SIGINT or SIGQUIT), then the signals after
// it in SIGINT, SIGQUIT, SIGKILL, until it exits.
func (ls *localServer) stop(first syscall.Signal) error {
	ls.mu.Lock()
	cmd, exited := ls.cmd, ls.exited
	ls.mu.Unlock()
	// postmaster.pid names the postmaster in charge, whoever started it
	// (someone may have restarted it with pg_ctl); our child is the
	// fallback while it is still starting.
	pid := ls.pid()
	if pid == 0 && cmd != nil {
		pid = cmd.Process.Pid
	}
	if pid == 0 {
		return nil
	}
	ours := cmd != nil && cmd.Process.Pid == pid
	gone := func() bool {
		if ours && exited != nil {
			select {
			case <-exited:
				return true
			default:
				return false
			}
		}
		return !pidAlive(pid)
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 10 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	for steps[0].sig != first {
		steps = steps[1:]
	}
	for _, step := range steps {
		if err := syscall.Kill(pid, step.sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return nil
			}
			return fail(err, fmt.Sprintf("local: cannot signal postgres (pid %d), want it stopped", pid), []string{err.Error()})
		}
		deadline := time.Now().Add(step.wait)
		for time.Now().Before(deadline) {
			if gone() {
				return nil
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return fail(nil, fmt.Sprintf("local: postgres (pid %d) did not stop after SIGINT, SIGQUIT and SIGKILL, want it stopped", pid), nil)
}

// restart restarts the server in place (same directory, same port). It is
// the restart hook [Tune] uses on servers dbsuite owns.
func (ls *localServer) restart(ctx context.Context) error {
	if err := ls.stopProcess(); err != nil {
		return err
	}
	return ls.startProcess(ctx)
}

// shutdown stops the server and lets the supervisor remove its directory
// by releasing this process's alive lock.
func (ls *localServer) shutdown() error {
	if ls.kept() {
		// DBSUITE_KEEP_FAILED: up until the user runs the stop command
		// that was logged.
		if ls.alive != nil {
			ls.alive.Close()
		}
		return nil
	}
	err := ls.discardProcess()
	if ls.alive != nil {
		ls.alive.Close()
	}
	if rmErr := os.RemoveAll(ls.runDir); rmErr != nil && err == nil {
		err = fail(rmErr, "local: cannot remove "+ls.runDir+", want it gone", []string{rmErr.Error()})
	}
	return err
}

// serverEnv is the environment of initdb and postgres: ours without the
// libpq variables, which would change what they do, and in the C locale.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return tail([]byte(strings.Join(lines, "\n")), n)
}

// pidAlive reports whether a process runs (or exists and is not ours).
// A zombie does not run: a postmaster whose parent (the test binary that
// started it) has exited stays one until PID 1 reaps it, which some never
// do (a `go test` that is PID 1 of a container), and kill(pid, 0) still
// finds it.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return (err == nil || errors.Is(err, syscall.EPERM)) && !zombie(pid)
}

// zombie reports whether pid is a process that has exited and waits to be
// reaped (Linux /proc; false where there is none).
func zombie(pid int) bool { return isZombie(procStat(pid)) }

// startFix is what to do when postgres did not start, read from its log.
func startFix(log, runDir string) string {
	return outputFix(log, runDir, "postgres")
}

// outputFix is what to do when prog (initdb, postgres) failed, read from
// what it printed.
func outputFix(out, runDir, prog string) string {
	switch {
	case strings.Contains(out, "No space left on device"), strings.Contains(out, "could not resize shared memory"):
		return runRootFix(runDir)
	case strings.Contains(out, "could not create shared memory segment"), strings.Contains(out, "could not create semaphores"):
		return "raise the kernel's shared memory or semaphore limits (sysctl kernel.shmmax, kernel.sem), or lower max_connections with WithSettings"
	case prog == "postgres":
		return "read the log above: PostgreSQL says why it stopped on its FATAL line"
	}
	return "read " + prog + "'s output above"
}

// runRootFix is what to do when the directory a server runs in (under
// /dev/shm, or the temp directory) cannot hold it: it says how much room
// is left there and in /dev/shm.
func runRootFix(dir string) string {
	room := func(path string) string {
		var st syscall.Statfs_t
		if err := syscall.Statfs(path, &st); err != nil {
			return path + ": " + err.Error()
		}
		return fmt.Sprintf("%s has %d MB free", path, uint64(st.Bavail)*uint64(st.Bsize)>>20)
	}
	return fmt.Sprintf("make room where servers run (%s; %s), or point TMPDIR at a disk with room: dbsuite uses /dev/shm only when it has over 1 GB free",
		room(filepath.Dir(dir)), room("/dev/shm"))
}

// kept reports whether DBSUITE_KEEP_FAILED kept a database on the server,
// which then stays up.
func (ls *localServer) kept() bool {
	_, err := os.Stat(filepath.Join(ls.runDir, "keep"))
	return err == nil
}

// stageHook, when set (by the fault suite's child test binaries only), is
// called at each stage of getting a server, with the directory that
// stage works in, so that a test can kill the process there.
var stageHook func(stage, dir string)

func atStage(stage, dir string) {
	if stageHook != nil {
		stageHook(stage, dir)
	}
}

// keep marks the server kept: its supervisor and shutdown leave it up.
func (ls *localServer) keep() string {
	_ = os.WriteFile(filepath.Join(ls.runDir, "keep"), nil, 0o600)
	// rm -rf waits for postgres to exit: during its shutdown it still
	// writes files (statistics, WAL), which made rm -rf fail.
	pid := ls.pid()
	// It waits for the pid file, which postgres removes as it exits, and
	// not for the pid, which stays a zombie where nothing reaps it.
	pidfile := filepath.Join(ls.dataDir, "postmaster.pid")
	return fmt.Sprintf("kill -INT %d && while [ -e %s ] && kill -0 %d 2>/dev/null; do sleep 0.1; done && rm -rf %s", pid, pidfile, pid, ls.runDir)
}
