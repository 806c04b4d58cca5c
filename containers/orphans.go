//go:build unix

package containers

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// A run directory (a server's, or a cache build's) is removed by its
// supervisor when its last user exits. When the supervisor itself is gone
// (killed with the whole session, an older dbsuite that did not supervise
// cache builds), the first local server of a later run sweeps it: every
// directory under the run roots that no process holds (its alive lock is
// free), whose supervisor is dead and that is not kept
// (DBSUITE_KEEP_FAILED) has its postmaster stopped and is removed; so are
// shared-memory segments no process is attached to whose creator is dead.

var sweepOnce sync.Once

// sweepGrace spares directories this young: a server being set up has no
// alive lock for a moment.
const sweepGrace = 10 * time.Second

// sweepRunRoots sweeps the run roots of the server's user, once per
// process.
func sweepRunRoots(id identity) {
	sweepOnce.Do(func() {
		for _, base := range []string{"/dev/shm", os.TempDir()} {
			sweepRunRoot(filepath.Join(base, "dbsuite-"+strconv.Itoa(id.uid)))
		}
		sweepSharedMemory(id.uid)
	})
}

func sweepRunRoot(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "cache" {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if orphaned(dir) {
			stopOrphan(dir)
		}
	}
}

// orphaned reports whether no one looks after dir. On true, dir's alive
// lock is held by this process until stopOrphan releases it.
func orphaned(dir string) bool {
	info, err := os.Stat(dir)
	if err != nil || time.Since(info.ModTime()) < sweepGrace {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err == nil {
		return false
	}
	if b, err := os.ReadFile(filepath.Join(dir, "supervisor")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 && pidAlive(pid) {
			return false
		}
	}
	if supervisedPerProc(dir) {
		return false // a supervisor that wrote no pid file (an older dbsuite)
	}
	alive := filepath.Join(dir, "alive")
	if _, err := os.Stat(alive); err != nil {
		return true // never held
	}
	lk := flock.New(alive)
	ok, err := lk.TryLock()
	if !ok || err != nil {
		return false
	}
	// Dropped with the directory: no one can take it in between.
	return true
}

// stopOrphan stops the postmaster of an orphaned directory, if it still
// runs, and removes the directory.
func stopOrphan(dir string) {
	ls := &localServer{dataDir: filepath.Join(dir, "data")}
	if pid := ls.pid(); pid > 0 && isPostgres(pid) {
		_ = ls.discardProcess()
	}
	_ = os.RemoveAll(dir)
}

// supervisedPerProc reports whether a process names dir on its command
// line, as a supervisor does (Linux /proc; false elsewhere).
func supervisedPerProc(dir string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if arg == dir {
				return true
			}
		}
	}
	return false
}

// isPostgres reports whether pid is a postgres process (not a reused pid).
func isPostgres(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		// No /proc (macOS): trust the pid file, as pg_ctl does.
		return pidAlive(pid)
	}
	return strings.TrimSpace(string(b)) == "postgres"
}

// sweepSharedMemory removes System V shared-memory segments of uid that
// no process is attached to and whose creator is dead: what a postmaster
// killed with SIGKILL leaves (Linux; elsewhere a no-op).
func sweepSharedMemory(uid int) {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 {
		return
	}
	col := map[string]int{}
	for i, name := range strings.Fields(lines[0]) {
		col[name] = i
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < len(col) {
			continue
		}
		num := func(name string) int { n, _ := strconv.Atoi(f[col[name]]); return n }
		if num("uid") != uid || num("nattch") != 0 || pidAlive(num("cpid")) {
			continue
		}
		removeSharedMemory(num("shmid"))
	}
}
