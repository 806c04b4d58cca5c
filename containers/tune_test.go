//go:build unix

package containers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

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
		golden     string   // the error's golden file
		wantErrAs  string   // the SQLSTATE of the *pgconn.PgError in the chain
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
			golden:    "tune/restart needed",
			wantErrIs: containers.ErrRestartRequired,
			afterTune: []string{"ALTER SYSTEM RESET max_prepared_transactions"},
		},
		{
			name:     "the command line beats ALTER SYSTEM",
			settings: containers.Settings{"listen_addresses": "*"},
			want:     map[string]containers.Status{"listen_addresses": containers.StatusRejected},
			show:     map[string]string{"listen_addresses": ""},
			golden:   "tune/command line",
		},
		{
			name:       "a per-database value overrides ALTER SYSTEM",
			settings:   containers.Settings{"work_mem": "8MB"},
			beforeTune: []string{"ALTER DATABASE postgres SET work_mem = '1MB'"},
			want:       map[string]containers.Status{"work_mem": containers.StatusNotApplied},
			golden:     "tune/per-database value",
			afterTune:  []string{"ALTER DATABASE postgres RESET work_mem"},
		},
		{
			// ALTER SYSTEM checks a time zone's name, Tune does not: the
			// setting applied before it (autovacuum_naptime) is restored.
			name:      "a failed ALTER SYSTEM restores the settings before it",
			settings:  containers.Settings{"autovacuum_naptime": "17s", "timezone": "Mars/Olympus_Mons"},
			want:      map[string]containers.Status{},
			show:      map[string]string{"autovacuum_naptime": "1min"},
			golden:    "tune/alter system failed",
			wantErrAs: "22023",
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
			switch {
			case tt.golden != "":
				require.Error(t, err)
				checkMessage(t, tt.golden, err.Error())
			case len(tt.wantErr) == 0:
				require.NoError(t, err)
			default:
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
			}
			if tt.wantErrAs != "" {
				var pgErr *pgconn.PgError
				require.True(t, errors.As(err, &pgErr), "errors.As(%v, *pgconn.PgError)", err)
				assert.Equal(t, tt.wantErrAs, pgErr.Code)
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
	}{
		{"unknown setting", srv.DSN(), containers.Settings{"fsyn": "off", "work_mem": "2MB"}},
		{"invalid boolean", srv.DSN(), containers.Settings{"fsync": "maybe", "work_mem": "2MB"}},
		{"invalid unit", srv.DSN(), containers.Settings{"work_mem": "10XB"}},
		{"unit on a unitless setting", srv.DSN(), containers.Settings{"max_connections": "10MB"}},
		{"out of range", srv.DSN(), containers.Settings{"max_connections": "-5", "work_mem": "2MB"}},
		{"invalid enum", srv.DSN(), containers.Settings{"wal_level": "fast"}},
		{"minimal WAL with WAL senders", srv.DSN(), containers.Settings{"wal_level": "minimal", "max_wal_senders": "5"}},
		{"not a superuser", bob, containers.Settings{"work_mem": "2MB", "fsync": "off"}},
		{"unreachable", "host=127.0.0.1 port=1 user=bob password=" + secret + " connect_timeout=2", containers.Settings{"work_mem": "2MB"}},
		{"malformed URL", "postgres://bob:" + secret + "@127.0.0.1:notaport/postgres", containers.Settings{"work_mem": "2MB"}},
		{"other scheme", "mysql://bob:" + secret + "@127.0.0.1/postgres", containers.Settings{"work_mem": "2MB"}},
		{"one slash", "postgres:/bob:" + secret + "@127.0.0.1/postgres", containers.Settings{"work_mem": "2MB"}},
		{"jdbc", "jdbc:postgresql://127.0.0.1/postgres?user=bob&password=" + secret, containers.Settings{"work_mem": "2MB"}},
	}
	before := query[string](t, srv.DSN(), "SHOW work_mem")
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := containers.Tune(t.Context(), tt.dsn, tt.settings)
				require.Error(t, err)
				checkMessage(t, "tune/"+tt.name, err.Error())
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

// TestTuneNeverLeavesAServerThatWillNotStart: the checks read the values
// in effect, not only those asked for; and when the server refuses to
// start after a restart, the previous values are restored, the server
// restarted with them, and its FATAL line reported.
func TestTuneNeverLeavesAServerThatWillNotStart(t *testing.T) {
	t.Parallel()
	t.Run("archive_mode on refuses wal_level minimal", func(t *testing.T) {
		t.Parallel()
		srv := containers.Postgres(t, containers.WithPrivate(true),
			containers.WithSettings(containers.Settings{"wal_level": "replica", "max_wal_senders": "10", "archive_mode": "on"}))
		_, err := srv.Tune(t.Context(), containers.Settings{"wal_level": "minimal", "max_wal_senders": "0"})
		require.Error(t, err)
		checkMessage(t, "tune/archive mode", err.Error())
		assert.Equal(t, "replica", query[string](t, srv.DSN(), "SHOW wal_level"))
	})
	t.Run("a refused restart is undone", func(t *testing.T) {
		t.Parallel()
		srv := containers.Postgres(t, containers.WithPrivate(true))
		report, err := srv.Tune(t.Context(), containers.Settings{"shared_preload_libraries": "dbsuite_no_such_library", "work_mem": "5MB"})
		require.Error(t, err)
		t.Logf("report:\n%s", report)
		checkMessage(t, "tune/restart refused", err.Error())
		assert.Equal(t, "", query[string](t, srv.DSN(), "SHOW shared_preload_libraries"), "the server runs with the previous value")
		assert.Equal(t, 0, query[int](t, srv.DSN(), `SELECT count(*) FROM pg_file_settings WHERE name = 'shared_preload_libraries'`))
	})
}
