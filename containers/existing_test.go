//go:build unix

package containers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// TestExistingProvider runs the existing-server provider against a server
// the test starts itself, reached over TCP with a password, as a CI
// service container is.
func TestExistingProvider(t *testing.T) {
	host := containers.Postgres(t, containers.WithPrivate(true), containers.WithTCP(true))
	port := query[string](t, host.DSN(), "SHOW port")
	exec(t, host.DSN(),
		"CREATE ROLE ci LOGIN CREATEDB PASSWORD '"+secret+"'",
		"CREATE ROLE nocreate LOGIN PASSWORD '"+secret+"'")
	url := func(user, pw, port string) string {
		return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/postgres?sslmode=disable", user, pw, port)
	}

	t.Run("databases", func(t *testing.T) {
		t.Setenv(containers.EnvURL, url("ci", secret, port))
		srv := containers.Postgres(t)
		assert.Equal(t, containers.ProviderExisting, srv.Provider())
		assert.Equal(t, containers.ProviderExisting, srv.Provider())
		assert.NotContains(t, srv.String(), secret)
		assert.Contains(t, srv.String(), "postgres://ci:xxxxx@127.0.0.1:"+port)
		var name string
		t.Run("isolated", func(t *testing.T) {
			db := srv.Database(t)
			name = db.Name()
			assert.Equal(t, name, query[string](t, db.DSN(), "SELECT current_database()"))
			assert.Equal(t, "ci", query[string](t, db.DSN(), "SELECT current_user"))
		})
		assert.True(t, dropped(t, host, name), "dropped after the test")
	})

	t.Run("template1's relation cache", func(t *testing.T) {
		// As after a restart: the server removes every init file when it
		// starts, and nothing has connected to template1 since.
		initFile := filepath.Join(query[string](t, host.DSN(), "SHOW data_directory"), "base", "1", "pg_internal.init")
		require.NoError(t, os.Remove(initFile))
		t.Setenv(containers.EnvURL, url("ci", secret, port)+"&application_name=relcache")
		srv := containers.Postgres(t)
		srv.Database(t)
		assert.FileExists(t, initFile, "template1's relation cache, for every clone to copy (relcache.go)")

		// A template that refuses connections once built still clones:
		// writing its relation cache is a hint, not a step of the build.
		tpl := containers.NewTemplate("closed", containers.HashOf(t.Name(), time.Now().String()),
			func(ctx context.Context, conn *pgx.Conn) error {
				_, err := conn.Exec(ctx, `CREATE TABLE item (id int PRIMARY KEY);
					DO $$ BEGIN EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 0', current_database()); END $$`)
				return err
			})
		db := srv.Database(t, containers.WithTemplate(tpl))
		assert.Equal(t, 0, query[int](t, db.DSN(), "SELECT count(*) FROM item"))
	})

	t.Run("tune a server it does not own", func(t *testing.T) {
		superPW := passwordOf(t, host.DSN())
		t.Setenv(containers.EnvURL, url("postgres", superPW, port))
		t.Setenv(containers.EnvContainer, "0123abcd")
		srv := containers.Postgres(t)
		report, err := srv.Tune(t.Context(), containers.Settings{"max_prepared_transactions": "3", "work_mem": "12MB"})
		require.Error(t, err)
		assert.True(t, errors.Is(err, containers.ErrRestartRequired))
		assert.Contains(t, err.Error(), "fix: restart the server (docker restart 0123abcd)")
		assert.NotContains(t, err.Error(), superPW)
		assert.Equal(t, "docker restart 0123abcd", report.RestartCommand)
		assert.Equal(t, map[string]containers.Status{
			"max_prepared_transactions": containers.StatusRestartNeeded,
			"work_mem":                  containers.StatusApplied,
		}, statuses(report))
		exec(t, host.DSN(), "ALTER SYSTEM RESET max_prepared_transactions", "ALTER SYSTEM RESET work_mem", "SELECT pg_reload_conf()")
	})

	tests := []struct {
		name string
		url  string
	}{
		{"malformed", "postgres://ci:" + secret + "@127.0.0.1:notaport/postgres"},
		{"unreachable", url("ci", secret, "1")},
		{"wrong password", url("ci", "wrong-"+secret, port)},
		{"role may not create databases", url("nocreate", secret, port)},
		{"capital scheme connects", strings.Replace(url("ci", secret, port), "postgres://", "Postgres://", 1)},
		{"other scheme", "mysql://ci:" + secret + "@127.0.0.1:" + port + "/postgres"},
		{"jdbc", "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=ci&password=" + secret},
		{"misspelt key", "host=127.0.0.1 port=" + port + " user=ci pasword=" + secret + " sslmode=disable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(containers.EnvURL, tt.url)
			f := runFake(t, false, func(tb testing.TB) {
				srv := containers.Postgres(tb)
				tb.Logf("user %s", query[string](t, srv.DSN(), "SELECT current_user"))
			})
			checkMessage(t, "existing/"+tt.name, f.output())
			assert.NotContains(t, f.output(), secret, "the password must not appear")
		})
	}
}

// TestExistingProviderNotForOwnedServers checks that options asking for a
// server dbsuite starts are not answered with the existing server.
func TestExistingProviderNotForOwnedServers(t *testing.T) {
	t.Setenv(containers.EnvURL, "postgres://nobody:"+secret+"@127.0.0.1:1/postgres")
	tests := []struct {
		name string
		opts []containers.Option
	}{
		{"private", []containers.Option{containers.WithPrivate(true)}},
		{"settings", []containers.Option{containers.WithSettings(containers.Settings{"work_mem": "7MB"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := containers.Postgres(t, tt.opts...)
			assert.Equal(t, containers.ProviderLocal, srv.Provider())
		})
	}
}
