//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestPgtune runs the command against a server it does not own, as a CI
// step does: first without a way to restart (exit 1, with the command to
// run), then with -restart, which brings every setting into effect.
func TestPgtune(t *testing.T) {
	srv := containers.Postgres(t, containers.WithPrivate(true), containers.WithSettings(containers.Settings{"max_connections": "100"}))
	// The restart command this step would run in CI ("docker restart
	// <id>"): here, restart the private server with pg_ctl.
	dataDir := show(t, srv.DSN(), "data_directory")
	var pgctl string
	for _, d := range []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"} {
		if _, err := os.Stat(d + "/pg_ctl"); err == nil {
			pgctl = d + "/pg_ctl"
		}
	}
	require.NotEmpty(t, pgctl, "pg_ctl not found")
	owner := "postgres"
	restart := fmt.Sprintf("%s restart -w -m fast -D %s -l %s/../pgctl.log", pgctl, dataDir, dataDir)
	if os.Geteuid() == 0 {
		restart = fmt.Sprintf("su %s -s /bin/sh -c '%s'", owner, restart)
	}

	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		settings map[string]string
	}{
		{
			name:   "restart needed, no way to restart",
			args:   []string{"-dsn", srv.DSN(), "-container", "0123abcd", "-set", "max_connections=120"},
			code:   1,
			stdout: []string{"max_connections", "needs restart", "restart the server to apply the rest: docker restart 0123abcd"},
			stderr: []string{"fix: restart the server (docker restart 0123abcd), then run Tune again", "or run pgtune again with -restart"},
		},
		{
			name:     "restart command given",
			args:     []string{"-dsn", srv.DSN(), "-set", "max_connections=120", "-restart", restart},
			code:     0,
			stdout:   []string{"pgtune: restarting the server", "applied by restart", "pgtune: every setting is in effect"},
			settings: map[string]string{"max_connections": "120", "fsync": "off"},
		},
		{
			name:   "bad setting",
			args:   []string{"-dsn", srv.DSN(), "-preset", "none", "-set", "fsync=perhaps"},
			code:   1,
			stderr: []string{`containers: Tune changed nothing: 1 of 1 settings cannot be applied`, `fsync = "perhaps": want a boolean`},
		},
		{name: "bad -set", args: []string{"-set", "fsync"}, code: 2, stderr: []string{`want name=value, got "fsync"`}},
		{name: "bad preset", args: []string{"-dsn", srv.DSN(), "-preset", "fast"}, code: 2, stderr: []string{`-preset "fast": want "test" or "none"`}},
		{name: "no timeout", args: []string{"-dsn", srv.DSN(), "-timeout", "0s"}, code: 2, stderr: []string{"pgtune: -timeout 0s: want a positive duration"}},
		{name: "no server", args: []string{"-dsn", ""}, code: 2, stderr: []string{"pgtune: no server: pass -dsn"}},
	}
	t.Setenv(containers.EnvURL, "")
	t.Setenv("DATABASE_URL", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			t.Logf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			assert.Equal(t, tt.code, code)
			for _, w := range tt.stdout {
				assert.Contains(t, stdout.String(), w)
			}
			for _, w := range tt.stderr {
				assert.Contains(t, stderr.String(), w)
			}
			for name, want := range tt.settings {
				assert.Equal(t, want, show(t, srv.DSN(), name), "SHOW %s", name)
			}
		})
	}
}

func show(t *testing.T, dsn, name string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var v string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&v))
	return strings.TrimSpace(v)
}
