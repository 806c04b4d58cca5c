//go:build linux

package containers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

	// Give up once the postmaster maps its segments.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	segments := make(chan []string, 1)
	go func() {
		defer cancel()
		starting := &localServer{dataDir: data}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if segs := mappedSegments(starting.pid()); len(segs) > 0 {
				segments <- segs
				return
			}
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
		t.Fatalf("no dynamic shared memory segment mapped by the postmaster within 30 s; want its control segment")
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

var segmentRE = regexp.MustCompile(`\S*(?:/dev/shm/PostgreSQL|/pg_dynshmem/mmap)\.\d+`)

// mappedSegments returns the dynamic shared memory segments of PostgreSQL
// that the process pid maps, from /proc (none where there is none): files
// in /dev/shm (dynamic_shared_memory_type posix, the default) or in the
// data directory (mmap, on the servers dbsuite starts).
func mappedSegments(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var segs []string
	for _, s := range segmentRE.FindAllString(string(b), -1) {
		if !seen[s] {
			seen[s] = true
			segs = append(segs, s)
		}
	}
	return segs
}
