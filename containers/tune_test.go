//go:build unix

package containers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

const secret = "Secret-pw-42"

func statuses(r containers.Report) map[string]containers.Status {
	m := map[string]containers.Status{}
	for _, s := range r.Settings {
		m[s.Name] = s.Status
	}
	return m
}

// TestTune applies settings to a private server, case by case, in order:
// each case starts from the state the previous one left.
func TestTune(t *testing.T) {
	srv := containers.Postgres(t, containers.WithPrivate(true))
	notOwned := func(ctx context.Context, s containers.Settings) (containers.Report, error) {
		return containers.Tune(ctx, srv.DSN(), s, containers.WithRestartHint("docker restart abc123"))
	}
	tests := []struct {
		name       string
		settings   containers.Settings
		tune       func(context.Context, containers.Settings) (containers.Report, error)
		want       map[string]containers.Status
		show       map[string]string
		restarted  bool
		wantErr    []string
		wantErrIs  error
		beforeTune []string // SQL run first
		afterTune  []string // SQL run after, to undo
	}{
		{
			name:     "reload is enough",
			settings: containers.Settings{"work_mem": "64MB", "checkpoint_timeout": "30min", "random_page_cost": "1.1", "log_min_duration_statement": "250ms"},
			want: map[string]containers.Status{"work_mem": containers.StatusApplied, "checkpoint_timeout": containers.StatusApplied,
				"random_page_cost": containers.StatusApplied, "log_min_duration_statement": containers.StatusApplied},
			show: map[string]string{"work_mem": "64MB", "checkpoint_timeout": "30min", "random_page_cost": "1.1", "log_min_duration_statement": "250ms"},
		},
		{
			name:     "already set, in other units",
			settings: containers.Settings{"fsync": "false", "work_mem": "65536kB", "shared_buffers": "16384"},
			want: map[string]containers.Status{"fsync": containers.StatusUnchanged, "work_mem": containers.StatusUnchanged,
				"shared_buffers": containers.StatusUnchanged},
		},
		{
			name:      "restart on a server dbsuite owns",
			settings:  containers.Settings{"max_locks_per_transaction": "128", "work_mem": "32MB"},
			tune:      srv.Tune,
			want:      map[string]containers.Status{"max_locks_per_transaction": containers.StatusRestarted, "work_mem": containers.StatusApplied},
			show:      map[string]string{"max_locks_per_transaction": "128", "work_mem": "32MB"},
			restarted: true,
		},
		{
			name:      "restart on a server dbsuite does not own",
			settings:  containers.Settings{"max_prepared_transactions": "5", "work_mem": "16MB"},
			tune:      notOwned,
			want:      map[string]containers.Status{"max_prepared_transactions": containers.StatusRestartNeeded, "work_mem": containers.StatusApplied},
			show:      map[string]string{"max_prepared_transactions": "0", "work_mem": "16MB"},
			wantErr:   []string{"max_prepared_transactions = 5: takes effect after a restart", "fix: restart the server (docker restart abc123), then run Tune again"},
			wantErrIs: containers.ErrRestartRequired,
			afterTune: []string{"ALTER SYSTEM RESET max_prepared_transactions"},
		},
		{
			name:     "the command line beats ALTER SYSTEM",
			settings: containers.Settings{"listen_addresses": "*"},
			want:     map[string]containers.Status{"listen_addresses": containers.StatusRejected},
			show:     map[string]string{"listen_addresses": ""},
			wantErr:  []string{"set to  on the server's command line (postgres -c listen_addresses=...), which beats ALTER SYSTEM"},
		},
		{
			name:       "a per-database value overrides ALTER SYSTEM",
			settings:   containers.Settings{"work_mem": "8MB"},
			beforeTune: []string{"ALTER DATABASE postgres SET work_mem = '1MB'"},
			want:       map[string]containers.Status{"work_mem": containers.StatusNotApplied},
			wantErr:    []string{"work_mem = 8MB: SHOW says 1MB (source: database): a per-database or per-role value (ALTER DATABASE/ROLE ... SET) overrides ALTER SYSTEM"},
			afterTune:  []string{"ALTER DATABASE postgres RESET work_mem"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec(t, srv.DSN(), tt.beforeTune...)
			tune := tt.tune
			if tune == nil {
				tune = notOwned
			}
			report, err := tune(t.Context(), tt.settings)
			t.Logf("report:\n%s", report)
			exec(t, srv.DSN(), tt.afterTune...)
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
			}
			if tt.wantErrIs != nil {
				assert.True(t, errors.Is(err, tt.wantErrIs), "errors.Is(%v, %v)", err, tt.wantErrIs)
				assert.Equal(t, "docker restart abc123", report.RestartCommand)
				for _, r := range report.Settings {
					assert.Equal(t, r.Status == containers.StatusRestartNeeded, r.PendingRestart,
						"%s: pg_settings.pending_restart agrees with the status", r.Name)
				}
			}
			assert.Equal(t, tt.want, statuses(report))
			assert.Equal(t, tt.restarted, report.Restarted)
			for name, want := range tt.show {
				assert.Equal(t, want, query[string](t, srv.DSN(), "SELECT current_setting($1)", name), "SHOW %s", name)
			}
		})
	}
}

// TestTuneRejects checks that bad input is answered with a clear error and
// changes nothing.
func TestTuneRejects(t *testing.T) {
	srv := containers.Postgres(t, containers.WithPrivate(true))
	exec(t, srv.DSN(), "CREATE ROLE bob LOGIN PASSWORD '"+secret+"'")
	bob := srv.DSN() + " user=bob password=" + secret
	tests := []struct {
		name     string
		dsn      string
		settings containers.Settings
		want     []string
	}{
		{"unknown setting", srv.DSN(), containers.Settings{"fsyn": "off", "work_mem": "2MB"},
			[]string{`unknown setting "fsyn" (did you mean "fsync"?)`}},
		{"invalid boolean", srv.DSN(), containers.Settings{"fsync": "maybe", "work_mem": "2MB"},
			[]string{`invalid value: fsync = "maybe": want a boolean`}},
		{"invalid unit", srv.DSN(), containers.Settings{"work_mem": "10XB"},
			[]string{`work_mem = "10XB": unknown memory unit "XB" (valid: B, kB, MB, GB, TB)`}},
		{"unit on a unitless setting", srv.DSN(), containers.Settings{"max_connections": "10MB"},
			[]string{`max_connections = "10MB": this setting takes no unit`}},
		{"out of range", srv.DSN(), containers.Settings{"max_connections": "-5", "work_mem": "2MB"},
			[]string{`max_connections = "-5": out of range, want 1 to 262143`}},
		{"invalid enum", srv.DSN(), containers.Settings{"wal_level": "fast"},
			[]string{`wal_level = "fast": want one of minimal, replica, logical`}},
		{"minimal WAL with WAL senders", srv.DSN(), containers.Settings{"wal_level": "minimal", "max_wal_senders": "5"},
			[]string{"wal_level = minimal needs max_wal_senders = 0 (it would be 5), or the server refuses to start"}},
		{"not a superuser", bob, containers.Settings{"work_mem": "2MB", "fsync": "off"},
			[]string{`role "bob" may not ALTER SYSTEM SET fsync, work_mem (nor call pg_reload_conf()): connect as a superuser`,
				`GRANT ALTER SYSTEM ON PARAMETER fsync, work_mem TO "bob"; GRANT EXECUTE ON FUNCTION pg_reload_conf() TO "bob"`}},
		{"unreachable", "host=127.0.0.1 port=1 user=bob password=" + secret + " connect_timeout=2", containers.Settings{"work_mem": "2MB"},
			[]string{"containers: tune: cannot connect to host=127.0.0.1 port=1 user=bob password=xxxxx"}},
		{"malformed URL", "postgres://bob:" + secret + "@127.0.0.1:notaport/postgres", containers.Settings{"work_mem": "2MB"},
			[]string{"containers: tune: cannot connect to postgres://bob:xxxxx@127.0.0.1:notaport/postgres"}},
	}
	before := query[string](t, srv.DSN(), "SHOW work_mem")
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := containers.Tune(t.Context(), tt.dsn, tt.settings)
				require.Error(t, err)
				for _, w := range tt.want {
					assert.Contains(t, err.Error(), w)
				}
				assert.NotContains(t, err.Error(), secret, "the password must not appear")
			})
		}
	})
	t.Run("nothing was changed", func(t *testing.T) {
		assert.Equal(t, before, query[string](t, srv.DSN(), "SHOW work_mem"))
		n := query[int](t, srv.DSN(), `SELECT count(*) FROM pg_file_settings
			WHERE sourcefile LIKE '%postgresql.auto.conf' AND name IN ('work_mem', 'wal_level', 'max_wal_senders', 'max_connections') AND setting <> '0' AND setting NOT IN ('minimal', '300')`)
		assert.Equal(t, 0, n, "postgresql.auto.conf must hold none of the rejected values")
	})
	t.Run("privilege granted per parameter", func(t *testing.T) {
		exec(t, srv.DSN(), "GRANT ALTER SYSTEM ON PARAMETER work_mem TO bob", "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO bob")
		report, err := containers.Tune(t.Context(), bob, containers.Settings{"work_mem": "3MB"})
		require.NoError(t, err)
		assert.Equal(t, containers.StatusApplied, report.Settings[0].Status)
	})
}

func TestReportString(t *testing.T) {
	r := containers.Report{
		Settings: []containers.SettingResult{
			{Name: "fsync", Want: "off", Before: "on", After: "off", Context: "sighup", Status: containers.StatusApplied},
			{Name: "max_connections", Want: "300", Before: "100", After: "100", Context: "postmaster",
				Status: containers.StatusRestartNeeded, Problem: "takes effect after a restart"},
		},
		RestartCommand: "docker restart abc123",
	}
	want := `setting          want  before  after  context     status
fsync            off   on      off    sighup      applied
max_connections  300   100     100    postmaster  needs restart
max_connections: takes effect after a restart
restart the server to apply the rest: docker restart abc123
`
	assert.Equal(t, want, r.String())
	assert.False(t, strings.Contains(r.String(), "\t"))
}
