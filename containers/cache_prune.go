//go:build unix

package containers

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// cacheUnusedFor is how long a cache entry may go unused before a server
// start removes it. An entry is named by a hash of the binaries, the
// settings and the layout of the entry, so each upgrade of PostgreSQL or
// of dbsuite, and each set of settings a suite stopped using, leaves one
// behind (20–25 MB, and its kept templates) that nothing would use again.
// Another project on the machine may still use an older one: a month
// without a start is the sign that none does.
const cacheUnusedFor = 30 * 24 * time.Hour

// touchEntry marks the cache entry dir used now (its mtime): pruneCache
// keeps what was used lately.
func touchEntry(dir string) {
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
}

// pruned holds the cache roots this process has pruned.
var pruned sync.Map

// pruneCache removes from the cache root the entries (pgdata-*) that no
// server started from for cacheUnusedFor, other than keep, with their
// lock files; and the lock files of entries that were never built (a
// build that failed) once as old. An entry whose lock someone holds (a
// build) stays. It runs at the first server start of a process, per
// cache root: one directory read per run.
func pruneCache(root, keep string) {
	if _, done := pruned.LoadOrStore(root, true); !done {
		prune(root, keep)
	}
}

func prune(root, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-cacheUnusedFor)
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(root, name)
		if !strings.HasPrefix(name, "pgdata-") || path == keep || path == keep+".lock" {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		switch {
		case e.IsDir() && !strings.Contains(name, "."):
			locked(path+".lock", func() {
				// Renamed first, so that a reader never sees half an
				// entry: a missing one is built again.
				trash := path + ".pruned-" + randomHex(4)
				if os.Rename(path, trash) == nil {
					_ = os.RemoveAll(trash)
				}
			})
		case e.IsDir(): // what a build, a damaged entry or a prune left when its process died
			_ = os.RemoveAll(path)
		case strings.HasSuffix(name, ".lock"):
			if _, err := os.Stat(strings.TrimSuffix(path, ".lock")); os.IsNotExist(err) {
				locked(path, func() {})
			}
		}
	}
}

// locked runs f holding the lock file lockPath, then removes the lock
// file, unless someone holds it (a build): then it does nothing.
func locked(lockPath string, f func()) {
	lk := flock.New(lockPath)
	defer lk.Close()
	if ok, err := lk.TryLock(); !ok || err != nil {
		return
	}
	f()
	_ = os.Remove(lockPath)
}
