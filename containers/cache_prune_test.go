//go:build unix

package containers_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestUnusedCacheEntriesPruned leaves in the cache what upgrades and old
// settings leave there, and checks that the next server start removes what
// went unused for a month, and nothing else. Not parallel: it sets
// DBSUITE_CACHE_DIR.
func TestUnusedCacheEntriesPruned(t *testing.T) {
	root := t.TempDir()
	t.Setenv(containers.EnvCacheDir, root)
	containers.Postgres(t, containers.WithPrivate(true)) // builds the entry
	entries, err := filepath.Glob(filepath.Join(root, "pgdata-*[0-9a-f]"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "one cache entry")
	inUse := entries[0]

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
	require.NoError(t, os.Chtimes(inUse, old, old))

	containers.Postgres(t, containers.WithPrivate(true)) // starts from inUse

	for _, gone := range []string{unused, unusedLock, failedBuild, deadTmp} {
		assert.NoFileExists(t, gone, "unused for 40 days")
		assert.NoDirExists(t, gone, "unused for 40 days")
	}
	for _, kept := range []string{recent, building, building + ".lock", other, inUse} {
		_, err := os.Stat(kept)
		assert.NoError(t, err, "kept: %s", filepath.Base(kept))
	}
	info, err := os.Stat(inUse)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), info.ModTime(), time.Minute, "the entry a server started from is marked used")
	leftovers, _ := filepath.Glob(filepath.Join(root, "*.pruned-*"))
	assert.Empty(t, leftovers)
}
