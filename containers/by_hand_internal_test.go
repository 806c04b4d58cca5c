//go:build unix

package containers

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// cachedForTest returns a private server's default options, the local
// binaries, the server's identity and the cached data directory of those
// options (built if need be), for tests and benchmarks that start
// postgres by hand.
func cachedForTest(tb testing.TB) (*serverOptions, binaries, identity, cachedData) {
	tb.Helper()
	c, err := serverConfig([]Option{WithPrivate(true)})
	if err != nil {
		tb.Fatal(err)
	}
	bins, err := findBinaries("")
	if err != nil {
		tb.Fatal(err)
	}
	id, err := serverIdentity("")
	if err != nil {
		tb.Fatal(err)
	}
	cached, err := cachedDataDir(context.Background(), bins, id, c.settings)
	if err != nil {
		tb.Fatal(err)
	}
	return c, bins, id, cached
}

// runDirForTest makes a private run directory for a server a test starts
// by hand, removed when the test ends.
func runDirForTest(tb testing.TB, id identity) string {
	tb.Helper()
	rroot, err := runRoot(id)
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(rroot, "t-"+randomHex(6))
	if err := privateDir(dir, id); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
