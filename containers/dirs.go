//go:build unix

package containers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
)

// privateDir creates dir (mode 0700) owned by the server's user, or
// checks that an existing one is such a directory: not a symlink, not
// owned by someone else, not readable by others.
func privateDir(dir string, id identity) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fail(err, "local: cannot create "+dir+", want a private directory", []string{err.Error()})
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fail(err, "local: cannot read "+dir+", want a private directory", []string{err.Error()})
	}
	if !st.IsDir() {
		return fail(nil, "local: "+dir+" exists and is not a directory, want a private directory", nil, "remove it")
	}
	sys := st.Sys().(*syscall.Stat_t)
	if int(sys.Uid) != id.uid && sys.Uid != 0 {
		return fail(nil, fmt.Sprintf("local: %s is owned by uid %d, want %d", dir, sys.Uid, id.uid), nil, "remove it")
	}
	if int(sys.Uid) != id.uid {
		if err := os.Chown(dir, id.uid, id.gid); err != nil {
			return fail(err, "local: cannot chown "+dir+", want it owned by the server's user", []string{err.Error()})
		}
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fail(err, "local: cannot chmod "+dir+", want mode 0700", []string{err.Error()})
		}
	}
	return nil
}

// runRoot is where running servers live: RAM-backed /dev/shm when it has
// room (clones are several times faster there), else the temp directory.
func runRoot(id identity) (string, error) {
	base := os.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && uint64(st.Bavail)*uint64(st.Bsize) > 1<<30 {
		if f, err := os.Stat("/dev/shm"); err == nil && f.IsDir() && f.Mode()&0o002 != 0 {
			base = "/dev/shm"
		}
	}
	return runRootIn(base, id)
}

// runRootIn is the run root under base, checked for the server's user.
func runRootIn(base string, id identity) (string, error) {
	dir := filepath.Join(base, fmt.Sprintf("dbsuite-%d", id.uid))
	if blocked := unreachable(base, id); blocked != "" {
		why := "the temp directory: /dev/shm has under 1 GB free"
		if base == "/dev/shm" {
			why = "/dev/shm"
		}
		return "", fail(nil, fmt.Sprintf("local: servers would run under %s (%s), but user %s (uid %d) cannot reach it, want a directory the server's user can reach",
			base, why, id.name, id.uid), []string{blocked},
			"point TMPDIR at a directory other users can traverse (such as /tmp), or make room in /dev/shm")
	}
	return dir, privateDir(dir, id)
}

// unreachable says which ancestor of dir the server's user cannot
// traverse (PostgreSQL would fail with "fork/exec ...: permission
// denied"), or "" when it can reach dir, or runs as ourselves.
func unreachable(dir string, id identity) string {
	if id.cred == nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err.Error()
		}
		sys := st.Sys().(*syscall.Stat_t)
		perm := st.Mode().Perm()
		var ok bool
		switch {
		case int(sys.Uid) == id.uid:
			ok = perm&0o100 != 0
		case int(sys.Gid) == id.gid:
			ok = perm&0o010 != 0
		default:
			ok = perm&0o001 != 0
		}
		if !ok {
			return fmt.Sprintf("%s is mode %04o, owned by uid %d", d, perm, sys.Uid)
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// cacheRoot is where initialised data directories are cached across runs.
func cacheRoot() (string, error) {
	dir := os.Getenv(EnvCacheDir)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "dbsuite")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fail(err, "local: cannot create the cache directory "+dir+", want a writable one", []string{err.Error()},
			"set "+EnvCacheDir+" to a writable directory")
	}
	return dir, nil
}

// copyTree copies a data directory. With id, files are chowned to the
// server's user (we are root); modes are kept. Directories are made in
// one walk, then the files are copied by copyWorkers goroutines: a data
// directory is a thousand small files, and copying them four at a time
// took 26 ms against 40 ms one at a time on the benchmark machine.
func copyTree(src, dst string, id *identity) error {
	return copyTreeSkip(src, dst, id, nil)
}

// copyTreeSkip is copyTree, without the directories skip says to leave
// out (given their path relative to src).
func copyTreeSkip(src, dst string, id *identity, skip func(rel string) bool) error {
	type file struct {
		src, dst string
		perm     fs.FileMode
	}
	chown := func(path string) error {
		if id != nil && id.cred != nil {
			return os.Lchown(path, id.uid, id.gid)
		}
		return nil
	}
	var files []file
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && skip != nil && skip(rel):
			return filepath.SkipDir
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil && !(rel == "." && errors.Is(err, fs.ErrExist)) {
				return err
			}
			return chown(target)
		case info.Mode().IsRegular():
			files = append(files, file{path, target, info.Mode().Perm()})
			return nil
		default:
			return fmt.Errorf("%s: unexpected file type %v", path, info.Mode().Type())
		}
	})
	if err != nil {
		return err
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range copyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := next.Add(1) - 1; i < int64(len(files)); i = next.Add(1) - 1 {
				f := files[i]
				err := copyFile(f.src, f.dst, f.perm, buf)
				if err == nil {
					err = chown(f.dst)
				}
				if err != nil {
					errOnce.Do(func() { first = err })
					next.Store(int64(len(files))) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// copyWorkers is how many files copyTree copies at once.
const copyWorkers = 4

// copyFile copies src to a new file dst through buf. The files are
// wrapped so that io.CopyBuffer reads and writes through buf: on an
// *os.File it first tries copy_file_range, which fails between two file
// systems (the cache on disk, the server on /dev/shm), and then copies
// through a buffer of its own; for a thousand small files that took 30 ms
// against 18 ms.
func copyFile(src, dst string, perm fs.FileMode, buf []byte) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, buf); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeOwned(path string, b []byte, id identity) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return os.Chown(path, id.uid, id.gid)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
