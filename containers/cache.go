//go:build unix

package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/gofrs/flock"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// The cache
//
// initdb and tuning take about a second per configuration; a cached data
// directory makes every later server a copy (~0.1 s). The cache entry is
// built in a private directory under the run root, supervised like a
// running server (a killed build leaves no postmaster and no directory),
// then copied into a temporary directory beside the entry and renamed into
// place: an entry is whole or absent. Each entry holds a manifest (every
// file's size, and a hash of postgresql.auto.conf and of the password);
// an entry that does not match its manifest is damaged, and is removed and
// built again.

// cachedData is an initialised, tuned data directory that servers are
// copied from.
type cachedData struct {
	dir      string // holds data/, password and manifest.json
	password string
	note     string // said in the ready line, such as where the cache went
}

// manifest records what a cache entry must hold.
type manifest struct {
	Files    map[string]int64 `json:"files"` // path under data/: size
	AutoConf string           `json:"auto_conf_sha256"`
	Password string           `json:"password_sha256"`
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// cachedDataDir returns the cached data directory for these binaries and
// settings, building it once (initdb, then start, tune with [Tune] and
// stop) under a file lock so parallel test binaries build it once. A
// damaged entry is rebuilt; a read-only cache directory is replaced by
// one under the run root, and the note says so.
func cachedDataDir(ctx context.Context, bins binaries, id identity, settings Settings) (cachedData, error) {
	root, note, err := writableCacheRoot(id)
	if err != nil {
		return cachedData{}, err
	}
	return cachedDataIn(ctx, root, note, bins, id, settings)
}

// cachedDataIn is cachedDataDir in the cache root root (writableCacheRoot's
// root and note).
func cachedDataIn(ctx context.Context, root, note string, bins binaries, id identity, settings Settings) (cachedData, error) {
	dir := cacheEntry(root, bins, id, settings)
	if cd, err := readCache(dir); err == nil {
		touchEntry(dir) // before the copy: pruneCache keeps what is used
		cd.note = note
		return cd, nil
	}
	release, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return cachedData{}, fail(err, "local: gave up waiting for the lock on "+dir+".lock, want the cache built once", []string{errText(err)})
	}
	defer release()
	cd, err := readCache(dir)
	if err == nil {
		cd.note = note
		return cd, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		// Damaged: move it aside (atomically) and build it again.
		trash := dir + ".damaged-" + randomHex(4)
		if rerr := os.Rename(dir, trash); rerr != nil {
			return cachedData{}, fail(rerr, "local: the cached data directory "+dir+" is damaged and cannot be removed, want it rebuilt",
				[]string{err.Error(), rerr.Error()}, "remove it: rm -rf "+dir)
		}
		_ = os.RemoveAll(trash)
		note = strings.TrimSpace(note + " (the cached data directory was damaged: " + err.Error() + "; rebuilt)")
	}
	cd, err = buildDataDir(ctx, bins, id, settings, dir)
	cd.note = note
	return cd, err
}

// cacheEntry is the directory of the cache entry for these binaries and
// settings under the cache root.
func cacheEntry(root string, bins binaries, id identity, settings Settings) string {
	h := sha256.New()
	fmt.Fprintf(h, "pgdata v5\x00%s\x00%s\x00%d\x00", bins.dir, bins.version, id.uid)
	for _, k := range settings.names() {
		fmt.Fprintf(h, "%s=%s\x00", k, settings[k])
	}
	return filepath.Join(root, fmt.Sprintf("pgdata-%d-%s", bins.major, hex.EncodeToString(h.Sum(nil))[:16]))
}

// writableCacheRoot is the cache root, or, when it cannot be written, a
// cache under the run root, with a note that says so.
func writableCacheRoot(id identity) (root, note string, err error) {
	root, err = cacheRoot()
	if err == nil {
		probe := filepath.Join(root, ".probe-"+randomHex(4))
		if err = os.WriteFile(probe, nil, 0o600); err == nil {
			os.Remove(probe)
			return root, "", nil
		}
	}
	rroot, rerr := runRoot(id)
	if rerr != nil {
		return "", "", rerr
	}
	fallback := filepath.Join(rroot, "cache")
	if mkErr := os.MkdirAll(fallback, 0o700); mkErr != nil {
		return "", "", fail(mkErr, "local: neither the cache directory nor "+fallback+" can be written, want one", []string{err.Error(), mkErr.Error()},
			"set "+EnvCacheDir+" to a writable directory")
	}
	return fallback, fmt.Sprintf("(cache directory not writable: %v; cached in %s for this boot; set %s to a writable directory)",
		err, fallback, EnvCacheDir), nil
}

// readCache checks a cache entry against its manifest. It returns an
// error wrapping fs.ErrNotExist when there is no entry, and another error,
// saying what is wrong, when the entry is damaged.
func readCache(dir string) (cachedData, error) {
	if _, err := os.Stat(dir); err != nil {
		return cachedData{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return cachedData{}, fmt.Errorf("manifest.json: %v: %w", err, errDamaged)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || len(m.Files) == 0 {
		return cachedData{}, fmt.Errorf("manifest.json unreadable: %w", errDamaged)
	}
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil || sha(pw) != m.Password {
		return cachedData{}, fmt.Errorf("password file missing or changed: %w", errDamaged)
	}
	data := filepath.Join(dir, "data")
	for rel, size := range m.Files {
		st, err := os.Stat(filepath.Join(data, rel))
		if err != nil || st.Size() != size {
			return cachedData{}, fmt.Errorf("data/%s missing or of another size: %w", rel, errDamaged)
		}
	}
	auto, err := os.ReadFile(filepath.Join(data, "postgresql.auto.conf"))
	if err != nil || sha(auto) != m.AutoConf {
		return cachedData{}, fmt.Errorf("data/postgresql.auto.conf changed: %w", errDamaged)
	}
	return cachedData{dir: dir, password: string(pw)}, nil
}

var errDamaged = errors.New("damaged cache entry")

// buildDataDir runs initdb and tunes the result in a private, supervised
// build directory, then writes the cache entry atomically.
func buildDataDir(ctx context.Context, bins binaries, id identity, settings Settings, dir string) (cachedData, error) {
	rroot, err := runRoot(id)
	if err != nil {
		return cachedData{}, err
	}
	work := filepath.Join(rroot, "build-"+randomHex(6))
	if err := privateDir(work, id); err != nil {
		return cachedData{}, err
	}
	// Held for as long as this process lives: when it dies during the
	// build, however it dies, the supervisor stops the postmaster and
	// removes the directory.
	alive := flock.New(filepath.Join(work, "alive"))
	if ok, err := alive.TryRLock(); !ok {
		os.RemoveAll(work)
		return cachedData{}, fail(err, "local: cannot lock "+alive.Path()+", want a hold on the build directory", []string{errText(err)})
	}
	defer func() {
		os.RemoveAll(work)
		alive.Close()
	}()
	if err := startSupervisor(work, 0); err != nil {
		return cachedData{}, err
	}
	password := randomHex(16)
	pwfile := filepath.Join(work, "pwfile")
	if err := writeOwned(pwfile, []byte(password+"\n"), id); err != nil {
		return cachedData{}, err
	}
	dataDir := filepath.Join(work, "data")
	if err := initdb(ctx, bins, id, work, dataDir, pwfile); err != nil {
		return cachedData{}, err
	}
	// Start it once, apply the settings the way any server gets them
	// (ALTER SYSTEM, reload, restart, SHOW), and keep the result.
	ls, err := launchIn(ctx, bins, id, work, dataDir, false, password)
	if err != nil {
		return cachedData{}, err
	}
	atStage("tuning", work)
	report, err := Tune(ctx, ls.dsn("postgres"), settings, WithRestart(ls.restart))
	if err != nil {
		_ = ls.stopProcess()
		details := []string{strings.TrimPrefix(err.Error(), "containers: ")}
		if len(report.Settings) > 0 {
			details = append(details, report.String())
		}
		return cachedData{}, fail(err, "local: the server settings could not be applied, want every one in effect", details)
	}
	if err := ls.stopProcess(); err != nil {
		return cachedData{}, err
	}
	for _, junk := range []string{"postmaster.opts", "postmaster.pid"} {
		os.Remove(filepath.Join(dataDir, junk))
	}
	trimWAL(ctx, bins, id, dataDir)
	slimCatalogMaps(dataDir)
	return writeCache(dataDir, password, dir)
}

// initdb runs initdb, killed with this process if it dies (Pdeathsig: the
// thread that starts it stays locked until it exits).
func initdb(ctx context.Context, bins binaries, id identity, work, dataDir, pwfile string) error {
	// 1 MB WAL segments rather than 16: every server start copies the
	// cached data directory, and its one WAL segment was 17 of its 39 MB.
	args := []string{"-D", dataDir, "--no-sync", "--wal-segsize=1", "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile}
	cmd := exec.CommandContext(ctx, filepath.Join(bins.dir, "initdb"), args...)
	cmd.Env = serverEnv()
	cmd.Dir = work
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
	dieWithParent(cmd.SysProcAttr)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	runtime.LockOSThread()
	err := cmd.Start()
	if err == nil {
		atStage("initdb", work)
		err = cmd.Wait()
	}
	runtime.UnlockOSThread()
	out := []byte(buf.String())
	if err != nil {
		return fail(err, fmt.Sprintf("local: initdb failed (%v), want an initialised data directory", err),
			[]string{"command: " + cmd.String(), "output:\n" + failure.Indent("  "+tail(out, 2000), 2)}, outputFix(string(out), work, "initdb"))
	}
	return nil
}

// writeCache copies dataDir and the password into a temporary directory
// beside dir, with a manifest, and renames it into place.
func writeCache(dataDir, password, dir string) (cachedData, error) {
	tmp := dir + ".tmp-" + randomHex(4)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return cachedData{}, fail(err, "local: cannot create "+tmp+", want a place to write the cache", []string{err.Error()})
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(dataDir, filepath.Join(tmp, "data"), nil); err != nil {
		return cachedData{}, fail(err, "local: cannot cache the data directory in "+tmp+", want a copy", []string{err.Error()})
	}
	m := manifest{Files: map[string]int64{}, Password: sha([]byte(password))}
	err := filepath.WalkDir(filepath.Join(tmp, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(tmp, "data"), path)
		m.Files[rel] = info.Size()
		if rel == "postgresql.auto.conf" {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			m.AutoConf = sha(b)
		}
		return nil
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "password"), []byte(password), 0o600)
	}
	if err == nil {
		b, _ := json.Marshal(m)
		err = os.WriteFile(filepath.Join(tmp, "manifest.json"), b, 0o600)
	}
	if err != nil {
		return cachedData{}, fail(err, "local: cannot write the cache entry in "+tmp+", want it whole", []string{err.Error()})
	}
	if err := os.Rename(tmp, dir); err != nil {
		return cachedData{}, fail(err, "local: cannot move the cached data directory to "+dir+", want it in place", []string{err.Error()})
	}
	return cachedData{dir: dir, password: password}, nil
}

// invalidateCache removes a cache entry found wrong after the fact (a
// server copied from it does not show its settings), so that the next
// server rebuilds it.
func invalidateCache(dir string) {
	trash := dir + ".damaged-" + randomHex(4)
	if os.Rename(dir, trash) == nil {
		_ = os.RemoveAll(trash)
	}
}
