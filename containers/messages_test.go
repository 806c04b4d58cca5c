//go:build unix

package containers_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/dbsuite/dbsuite/internal/golden"
)

var _ = flag.Bool("update", false, "rewrite the golden files in testdata with the messages the tests produce")

// varying are the parts of a message that change from run to run, and
// what they become in a golden file.
var varying = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \w+ \[\d+\]`), "<time> [<pid>]"},
	{regexp.MustCompile(`(/dev/shm|` + regexp.QuoteMeta(os.TempDir()) + `)/dbsuite-\d+/[\w.-]+`), "<run dir>"},
	{regexp.MustCompile(`\bhas \d+ MB free`), "has <n> MB free"},
	{regexp.MustCompile(regexp.QuoteMeta(os.TempDir()) + `/fakebin\d+`), "<fakebin>"},
	{regexp.MustCompile(`pgdata-\d+-[0-9a-f]+`), "pgdata-<key>"},
	{regexp.MustCompile(`\b(pid|port) \d+`), "$1 <n>"},
	{regexp.MustCompile(`\bport=\d+`), "port=<n>"},
	{regexp.MustCompile(`:\d{4,5}\b`), ":<port>"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s)\b`), "<duration>"},
	{regexp.MustCompile(`PostgreSQL \d+\.\d+`), "PostgreSQL <version>"},
}

// checkMessage compares a message with testdata/messages/<name>.golden,
// with what varies from run to run (durations, pids, ports, directories)
// replaced by placeholders. `go test ./containers -update` rewrites them.
func checkMessage(t *testing.T, name, msg string) {
	t.Helper()
	for _, v := range varying {
		msg = v.re.ReplaceAllString(msg, v.with)
	}
	golden.Check(t, filepath.Join("testdata", "messages", name+".golden"), msg+"\n")
}
