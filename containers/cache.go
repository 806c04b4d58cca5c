//go:build unix

package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dbsuite/dbsuite/internal/failure"
	"github.com/gofrs/flock"
)

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
		return cachedData{}, fail(err, "local: gave up waiting for the lock on "+dir+".lock, want the cache built once", []string{errText(err)})
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
		return cachedData{}, fail(err, fmt.Sprintf("local: initdb failed (%v), want an initialised data directory", err),
			[]string{"command: " + cmd.String(), "output:\n" + failure.Indent("  "+tail(out, 2000), 2)}, outputFix(string(out), work, "initdb"))
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
		return cachedData{}, fail(err, "local: the server settings could not be applied, want every one in effect",
			[]string{err.Error(), report.String()})
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
		return cachedData{}, fail(err, "local: cannot cache the data directory in "+tmp+", want a copy", []string{err.Error()})
	}
	if err := os.WriteFile(filepath.Join(tmp, "password"), []byte(password), 0o600); err != nil {
		return cachedData{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return cachedData{}, fail(err, "local: cannot move the cached data directory to "+dir+", want it in place", []string{err.Error()})
	}
	return cachedData{dir: dir, password: password}, nil
}
