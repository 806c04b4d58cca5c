//go:build unix

package containers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestDamagedCacheRebuilt damages a cache entry in each way the audit
// found (and others) and checks that the next server is tuned anyway, says
// what it found, and leaves a whole entry behind. Not parallel: it sets
// DBSUITE_CACHE_DIR.
func TestDamagedCacheRebuilt(t *testing.T) {
	_, path := builtCacheEntry(t)
	built, entry := filepath.Split(path)

	autoConf := func(dir string) string { return filepath.Join(dir, "data", "postgresql.auto.conf") }
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string) // dir: the cache entry
		root   func(t *testing.T, root string) string
		note   string // in the ready line
	}{
		{name: "truncated postgresql.auto.conf", note: "the cached data directory was damaged: data/postgresql.auto.conf missing or of another size",
			damage: func(t *testing.T, dir string) { require.NoError(t, os.Truncate(autoConf(dir), 10)) }},
		{name: "password file missing", note: "the cached data directory was damaged: password file missing or changed",
			damage: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "password"))) }},
		{name: "data file missing", note: "the cached data directory was damaged: data/global/pg_control missing",
			damage: func(t *testing.T, dir string) {
				require.NoError(t, os.Remove(filepath.Join(dir, "data", "global", "pg_control")))
			}},
		{name: "no manifest (an entry from an older dbsuite)", note: "the cached data directory was damaged: manifest.json",
			damage: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "manifest.json"))) }},
		{name: "changed behind the manifest's back", note: "the cache gave other values for fsync: tuned now, the cache will be rebuilt",
			damage: func(t *testing.T, dir string) {
				b, err := os.ReadFile(autoConf(dir))
				require.NoError(t, err)
				b = []byte(strings.Replace(string(b), "fsync = 'off'", "fsync = 'on' ", 1))
				require.NoError(t, os.WriteFile(autoConf(dir), b, 0o600))
				var m map[string]any
				mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(mb, &m))
				sum := sha256.Sum256(b)
				m["auto_conf_sha256"] = hex.EncodeToString(sum[:])
				mb, _ = json.Marshal(m)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), mb, 0o600))
			}},
		{name: "cache directory not writable", note: "(cache directory not writable:",
			root: func(t *testing.T, root string) string {
				file := filepath.Join(root, "a-file")
				require.NoError(t, os.WriteFile(file, nil, 0o600))
				return file // MkdirAll fails, even for root
			}},
		// The fallback cache under the run root is removed by the test's
		// cleanup below.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, osexec.Command("cp", "-a", filepath.Join(built, entry), root).Run())
			if tt.damage != nil {
				tt.damage(t, filepath.Join(root, entry))
			}
			if tt.root != nil {
				root = tt.root(t, root)
			}
			t.Setenv(containers.EnvCacheDir, root)
			f := runFake(t, false, func(tb testing.TB) {
				srv := containers.Postgres(tb, containers.WithPrivate(true))
				for name, want := range containers.ThrowawaySettings() {
					assert.Equal(t, want, query[string](t, srv.DSN(), "SELECT current_setting($1)", name), "SHOW %s", name)
				}
			})
			require.Empty(t, f.fatal)
			assert.Contains(t, f.output(), tt.note)
			if m := fallbackRE.FindStringSubmatch(f.output()); m != nil {
				t.Cleanup(func() { os.RemoveAll(m[1]) })
			}
			if tt.root == nil && !strings.Contains(tt.note, "will be rebuilt") {
				// Rebuilt whole: the next server copies it.
				for _, file := range []string{"manifest.json", "password", "data/global/pg_control"} {
					assert.FileExists(t, filepath.Join(root, entry, file))
				}
			}
		})
	}
}

// fallbackRE finds the cache under the run root in a ready line.
var fallbackRE = regexp.MustCompile(`cached in (\S+) for this boot`)

// TestCachedWALTrimmed checks that the cached data directory holds only
// the WAL segment its last checkpoint starts in (the spare segments
// PostgreSQL recycled are not copied at every start): the one a server
// started from it reads its checkpoint from.
func TestCachedWALTrimmed(t *testing.T) {
	srv, entry := builtCacheEntry(t)
	segs, err := filepath.Glob(filepath.Join(entry, "data", "pg_wal", "[0-9A-F]*"))
	require.NoError(t, err)
	require.Len(t, segs, 1, "WAL segments in the cache entry: %v", segs)
	assert.Equal(t, query[string](t, srv.DSN(), "SELECT redo_wal_file FROM pg_control_checkpoint()"), filepath.Base(segs[0]),
		"the segment kept is the one the last checkpoint starts in")
}

// builtCacheEntry builds a cache entry in a cache directory of the test's
// own, by starting a private server from it, and returns the server and
// the entry. Not for parallel tests: it sets DBSUITE_CACHE_DIR.
func builtCacheEntry(t *testing.T) (*containers.Server, string) {
	t.Helper()
	t.Setenv(containers.EnvCacheDir, t.TempDir())
	srv := containers.Postgres(t, containers.WithPrivate(true))
	entries, err := filepath.Glob(filepath.Join(os.Getenv(containers.EnvCacheDir), "pgdata-*[0-9a-f]"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "one cache entry")
	return srv, entries[0]
}
