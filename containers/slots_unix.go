//go:build unix

package containers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// slotDir is where the slot files of the server are: next to a local
// server's socket, or in the cache directory for a server dbsuite does
// not own.
// It is made here, once per process; "" when it cannot be (no shared
// budget then: this process's share still holds).
func (s *Server) slotDir() string {
	dir := ""
	if s.local != nil {
		dir = filepath.Join(s.local.runDir, "slots")
	} else {
		root, err := cacheRoot()
		if err != nil {
			return ""
		}
		cfg, err := pgconn.ParseConfig(s.dsn)
		if err != nil {
			return ""
		}
		dir = filepath.Join(root, "slots-"+HashOf(cfg.Host, fmt.Sprint(cfg.Port)))
	}
	if os.MkdirAll(dir, 0o700) != nil {
		return ""
	}
	return dir
}

// acquireSlot takes an exclusive flock on one of n slot files in dir,
// waiting while every one is held (by this or another test binary). The
// kernel releases the lock of a process that dies.
func acquireSlot(ctx context.Context, dir string, n int) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	for {
		start := rand.IntN(n)
		for i := range n {
			path := filepath.Join(dir, fmt.Sprintf("%d", (start+i)%n))
			f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				return func() {}, nil
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
				return func() { f.Close() }, nil
			}
			f.Close()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
