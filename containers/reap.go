//go:build unix

package containers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// The databases a test binary makes on a server it does not own (the
// tests' databases, dropped in the background after each test, the Tx
// database, warm clones) may outlive it: it can exit with drops still
// queued, or be killed. A reaper, started with the first of them, waits
// for the binary to exit (an exclusive flock on a file the binary holds
// shared) and drops those still there, in one psql session. A line
// "keep NAME" spares NAME (DBSUITE_KEEP_FAILED), and a line "gone NAME"
// says the binary dropped NAME itself, as it does most of its databases
// after their tests: the reaper sends no DROP for either, and starts no
// psql when nothing is left. Without flock(1) or psql, the next binary's
// sweep drops them instead.
const reaperScript = `
lock="$1"; list="$2"
flock -x "$lock" true
sed -n 's/^keep //p; s/^gone //p' "$list" >"$list.skip"
drops=$(grep -v -e '^keep ' -e '^gone ' "$list" | grep -vxF -f "$list.skip" |
	sed 's/"/""/g; s/.*/DROP DATABASE IF EXISTS "&" WITH (FORCE);/')
if [ -n "$drops" ]; then
	printf '%s\n' "$drops" | psql -X -q -v ON_ERROR_STOP=0 >/dev/null 2>&1
fi
rm -f "$lock" "$list" "$list.skip"
`

type reaper struct {
	lock *flock.Flock // held shared for the life of the process
	list *os.File
}

// reapAtExit records a database to drop when this process exits. Only
// servers dbsuite does not own need it: a local server is removed whole.
func (s *Server) reapAtExit(name string) { s.reaperLine(name) }

// keepAtExit spares a database that reapAtExit recorded.
func (s *Server) keepAtExit(name string) { s.reaperLine("keep " + name) }

// droppedBeforeExit tells the reaper that a database reapAtExit recorded
// is dropped already.
func (s *Server) droppedBeforeExit(name string) { s.reaperLine("gone " + name) }

func (s *Server) reaperLine(line string) {
	if s.ownsServer() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reaper == nil {
		s.reaper = s.startReaper()
	}
	if s.reaper.list != nil {
		fmt.Fprintln(s.reaper.list, line)
	}
}

func (s *Server) startReaper() *reaper {
	none := &reaper{}
	if _, err := exec.LookPath("flock"); err != nil {
		return none
	}
	if _, err := exec.LookPath("psql"); err != nil {
		return none
	}
	root, err := cacheRoot()
	if err != nil {
		return none
	}
	base := filepath.Join(root, fmt.Sprintf("reap-%d-%s", os.Getpid(), randomHex(4)))
	lk := flock.New(base + ".lock")
	if ok, err := lk.TryRLock(); !ok || err != nil {
		return none
	}
	list, err := os.OpenFile(base+".list", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		lk.Close()
		return none
	}
	cfg, err := pgconn.ParseConfig(s.dsn)
	if err != nil {
		list.Close()
		lk.Close()
		return none
	}
	cmd := exec.Command("/bin/sh", "-c", reaperScript, "sh", lk.Path(), list.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	// libpq's variables, so that the password is in no command line.
	sslmode := dsn.Param(s.dsn, "sslmode")
	if sslmode == "" {
		sslmode = "prefer" // libpq's default
	}
	cmd.Env = append(os.Environ(), "PGHOST="+cfg.Host, fmt.Sprintf("PGPORT=%d", cfg.Port), "PGUSER="+cfg.User,
		"PGPASSWORD="+cfg.Password, "PGDATABASE="+cfg.Database, "PGSSLMODE="+sslmode, "PGCONNECT_TIMEOUT=10")
	if err := cmd.Start(); err != nil {
		list.Close()
		lk.Close()
		return none
	}
	go func() { _ = cmd.Wait() }()
	return &reaper{lock: lk, list: list}
}
