//go:build unix

package containers_test

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

var stopRE = regexp.MustCompile(`until you stop it: (kill -INT (\d+) && while \[ -e \S+/postmaster\.pid \] && kill -0 \d+ 2>/dev/null; do sleep 0\.1; done && rm -rf (\S+))`)

// TestKeepFailed: with DBSUITE_KEEP_FAILED=1, a failed test's database
// and its local server stay up after the test binary and its supervisor
// are gone, a later binary does not sweep the database, and the logged
// command stops the server.
func TestKeepFailed(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, mode string }{
		{"private server", "fail-private"},
		{"shared server", "fail-keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := osexec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+tt.mode, containers.EnvKeepFailed+"=1")
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the helper test fails")
			var h helper
			for _, line := range strings.Split(string(out), "\n") {
				fmt.Sscanf(line, "HELPER %s %d %s", &h.dataDir, &h.pid, &h.db)
			}
			m := stopRE.FindStringSubmatch(string(out))
			require.NotNil(t, m, "the log says how to stop the server:\n%s", out)
			assert.Contains(t, string(out), "drop it with: psql")
			pid, _ := strconv.Atoi(m[2])
			runDir := m[3]
			require.Equal(t, h.pid, pid)
			require.Equal(t, filepath.Dir(h.dataDir), runDir)
			t.Cleanup(func() { _ = osexec.Command("/bin/sh", "-c", m[1]).Run() })

			// The supervisor has had its say once it exits: the server must
			// still be up then.
			if b, err := os.ReadFile(filepath.Join(runDir, "supervisor")); err == nil {
				sup, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				eventually(t, "the supervisor exits", func() bool { return !alive(sup) })
			}
			require.True(t, alive(pid), "the kept server is up")
			dsn := fmt.Sprintf("host=%s port=5432 user=postgres dbname=%s sslmode=disable", runDir, h.db)
			assert.Equal(t, h.db, query[string](t, dsn, "SELECT current_database()"), "the kept database is reachable")

			if tt.mode == "fail-keep" {
				// A later binary joins the kept server and sweeps: it must
				// spare the kept database.
				later := startHelper(t, "fail-keep")
				_ = later.cmd.Wait()
				assert.Equal(t, pid, later.pid, "the later binary joins the kept server")
				assert.Equal(t, h.db, query[string](t, dsn, "SELECT current_database()"), "the kept database survives a later binary's sweep")
			}

			require.NoError(t, osexec.Command("/bin/sh", "-c", m[1]).Run(), "the logged stop command works")
			eventually(t, "postgres stopped by the logged command", func() bool { return !alive(pid) })
			assert.NoDirExists(t, runDir)
		})
	}
}
