//go:build unix

package containers

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
)

// Remembering what `postgres --version` printed
//
// Every test binary needs the server's version (it is part of the cache
// key), and running postgres --version cost each binary 9 ms on the
// benchmark machine, on the way to a server another binary had already
// started. The answer is kept in the cache directory, next to the data
// directories, with the identity of the executable it came from (device,
// inode, size, modification time): an upgrade replaces the file, and the
// version is asked again.

// versionMemo is what the cache directory keeps about one postgres
// executable.
type versionMemo struct {
	Path    string `json:"path"`
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	Version string `json:"version"`
	Major   int    `json:"major"`
}

// memoFor returns the memo file for the postgres in dir, and what the
// executable is now; ok is false when either cannot be had.
func memoFor(dir string) (path string, now versionMemo, ok bool) {
	root, err := cacheRoot()
	if err != nil {
		return "", versionMemo{}, false
	}
	exe := filepath.Join(dir, "postgres")
	info, err := os.Stat(exe)
	if err != nil {
		return "", versionMemo{}, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "", versionMemo{}, false
	}
	sum := sha256.Sum256([]byte(exe))
	path = filepath.Join(root, "version-"+hex.EncodeToString(sum[:8])+".json")
	now = versionMemo{Path: exe, Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: info.Size(),
		MtimeNs: info.ModTime().UnixNano()}
	return path, now, true
}

// recalledVersion returns the binaries in dir as remembered, if the
// executable is the one the memo was written for.
func recalledVersion(dir string) (binaries, bool) {
	path, now, ok := memoFor(dir)
	if !ok {
		return binaries{}, false
	}
	m, ok := readState[versionMemo](path)
	if !ok || m.Version == "" || m.Major == 0 {
		return binaries{}, false
	}
	now.Version, now.Major = m.Version, m.Major
	if m != now {
		return binaries{}, false
	}
	return binaries{dir: dir, version: m.Version, major: m.Major}, true
}

// rememberVersion writes the memo for b; a cache directory that cannot be
// written only means asking again next time.
func rememberVersion(b binaries) {
	path, m, ok := memoFor(b.dir)
	if !ok {
		return
	}
	m.Version, m.Major = b.version, b.major
	_ = writeState(path, m)
}
