//go:build unix

package containers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/dbsuite/dbsuite/internal/dsn"
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
	cached, err := cachedDataDir(ctx, bins, id, c.settings)
	if err != nil {
		return nil, err
	}
	var ls *localServer
	if c.private || !canShare() {
		ls, err = launch(ctx, bins, id, cached, c.tcp, "", 0)
	} else {
		ls, err = joinOrLaunch(ctx, c.key(), bins, id, cached, c.tcp)
	}
	if err != nil {
		return nil, err
	}
	srv := &Server{
		provider: ProviderLocal,
		dsn:      ls.dsn("postgres"),
		password: cached.password,
		private:  c.private,
		local:    ls,
		how:      ls.how,
	}
	if err := srv.probe(ctx); err != nil {
		_ = ls.shutdown()
		return nil, err
	}
	return srv, nil
}

// binaries is an installation of the PostgreSQL server programs.
type binaries struct {
	dir     string
	version string // "15.18"
	major   int
}

var (
	binCacheMu sync.Mutex
	binCache   = map[string]binaries{}
)

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)?`)

// findBinaries locates initdb and postgres: in dir when given, else on
// PATH, else from pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin (the Debian and Ubuntu layout).
func findBinaries(dir string) (binaries, error) {
	binCacheMu.Lock()
	defer binCacheMu.Unlock()
	if b, ok := binCache[dir]; ok {
		return b, nil
	}
	var candidates []string
	if dir != "" {
		candidates = []string{dir}
	} else {
		if p, err := exec.LookPath("initdb"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
		globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		slices.SortFunc(globbed, func(a, b string) int { return majorOf(b) - majorOf(a) })
		candidates = append(candidates, globbed...)
	}
	var problems []string
	for _, d := range candidates {
		b, err := inspectBinaries(d)
		if err == nil {
			binCache[dir] = b
			return b, nil
		}
		problems = append(problems, err.Error())
	}
	if dir == "" && len(problems) == 0 {
		return binaries{}, errors.New("no initdb on PATH, no pg_config, nothing under /usr/lib/postgresql/*/bin (install the server: apt-get install postgresql)")
	}
	return binaries{}, errors.New(strings.Join(problems, "; "))
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func inspectBinaries(dir string) (binaries, error) {
	for _, prog := range []string{"initdb", "postgres"} {
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			return binaries{}, fmt.Errorf("%s: no executable %s", dir, prog)
		}
	}
	out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").CombinedOutput()
	if err != nil {
		return binaries{}, fmt.Errorf("%s/postgres --version: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return binaries{}, fmt.Errorf("%s/postgres --version printed %q: no version found", dir, bytes.TrimSpace(out))
	}
	major, _ := strconv.Atoi(string(m[1]))
	return binaries{dir: dir, version: string(m[1]) + string(m[2]), major: major}, nil
}

// identity is the operating-system user the server runs as.
type identity struct {
	uid, gid int
	name     string
	cred     *syscall.Credential // nil: run as ourselves
}

// serverIdentity returns who runs the server: ourselves, or an
// unprivileged user when we are root, since PostgreSQL refuses root.
func serverIdentity(runAs string) (identity, error) {
	if os.Geteuid() != 0 {
		return identity{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	candidates := []string{"postgres", "nobody"}
	if runAs != "" {
		candidates = []string{runAs}
	}
	var tried []string
	for _, name := range candidates {
		u, err := user.Lookup(name)
		if err != nil {
			tried = append(tried, name+" (no such user)")
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			tried = append(tried, name+" (uid 0)")
			continue
		}
		return identity{uid: uid, gid: gid, name: name,
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}, nil
	}
	return identity{}, fmt.Errorf("containers: local: the tests run as root and PostgreSQL refuses to run as root, "+
		"but no unprivileged user to run it as was found (tried %s); "+
		"fix: create one (useradd --system --no-create-home postgres) or name one with %s=<user> or containers.WithRunAs",
		strings.Join(tried, ", "), EnvRunAs)
}

// privateDir creates dir (mode 0700) owned by the server's user, or
// checks that an existing one is such a directory: not a symlink, not
// owned by someone else, not readable by others.
func privateDir(dir string, id identity) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("containers: local: create %s: %v", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("containers: local: %v", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("containers: local: %s exists and is not a directory; remove it", dir)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if int(sys.Uid) != id.uid && sys.Uid != 0 {
		return fmt.Errorf("containers: local: refusing to use %s: owned by uid %d, want %d; remove it", dir, sys.Uid, id.uid)
	}
	if int(sys.Uid) != id.uid {
		if err := os.Chown(dir, id.uid, id.gid); err != nil {
			return fmt.Errorf("containers: local: chown %s: %v", dir, err)
		}
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("containers: local: chmod %s: %v", dir, err)
		}
	}
	return nil
}

// runRoot is where running servers live: RAM-backed /dev/shm when it has
// room (clones are several times faster there), else the temp directory.
func runRoot(id identity) (string, error) {
	base := os.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && uint64(st.Bavail)*uint64(st.Bsize) > 1<<30 {
		if f, err := os.Stat("/dev/shm"); err == nil && f.IsDir() && f.Mode()&0o002 != 0 {
			base = "/dev/shm"
		}
	}
	dir := filepath.Join(base, fmt.Sprintf("dbsuite-%d", id.uid))
	return dir, privateDir(dir, id)
}

// cacheRoot is where initialised data directories are cached across runs.
func cacheRoot() (string, error) {
	dir := os.Getenv(EnvCacheDir)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "dbsuite")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("containers: local: create cache directory %s: %v (set %s to a writable directory)", dir, err, EnvCacheDir)
	}
	return dir, nil
}

// cachedData is an initialised, tuned data directory that servers are
// copied from.
type cachedData struct {
	dir      string // holds data/ and password
	password string
}

// cachedDataDir returns the cached data directory for these binaries and
// settings, building it once (initdb, then start, tune with [Tune] and
// stop) under a file lock so parallel test binaries build it once.
func cachedDataDir(ctx context.Context, bins binaries, id identity, settings Settings) (cachedData, error) {
	root, err := cacheRoot()
	if err != nil {
		return cachedData{}, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "pgdata v1\x00%s\x00%s\x00%d\x00", bins.dir, bins.version, id.uid)
	for _, k := range settings.names() {
		fmt.Fprintf(h, "%s=%s\x00", k, settings[k])
	}
	dir := filepath.Join(root, fmt.Sprintf("pgdata-%d-%s", bins.major, hex.EncodeToString(h.Sum(nil))[:16]))
	read := func() (cachedData, bool) {
		pw, err := os.ReadFile(filepath.Join(dir, "password"))
		if err != nil {
			return cachedData{}, false
		}
		return cachedData{dir: dir, password: string(pw)}, true
	}
	if cd, ok := read(); ok {
		return cd, nil
	}
	lk := flock.New(dir + ".lock")
	defer lk.Close()
	if ok, err := lk.TryLockContext(ctx, 20*time.Millisecond); !ok {
		return cachedData{}, fmt.Errorf("containers: local: waiting for the lock on %s.lock: %v", dir, err)
	}
	defer lk.Unlock()
	if cd, ok := read(); ok {
		return cd, nil
	}
	return buildDataDir(ctx, bins, id, settings, dir)
}

func buildDataDir(ctx context.Context, bins binaries, id identity, settings Settings, dir string) (cachedData, error) {
	rroot, err := runRoot(id)
	if err != nil {
		return cachedData{}, err
	}
	work := filepath.Join(rroot, "build-"+randomHex(6))
	if err := privateDir(work, id); err != nil {
		return cachedData{}, err
	}
	defer os.RemoveAll(work)
	password := randomHex(16)
	pwfile := filepath.Join(work, "pwfile")
	if err := writeOwned(pwfile, []byte(password+"\n"), id); err != nil {
		return cachedData{}, err
	}
	srcDir := filepath.Join(work, "src")
	if err := privateDir(srcDir, id); err != nil {
		return cachedData{}, err
	}
	dataDir := filepath.Join(srcDir, "data")
	args := []string{"-D", dataDir, "--no-sync", "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile}
	cmd := exec.CommandContext(ctx, filepath.Join(bins.dir, "initdb"), args...)
	cmd.Env = serverEnv()
	cmd.Dir = work
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return cachedData{}, fmt.Errorf("containers: local: initdb failed: %v\ncommand: %s\noutput:\n%s", err, cmd, tail(out, 2000))
	}
	// Start it once, apply the settings the way any server gets them
	// (ALTER SYSTEM, reload, restart, SHOW), and keep the result.
	ls, err := launchIn(ctx, bins, id, work, dataDir, false, password)
	if err != nil {
		return cachedData{}, err
	}
	report, err := Tune(ctx, ls.dsn("postgres"), settings, WithRestart(ls.restart))
	if err != nil {
		_ = ls.shutdown()
		return cachedData{}, fmt.Errorf("containers: local: applying the server settings failed: %w\n%s", err, report)
	}
	if err := ls.stopProcess(); err != nil {
		return cachedData{}, err
	}
	for _, junk := range []string{"postmaster.opts", "postmaster.pid"} {
		os.Remove(filepath.Join(dataDir, junk))
	}
	tmp := dir + ".tmp-" + randomHex(4)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return cachedData{}, err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(dataDir, filepath.Join(tmp, "data"), nil); err != nil {
		return cachedData{}, fmt.Errorf("containers: local: caching the data directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "password"), []byte(password), 0o600); err != nil {
		return cachedData{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return cachedData{}, fmt.Errorf("containers: local: caching the data directory: %v", err)
	}
	return cachedData{dir: dir, password: password}, nil
}

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
		return nil, fmt.Errorf("containers: local: lock %s: %v", alive.Path(), err)
	}
	if err := startSupervisor(runDir, session); err != nil {
		alive.Close()
		os.RemoveAll(runDir)
		return nil, err
	}
	t0 := time.Now()
	dataDir := filepath.Join(runDir, "data")
	if err := copyTree(filepath.Join(cached.dir, "data"), dataDir, &id); err != nil {
		alive.Close()
		return nil, fmt.Errorf("containers: local: copy the cached data directory %s: %v", cached.dir, err)
	}
	copied := time.Since(t0)
	ls, err := launchIn(ctx, bins, id, runDir, dataDir, tcp, cached.password)
	if err != nil {
		alive.Close() // the supervisor removes the directory
		return nil, err
	}
	ls.alive = alive
	ls.how = fmt.Sprintf("started from the cached data directory (copied in %v, started in %v)",
		copied.Round(time.Millisecond), (time.Since(t0) - copied).Round(time.Millisecond))
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
			return nil, fmt.Errorf("containers: local: find a free loopback port: %v", err)
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
		"-c", "unix_socket_directories=" + ls.runDir,
		"-c", "listen_addresses=" + listen,
		"-c", "port=" + strconv.Itoa(ls.port),
	}
}

func (ls *localServer) startProcess(ctx context.Context) error {
	logPath := filepath.Join(ls.runDir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("containers: local: %v", err)
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
		return fmt.Errorf("containers: local: start %s: %v", cmd, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	ls.mu.Lock()
	ls.cmd, ls.exited = cmd, exited
	ls.mu.Unlock()
	if err := ls.waitReady(ctx, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%v\ncommand: %s\nlog (%s):\n%s", err, cmd, logPath, tailFile(logPath, 3000))
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
			return fmt.Errorf("containers: local: postgres exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("containers: local: postgres not ready after %v: %v", time.Since(t0).Round(time.Millisecond), ctx.Err())
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
func (ls *localServer) stopProcess() error {
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
		return syscall.Kill(pid, 0) != nil
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 10 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		if err := syscall.Kill(pid, step.sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return nil
			}
			return fmt.Errorf("containers: local: signal postgres (pid %d): %v", pid, err)
		}
		deadline := time.Now().Add(step.wait)
		for time.Now().Before(deadline) {
			if gone() {
				return nil
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return fmt.Errorf("containers: local: postgres (pid %d) did not stop", pid)
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
	err := ls.stopProcess()
	if ls.alive != nil {
		ls.alive.Close()
	}
	if rmErr := os.RemoveAll(ls.runDir); rmErr != nil && err == nil {
		err = fmt.Errorf("containers: local: remove %s: %v", ls.runDir, rmErr)
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

// copyTree copies a data directory. With id, files are chowned to the
// server's user (we are root); modes are kept.
func copyTree(src, dst string, id *identity) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil && !(rel == "." && errors.Is(err, fs.ErrExist)) {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected file type %v", path, info.Mode().Type())
		}
		if id != nil && id.cred != nil {
			return os.Lchown(target, id.uid, id.gid)
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeOwned(path string, b []byte, id identity) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return os.Chown(path, id.uid, id.gid)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
