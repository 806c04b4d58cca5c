//go:build unix

package containers

import (
	"context"
	"encoding/json"
	"os"

	"github.com/gofrs/flock"
)

// lockFile waits for the exclusive lock on path, which parallel test
// binaries take to do something once (build a cache entry or a seed
// image, start a shared server). It returns the function that releases
// it, or why it could not be had (ctx ended). It waits in flock(2), which
// returns the moment the holder lets go: a binary waiting for another to
// start the shared server is on the run's critical path, and polling
// every 5 ms cost it 2.5 ms on average.
func lockFile(ctx context.Context, path string) (release func(), err error) {
	lk := flock.New(path)
	got := make(chan error, 1)
	go func() { got <- lk.Lock() }()
	select {
	case err := <-got:
		if err != nil {
			lk.Close()
			return nil, err
		}
		return func() { lk.Close() }, nil // Close unlocks
	case <-ctx.Done():
		// The wait goes on in its goroutine: let go of the lock as soon
		// as it comes.
		go func() {
			<-got
			lk.Close()
		}()
		return nil, ctx.Err()
	}
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
