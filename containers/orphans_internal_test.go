//go:build unix

package containers

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// TestSweepOrphans starts postmasters in run directories that no one
// looks after (as a killed run with a dead supervisor leaves them) and
// checks that the sweep stops and removes exactly those: a directory held
// by a live process, a kept one and a young one stay.
func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	_, bins, id, cached := cachedForTest(t)
	ctx := context.Background()
	// Under the temp directory itself: t.TempDir's directories are
	// private to us, and the server's user must reach its directory.
	base, err := os.MkdirTemp("", "sweep")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "dbsuite-"+randomHex(2))
	if err := privateDir(root, id); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	start := func(name string, prepare func(dir string)) *localServer {
		dir := filepath.Join(root, name)
		if err := privateDir(dir, id); err != nil {
			t.Fatal(err)
		}
		if err := copyTree(filepath.Join(cached.dir, "data"), filepath.Join(dir, "data"), &id); err != nil {
			t.Fatal(err)
		}
		ls, err := launchIn(ctx, bins, id, dir, filepath.Join(dir, "data"), false, cached.password)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ls.stopProcess() })
		prepare(dir)
		return ls
	}
	backdate := func(dir string) { _ = os.Chtimes(dir, old, old) }
	orphan := start("p-orphan", func(dir string) {
		_ = os.WriteFile(filepath.Join(dir, "alive"), nil, 0o600)
		_ = os.WriteFile(filepath.Join(dir, "supervisor"), []byte("999999999"), 0o600) // dead
		backdate(dir)
	})
	neverHeld := start("build-orphan", backdate)
	held := start("p-held", func(dir string) {
		lk := flock.New(filepath.Join(dir, "alive"))
		if ok, err := lk.TryRLock(); !ok {
			t.Fatal(err)
		}
		t.Cleanup(func() { lk.Close() })
		backdate(dir)
	})
	kept := start("p-kept", func(dir string) {
		_ = os.WriteFile(filepath.Join(dir, "keep"), nil, 0o600)
		backdate(dir)
	})
	young := start("p-young", func(string) {})

	sweepRunRoot(root)

	tests := []struct {
		name  string
		ls    *localServer
		swept bool
	}{
		{"orphan with a dead supervisor", orphan, true},
		{"build directory never held", neverHeld, true},
		{"held by a live process", held, false},
		{"kept", kept, false},
		{"younger than the grace period", young, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, statErr := os.Stat(tt.ls.runDir)
			pid := 0
			if tt.ls.cmd != nil {
				pid = tt.ls.cmd.Process.Pid
			}
			running := pid > 0 && syscall.Kill(pid, 0) == nil && !exitedYet(tt.ls)
			if tt.swept && (statErr == nil || running) {
				t.Errorf("%s: directory present %v, postmaster running %v: want both gone", tt.ls.runDir, statErr == nil, running)
			}
			if !tt.swept && (statErr != nil || !running) {
				t.Errorf("%s: directory present %v, postmaster running %v: want both kept", tt.ls.runDir, statErr == nil, running)
			}
		})
	}
}

func exitedYet(ls *localServer) bool {
	select {
	case <-ls.exited:
		return true
	default:
		return false
	}
}

// TestRunRootUnreachable: when servers would run where their user cannot
// reach (TMPDIR private to root, used because /dev/shm is full), the
// error says so instead of "fork/exec .../postgres: permission denied".
func TestRunRootUnreachable(t *testing.T) {
	t.Parallel()
	id := identity{uid: 4242, gid: 4242, name: "pgtest", cred: &syscall.Credential{Uid: 4242, Gid: 4242}}
	base := t.TempDir() // 0700, ours
	_, err := runRootIn(base, id)
	if err == nil {
		t.Fatal("runRootIn of a private directory: no error")
	}
	got := strings.ReplaceAll(err.Error(), base, "<tmp>")
	got = regexp.MustCompile(`/tmp/\S+ is mode`).ReplaceAllString(got, "<tmp> is mode")
	want := "containers: local: servers would run under <tmp> (the temp directory: /dev/shm has under 1 GB free), but user pgtest (uid 4242) cannot reach it, want a directory the server's user can reach\n" +
		"  <tmp> is mode 0700, owned by uid " + strconv.Itoa(os.Getuid()) + "\n" +
		"fix: point TMPDIR at a directory other users can traverse (such as /tmp), or make room in /dev/shm"
	if got != want {
		t.Errorf("error =\n%s\nwant\n%s", got, want)
	}
}
