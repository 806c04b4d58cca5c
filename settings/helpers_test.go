package settings_test

import (
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/faketb"
	goldenfile "github.com/dbsuite/dbsuite/internal/golden"
)

var _ = flag.Bool("update", false, "rewrite the golden files in testdata with the messages the tests produce")

// golden compares a message with testdata/name.golden, after replacing what changes from run to run (line
// numbers in _test.go files, durations). With -update it writes the file instead.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name+".golden"), normalize(got))
}

var (
	testLine = regexp.MustCompile(`(_test\.go):\d+`)
	duration = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`)
)

func normalize(s string) string {
	s = testLine.ReplaceAllString(s, "$1:NN")
	return duration.ReplaceAllString(s, "DUR")
}

// fakeTB stands in for a test: it embeds a real testing.TB (used for Setenv, so that the standard
// library's parallel check is the real one, and for Context) and records what the code under test
// reports instead of failing the real test.
type fakeTB = faketb.TB

// newFake returns a fake named name (the real test's name when empty); its cleanups run at the latest
// when the real test ends.
func newFake(t testing.TB, name string) *fakeTB { return faketb.New(t, name) }

// errorText returns what the fake test reported as failures, one after the other.
func errorText(f *fakeTB) string { return strings.Join(f.Errors(), "\n---\n") }

// logText returns what the fake test logged.
func logText(f *fakeTB) string { return strings.Join(f.Logs(), "\n") }
