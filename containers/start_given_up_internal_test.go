//go:build linux

package containers

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartGivenUpLeavesNoSharedMemory: the dynamic shared memory of a
// server dbsuite starts is in its data directory (pg_dynshmem), not in
// /dev/shm, where a segment stays until the next reboot when the process
// making it is killed (a 1 MB one, after two CI runs); and a start given
// up (its context ended) once postgres has made its segments stops it
// with an immediate shutdown, in which it removes them.
func TestStartGivenUpLeavesNoSharedMemory(t *testing.T) {
	t.Parallel()
	_, bins, id, cached := cachedForTest(t)
	dir := runDirForTest(t, id)
	data := filepath.Join(dir, "data")
	if err := copyTree(filepath.Join(cached.dir, "data"), data, &id); err != nil {
		t.Fatal(err)
	}
	// A server that never gets ready: its WAL segment is a named pipe
	// nobody writes, where the startup process waits to read its last
	// checkpoint, after the postmaster has made its segments.
	wal, err := filepath.Glob(filepath.Join(data, "pg_wal", "0*"))
	if err != nil || len(wal) != 1 {
		t.Fatalf("the cached WAL segments: %v, %v; want one", wal, err)
	}
	if err := os.Remove(wal[0]); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(wal[0], 0o600); err != nil {
		t.Fatal(err)
	}
	if id.cred != nil {
		if err := os.Chown(wal[0], int(id.cred.Uid), int(id.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	// Should a startup process outlive the test, it reads the end of the
	// pipe and exits.
	t.Cleanup(func() {
		if f, err := os.OpenFile(wal[0], os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})

	// Give up once postgres listens: the socket's line in postmaster.pid
	// comes after the segments are made.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	segments := make(chan []string, 1)
	go func() {
		defer cancel()
		deadline := time.Now().Add(30 * time.Second)
		for ; time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
			lines := strings.Split(string(b), "\n")
			if err != nil || len(lines) < 6 || strings.TrimSpace(lines[4]) == "" {
				continue
			}
			pid, _ := strconv.Atoi(lines[0])
			segments <- mappedSegments(pid)
			return
		}
		segments <- nil
	}()
	ls, err := launchIn(ctx, bins, id, dir, data, false, cached.password)
	made := <-segments
	if err == nil {
		_ = ls.discardProcess()
		t.Fatalf("postgres got ready without its WAL; want the start given up")
	}
	if len(made) == 0 {
		t.Fatalf("no dynamic shared memory segment mapped by the postmaster once it listened; want its control segment")
	}
	for _, seg := range made {
		if !strings.HasPrefix(seg, filepath.Join(data, "pg_dynshmem")+"/") {
			t.Errorf("the postmaster maps %s; want its segments in %s", seg, filepath.Join(data, "pg_dynshmem"))
		}
	}
	// launchIn returns once postgres has exited, and it removes its
	// segments before it exits.
	for _, seg := range made {
		if _, err := os.Stat(seg); err == nil {
			t.Errorf("%s is left after the start was given up; want it removed", seg)
		}
	}
}
