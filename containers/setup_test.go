//go:build unix

package containers_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// fakeBinDir makes a directory of PostgreSQL programs: the real ones
// except those given, which are shell scripts ($REAL names the real
// directory). It is readable by the server's unprivileged user.
func fakeBinDir(t *testing.T, scripts map[string]string) string {
	t.Helper()
	real, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(real)
	if len(real) == 0 {
		t.Skip("needs the PostgreSQL server binaries under /usr/lib/postgresql/*/bin") // the local provider's own tests cover other layouts
	}
	dir, err := os.MkdirTemp("", "fakebin")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	for _, prog := range []string{"initdb", "postgres", "pg_ctl"} {
		body, ok := scripts[prog]
		if !ok {
			body = `exec "$REAL/` + prog + `" "$@"`
		}
		script := "#!/bin/sh\nREAL=" + real[len(real)-1] + "\n" + body + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, prog), []byte(script), 0o755))
	}
	return dir
}

// TestSetupFailureMessages pins what a user reads when a local server
// cannot be had: the provider, the command, its output or the server's
// log tail, and what to do.
func TestSetupFailureMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scripts map[string]string
	}{
		{"initdb fails", map[string]string{
			"initdb": `echo "initdb: error: invalid locale settings; check LANG and LC_* environment variables" >&2; exit 1`,
		}},
		{"postgres does not start", map[string]string{
			// initdb runs postgres --boot and --single; a server start fails.
			"postgres": `case "$1" in -V|--version|--boot|--single|-C|--describe-config) exec "$REAL/postgres" "$@";; esac
for a in "$@"; do case "$a" in --boot|--single) exec "$REAL/postgres" "$@";; esac; done
echo "2026-11-26 12:00:00.000 UTC [4242] LOG:  starting PostgreSQL" >&2
echo "2026-11-26 12:00:00.001 UTC [4242] FATAL:  could not create lock file \"/run/dbsuite/.s.PGSQL.5432.lock\": Permission denied" >&2
exit 1`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bin := fakeBinDir(t, tt.scripts)
			f := runFake(t, false, func(tb testing.TB) {
				containers.Postgres(tb, containers.WithPrivate(true), containers.WithBinDir(bin))
			})
			checkMessage(t, "setup/"+tt.name, f.fatal)
		})
	}
}
