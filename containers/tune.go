package containers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/jackc/pgx/v5"
)

// ErrRestartRequired is in the chain of the error [Tune] returns when a
// setting takes effect only after a restart that Tune may not do.
var ErrRestartRequired = errors.New("restart required")

// errBadSettings is in the chain when Tune refused the settings themselves
// (unknown, invalid, a combination the server cannot start with): another
// provider would refuse them too.
var errBadSettings = errors.New("settings refused")

// Status says what [Tune] did with one setting.
type Status string

// The statuses of a [SettingResult].
const (
	StatusUnchanged     Status = "already set"
	StatusApplied       Status = "applied"
	StatusRestarted     Status = "applied by restart"
	StatusRestartNeeded Status = "needs restart"
	StatusNotApplied    Status = "not applied"
	StatusRejected      Status = "rejected"
)

// SettingResult is what happened to one setting.
type SettingResult struct {
	Name    string
	Want    string // as asked
	Before  string // SHOW before
	After   string // SHOW after
	Context string // pg_settings.context: postmaster needs a restart, sighup a reload, user a new session
	Source  string // pg_settings.source after: where the value in effect comes from
	// PendingRestart is pg_settings.pending_restart after: the value was
	// changed in the configuration and waits for a restart.
	PendingRestart bool
	Status         Status
	Problem        string // why the setting is not in effect, and what to do
}

// Report is what [Tune] did, setting by setting, in name order.
type Report struct {
	Settings []SettingResult
	// Restarted is true when Tune restarted the server.
	Restarted bool
	// RestartCommand is the command to run when a restart is needed and
	// Tune could not restart the server itself.
	RestartCommand string
}

// String renders the report as a table.
func (r Report) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "setting\twant\tbefore\tafter\tcontext\tstatus")
	for _, s := range r.Settings {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Want, s.Before, s.After, s.Context, s.Status)
	}
	w.Flush()
	for _, s := range r.Settings {
		if s.Problem != "" {
			fmt.Fprintf(&b, "%s: %s\n", s.Name, s.Problem)
		}
	}
	if r.RestartCommand != "" {
		fmt.Fprintf(&b, "restart the server to apply the rest: %s\n", r.RestartCommand)
	}
	return b.String()
}

// Tune applies settings to the server at dsn the way a server whose
// command line cannot be changed (a CI service container) must be tuned:
// for each setting ALTER SYSTEM SET, then pg_reload_conf(), then it reads
// pg_settings (context, pending_restart) and SHOW. Settings that need a
// restart are restarted with [WithRestart] when given; otherwise the
// error wraps [ErrRestartRequired] and names the settings and the command
// to run. Every value is checked with SHOW afterwards: a value set on the
// server's command line (postgres -c) silently beats ALTER SYSTEM, and is
// reported.
//
// All settings are checked before any is applied (known name, valid value,
// privilege to ALTER SYSTEM, wal_level=minimal only with
// max_wal_senders=0), so bad input changes nothing. The role must be a
// superuser, or on PostgreSQL 15+ have been granted ALTER SYSTEM on each
// parameter.
func Tune(ctx context.Context, connString string, settings Settings, opts ...Option) (Report, error) {
	o, err := collect("Tune", forTune, opts)
	if err != nil {
		return Report{}, err
	}
	secrets := dsn.Secrets(connString)
	norm, err := dsn.Validate(connString)
	if err != nil {
		return Report{}, scrubbed(fail(err, "Tune refused the connection string, want a postgres:// or postgresql:// URL, or keyword/value pairs",
			[]string{dsn.Redact(connString), err.Error()}, "write the connection string as postgres://user:password@host:5432/db?sslmode=disable"), secrets...)
	}
	if _, err := pgx.ParseConfig(norm); err != nil {
		return Report{}, scrubbed(fail(err, "Tune cannot read the connection string, want one pgx can read",
			[]string{dsn.Redact(norm), err.Error()}, "write the connection string as postgres://user:password@host:5432/db?sslmode=disable"), secrets...)
	}
	report, err := tune(ctx, norm, settings, o.tune)
	return report, scrubbed(err, secrets...)
}

func genericRestartHint() string {
	return "docker restart <container> if it runs in Docker (GitHub Actions: docker restart ${{ job.services.<name>.id }}; " +
		"set " + EnvContainer + " to the container to get the exact command), else pg_ctl restart -D <data directory>"
}

func sourceHint(source string) string {
	switch source {
	case "database", "user", "database user":
		return ": a per-database or per-role value (ALTER DATABASE/ROLE ... SET) overrides ALTER SYSTEM; RESET it there"
	case "environment variable":
		return ": set by an environment variable of the server process"
	}
	return ""
}
