//go:build unix

package containers

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// trimWAL removes from a stopped server's pg_wal the segments after the
// one its last checkpoint starts in: segments PostgreSQL recycled for
// later use, which hold nothing it needs (it makes new ones when it gets
// there). Every server start copies the cached data directory, and those
// spare segments were 4 of its 28 MB. Nothing is removed when
// pg_controldata cannot say where the checkpoint is.
func trimWAL(ctx context.Context, bins binaries, id identity, dataDir string) {
	prog := filepath.Join(bins.dir, "pg_controldata")
	if _, err := os.Stat(prog); err != nil {
		// postgres may be a link into the installation (/usr/local/bin).
		real, err := filepath.EvalSymlinks(filepath.Join(bins.dir, "postgres"))
		if err != nil {
			return
		}
		prog = filepath.Join(filepath.Dir(real), "pg_controldata")
	}
	cmd := exec.CommandContext(ctx, prog, "-D", dataDir)
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
	out, err := cmd.Output()
	if err != nil {
		return
	}
	redo := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "Latest checkpoint's REDO WAL file" {
			redo = strings.TrimSpace(v)
		}
	}
	if !walSegmentName(redo) {
		return
	}
	entries, err := os.ReadDir(filepath.Join(dataDir, "pg_wal"))
	if err != nil {
		return
	}
	for _, e := range entries {
		// Same timeline (the first 8 digits), later segment.
		if n := e.Name(); walSegmentName(n) && n[:8] == redo[:8] && n > redo {
			_ = os.Remove(filepath.Join(dataDir, "pg_wal", n))
		}
	}
}

// walSegmentName reports whether name is a WAL segment file's name: 24
// upper-case hexadecimal digits.
func walSegmentName(name string) bool {
	if len(name) != 24 {
		return false
	}
	for _, c := range name {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
