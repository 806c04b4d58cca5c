//go:build unix

package containers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeServerBinaries writes an initdb and a postgres into dir; postgres
// prints version and counts its runs in dir/runs.
func fakeServerBinaries(t *testing.T, dir, version string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho x >> " + filepath.Join(dir, "runs") + "\necho 'postgres (PostgreSQL) " + version + "'\n"
	for name, body := range map[string]string{"initdb": "#!/bin/sh\nexit 0\n", "postgres": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func runs(t *testing.T, dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "runs"))
	return strings.Count(string(b), "x")
}

func TestVersionRememberedUntilTheExecutableChanges(t *testing.T) {
	t.Setenv(EnvCacheDir, t.TempDir())
	dir := filepath.Join(t.TempDir(), "bin")
	fakeServerBinaries(t, dir, "15.99")

	for range 3 {
		b, err := inspectBinaries(dir)
		if err != nil {
			t.Fatal(err)
		}
		if b.version != "15.99" || b.major != 15 || b.dir != dir {
			t.Fatalf("inspectBinaries = %+v, want 15.99 in %s", b, dir)
		}
	}
	if n := runs(t, dir); n != 1 {
		t.Fatalf("postgres --version ran %d times for three inspections, want once (then remembered)", n)
	}

	// An upgrade replaces the executable: the version is asked again.
	time.Sleep(10 * time.Millisecond)
	fakeServerBinaries(t, dir, "16.2")
	b, err := inspectBinaries(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.version != "16.2" || b.major != 16 {
		t.Fatalf("after the upgrade inspectBinaries = %+v, want 16.2", b)
	}
	if n := runs(t, dir); n != 2 {
		t.Fatalf("postgres --version ran %d times, want twice (asked again after the upgrade)", n)
	}
}

func TestVersionNotRememberedWithoutCache(t *testing.T) {
	ro := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(ro, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvCacheDir, filepath.Join(ro, "cache")) // under a file: cannot be made
	dir := filepath.Join(t.TempDir(), "bin")
	fakeServerBinaries(t, dir, "15.99")
	for range 2 {
		if b, err := inspectBinaries(dir); err != nil || b.version != "15.99" {
			t.Fatalf("inspectBinaries = %+v, %v; want 15.99", b, err)
		}
	}
	if n := runs(t, dir); n != 2 {
		t.Fatalf("postgres --version ran %d times, want each time (nowhere to remember it)", n)
	}
}

func TestFindBinariesFollowsInitdbLink(t *testing.T) {
	t.Setenv(EnvCacheDir, t.TempDir())
	real := filepath.Join(t.TempDir(), "lib", "postgresql", "15", "bin")
	fakeServerBinaries(t, real, "15.99")
	onPath := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(onPath, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(real, "initdb"), filepath.Join(onPath, "initdb")); err != nil {
		t.Fatal(err)
	}
	// Only the initdb link is on PATH: no pg_config, no postgres.
	t.Setenv("PATH", onPath)
	binCacheMu.Lock()
	saved := binCache
	binCache = map[string]binaries{}
	binCacheMu.Unlock()
	t.Cleanup(func() {
		binCacheMu.Lock()
		binCache = saved
		binCacheMu.Unlock()
	})
	b, err := findBinaries("")
	if err != nil {
		t.Fatal(err)
	}
	if b.dir != real {
		t.Fatalf("findBinaries found %s, want %s, where the initdb on PATH links to", b.dir, real)
	}
}
