//go:build unix

package containers

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/gofrs/flock"
)

// lockFile waits, polling every poll, for the exclusive lock on path, which
// parallel test binaries take to do something once (build a cache entry
// or a seed image, start a shared server). It returns the function that
// releases it, or why it could not be had (ctx ended).
func lockFile(ctx context.Context, path string, poll time.Duration) (release func(), err error) {
	lk := flock.New(path)
	if ok, err := lk.TryLockContext(ctx, poll); !ok {
		lk.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return func() { lk.Close() }, nil // Close unlocks
}

// readState reads a JSON state file that a test binary wrote for the
// others (writeState). ok is false when it is missing or unreadable.
func readState[S any](path string) (st S, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return st, false
	}
	return st, json.Unmarshal(b, &st) == nil
}
