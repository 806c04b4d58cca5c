//go:build unix

package containers_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestUnusedCacheEntriesPruned leaves in the cache what upgrades and old
// settings leave there, and checks that the first server start of the
// process removes what went unused for a month, and nothing else, and that
// every start marks its entry used. Not parallel: it sets DBSUITE_CACHE_DIR.
func TestUnusedCacheEntriesPruned(t *testing.T) {
	root := t.TempDir()
	t.Setenv(containers.EnvCacheDir, root)
	old := time.Now().Add(-40 * 24 * time.Hour)
	made := func(name string, dir bool, mtime time.Time) string {
		t.Helper()
		path := filepath.Join(root, name)
		if dir {
			require.NoError(t, os.MkdirAll(filepath.Join(path, "data", "base"), 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(path, "data", "base", "1"), []byte("x"), 0o600))
		} else {
			require.NoError(t, os.WriteFile(path, nil, 0o600))
		}
		require.NoError(t, os.Chtimes(path, mtime, mtime))
		return path
	}
	unused := made("pgdata-15-00000000000000a1", true, old)
	unusedLock := made("pgdata-15-00000000000000a1.lock", false, old)
	recent := made("pgdata-15-00000000000000a2", true, time.Now().Add(-10*24*time.Hour))
	building := made("pgdata-15-00000000000000a3", true, old) // its lock is held: someone builds it
	lk := flock.New(made("pgdata-15-00000000000000a3.lock", false, old))
	ok, err := lk.TryLock()
	require.True(t, ok, err)
	defer lk.Close()
	failedBuild := made("pgdata-15-00000000000000a4.lock", false, old)
	deadTmp := made("pgdata-15-00000000000000a5.tmp-1a2b", true, old)
	other := made("server-00000000000000a6.json", false, old) // not the entries' business

	containers.Postgres(t, containers.WithPrivate(true)) // builds its entry, then prunes
	inUse := filepath.Join(root, "pgdata-15-")
	entries, err := filepath.Glob(inUse + "*[0-9a-f]")
	require.NoError(t, err)
	entries = slices.DeleteFunc(entries, func(e string) bool { return slices.Contains([]string{recent, building, unused, deadTmp}, e) })
	require.Len(t, entries, 1, "the entry the server was built from")
	inUse = entries[0]

	for _, gone := range []string{unused, unusedLock, failedBuild, deadTmp} {
		assert.NoFileExists(t, gone, "unused for 40 days")
		assert.NoDirExists(t, gone, "unused for 40 days")
	}
	for _, kept := range []string{recent, building, building + ".lock", other, inUse} {
		_, err := os.Stat(kept)
		assert.NoError(t, err, "kept: %s", filepath.Base(kept))
	}
	leftovers, _ := filepath.Glob(filepath.Join(root, "*.pruned-*"))
	assert.Empty(t, leftovers)

	require.NoError(t, os.Chtimes(inUse, old, old))
	containers.Postgres(t, containers.WithPrivate(true)) // starts from inUse
	info, err := os.Stat(inUse)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), info.ModTime(), time.Minute, "the entry a server started from is marked used")
}
