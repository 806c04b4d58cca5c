package containers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/suggest"
)

// ErrRestartRequired is in the chain of the error [Tune] returns when a
// setting takes effect only after a restart that Tune may not do.
var ErrRestartRequired = errors.New("restart required")

// Status says what [Tune] did with one setting.
type Status string

// The statuses of a [SettingResult].
const (
	StatusUnchanged     Status = "already set"
	StatusApplied       Status = "applied"
	StatusRestarted     Status = "applied by restart"
	StatusRestartNeeded Status = "needs restart"
	StatusNotApplied    Status = "NOT APPLIED"
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
	cfg := o.tune
	password := dsn.Password(connString)
	scrub := func(err error) error {
		if err == nil {
			return nil
		}
		return errors.New(dsn.Scrub(err.Error(), password))
	}
	report, err := tune(ctx, connString, settings, cfg)
	return report, scrubErr(err, scrub)
}

// scrubErr removes the password from err's text, keeping
// ErrRestartRequired detectable with errors.Is.
func scrubErr(err error, scrub func(error) error) error {
	if err == nil {
		return nil
	}
	clean := scrub(err)
	if errors.Is(err, ErrRestartRequired) {
		return &restartError{msg: clean.Error()}
	}
	return clean
}

type restartError struct{ msg string }

func (e *restartError) Error() string { return e.msg }
func (e *restartError) Unwrap() error { return ErrRestartRequired }

func connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, connString)
	if err != nil {
		return nil, fmt.Errorf("containers: tune: cannot connect to %s: %v", dsn.Redact(connString), err)
	}
	return conn, nil
}

func tune(ctx context.Context, connString string, settings Settings, cfg tuneOptions) (Report, error) {
	var report Report
	if len(settings) == 0 {
		return report, nil
	}
	want := Settings{}
	for k, v := range settings {
		want[strings.ToLower(strings.TrimSpace(k))] = v
	}
	names := want.names()
	conn, err := connect(ctx, connString)
	if err != nil {
		return report, err
	}
	defer func() { conn.Close(context.WithoutCancel(ctx)) }()

	infos, err := readSettings(ctx, conn, names)
	if err != nil {
		return report, err
	}
	// Check everything before changing anything.
	var problems []error
	normWant := map[string]string{}
	for _, name := range names {
		si, ok := infos[name]
		if !ok {
			msg := fmt.Sprintf("unknown setting %q", name)
			if s := suggest.Closest(name, allSettingNames(ctx, conn), 2); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			problems = append(problems, errors.New(msg))
			continue
		}
		n, err := si.normalize(want[name])
		if err != nil {
			problems = append(problems, fmt.Errorf("invalid value: %v", err))
			continue
		}
		normWant[name] = n
	}
	problems = append(problems, checkCombinations(want, infos)...)
	if len(problems) == 0 {
		problems = append(problems, checkPrivilege(ctx, conn, names)...)
	}
	if len(problems) > 0 {
		return report, fmt.Errorf("containers: tune: nothing was changed:\n%w", errors.Join(problems...))
	}

	report.Settings = make([]SettingResult, len(names))
	for i, name := range names {
		r := &report.Settings[i]
		*r = SettingResult{Name: name, Want: want[name], Context: infos[name].context, Source: infos[name].source}
		r.Before, _ = show(ctx, conn, name)
	}
	priorAuto := readAutoConf(ctx, conn, names)

	var applied []string
	for _, name := range names {
		si := infos[name]
		if si.source == "command line" {
			continue // ALTER SYSTEM cannot beat it; reported below
		}
		q := fmt.Sprintf("ALTER SYSTEM SET %s = %s", pgx.Identifier{name}.Sanitize(), quoteLiteral(want[name]))
		if _, err := conn.Exec(ctx, q); err != nil {
			rollback(ctx, conn, applied, priorAuto)
			return report, fmt.Errorf("containers: tune: %s: %v (the settings applied before it were restored)", q, err)
		}
		applied = append(applied, name)
	}
	// The reload is asynchronous: wait until this session has re-read the
	// configuration (pg_conf_load_time moves), after which every value a
	// reload can change is in effect.
	var loaded time.Time
	if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&loaded); err != nil {
		return report, fmt.Errorf("containers: tune: pg_conf_load_time(): %v", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return report, fmt.Errorf("containers: tune: pg_reload_conf(): %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var now time.Time
		if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&now); err != nil {
			return report, fmt.Errorf("containers: tune: pg_conf_load_time(): %v", err)
		}
		if now.After(loaded) {
			break
		}
		if time.Now().After(deadline) {
			return report, fmt.Errorf("containers: tune: the server did not reload its configuration within 10s of pg_reload_conf()")
		}
		time.Sleep(2 * time.Millisecond)
	}
	matches := func(name string) (bool, error) {
		v, err := show(ctx, conn, name)
		if err != nil {
			return false, err
		}
		n, err := infos[name].normalize(v)
		return err == nil && n == normWant[name], nil
	}
	var restartNeeded []string
	for _, name := range names {
		ok, err := matches(name)
		if err != nil {
			return report, fmt.Errorf("containers: tune: SHOW %s: %v", name, err)
		}
		if !ok && infos[name].context == "postmaster" && infos[name].source != "command line" {
			restartNeeded = append(restartNeeded, name)
		}
	}

	if len(restartNeeded) > 0 && cfg.restart != nil {
		conn.Close(ctx)
		if err := cfg.restart(ctx); err != nil {
			return report, fmt.Errorf("containers: tune: restart for %s failed: %v", strings.Join(restartNeeded, ", "), err)
		}
		report.Restarted = true
		conn, err = waitForServer(ctx, connString, cfg.readyWait)
		if err != nil {
			return report, err
		}
	}

	// Verify with SHOW.
	after, err := readSettings(ctx, conn, names)
	if err != nil {
		return report, err
	}
	var failures []string
	for i, name := range names {
		r := &report.Settings[i]
		r.After, _ = show(ctx, conn, name)
		r.Source = after[name].source
		r.PendingRestart = after[name].pendingRestart
		ok, _ := matches(name)
		beforeNorm, _ := infos[name].normalize(r.Before)
		switch {
		case ok && beforeNorm == normWant[name]:
			r.Status = StatusUnchanged
		case ok && report.Restarted && infos[name].context == "postmaster":
			r.Status = StatusRestarted
		case ok:
			r.Status = StatusApplied
		case infos[name].source == "command line":
			r.Status = StatusRejected
			r.Problem = fmt.Sprintf("set to %s on the server's command line (postgres -c %s=...), which beats ALTER SYSTEM: change it there", r.After, name)
		case infos[name].context == "postmaster" && !report.Restarted:
			r.Status = StatusRestartNeeded
			r.Problem = "takes effect after a restart"
		default:
			r.Status = StatusNotApplied
			r.Problem = fmt.Sprintf("SHOW says %s (source: %s)%s", r.After, r.Source, sourceHint(r.Source))
		}
		if r.Problem != "" {
			failures = append(failures, fmt.Sprintf("%s = %s: %s", name, r.Want, r.Problem))
		}
	}
	if len(failures) == 0 {
		return report, nil
	}
	msg := "containers: tune: not every setting is in effect:\n  " + strings.Join(failures, "\n  ")
	if slices.ContainsFunc(report.Settings, func(r SettingResult) bool { return r.Status == StatusRestartNeeded }) {
		report.RestartCommand = cfg.restartHint
		if report.RestartCommand == "" {
			report.RestartCommand = genericRestartHint()
		}
		msg += "\nfix: restart the server (" + report.RestartCommand + "), then run Tune again to verify"
		return report, &restartError{msg: msg}
	}
	return report, errors.New(msg)
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

func readSettings(ctx context.Context, conn *pgx.Conn, names []string) (map[string]settingInfo, error) {
	rows, err := conn.Query(ctx, `SELECT name, setting, coalesce(unit, ''), vartype, context, source,
		min_val, max_val, coalesce(enumvals, '{}'), pending_restart
		FROM pg_settings WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("containers: tune: reading pg_settings: %v", err)
	}
	out := map[string]settingInfo{}
	for rows.Next() {
		var si settingInfo
		if err := rows.Scan(&si.name, &si.setting, &si.unit, &si.vartype, &si.context, &si.source,
			&si.minVal, &si.maxVal, &si.enumvals, &si.pendingRestart); err != nil {
			return nil, fmt.Errorf("containers: tune: reading pg_settings: %v", err)
		}
		out[si.name] = si
	}
	return out, rows.Err()
}

func allSettingNames(ctx context.Context, conn *pgx.Conn) []string {
	rows, err := conn.Query(ctx, "SELECT name FROM pg_settings")
	if err != nil {
		return nil
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	return names
}

func show(ctx context.Context, conn *pgx.Conn, name string) (string, error) {
	var v string
	err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// checkCombinations rejects settings that would keep the server from
// starting.
func checkCombinations(want Settings, infos map[string]settingInfo) []error {
	level, ok := want["wal_level"]
	if !ok || !strings.EqualFold(strings.TrimSpace(level), "minimal") {
		return nil
	}
	var problems []error
	effective := func(name string) string {
		if v, ok := want[name]; ok {
			return strings.TrimSpace(v)
		}
		return infos[name].setting
	}
	if senders := effective("max_wal_senders"); senders != "0" {
		problems = append(problems, fmt.Errorf("wal_level = minimal needs max_wal_senders = 0 (it would be %s), or the server refuses to start: add max_wal_senders = 0", senders))
	}
	if archive := effective("archive_mode"); archive != "" && archive != "off" {
		problems = append(problems, fmt.Errorf("wal_level = minimal needs archive_mode = off (it would be %s): add archive_mode = off", archive))
	}
	return problems
}

// checkPrivilege makes sure the role may ALTER SYSTEM each setting.
func checkPrivilege(ctx context.Context, conn *pgx.Conn, names []string) []error {
	var super bool
	var user string
	var version int
	err := conn.QueryRow(ctx, `SELECT rolsuper, current_user, current_setting('server_version_num')::int
		FROM pg_roles WHERE rolname = current_user`).Scan(&super, &user, &version)
	if err != nil {
		return []error{fmt.Errorf("reading the role's privileges: %v", err)}
	}
	if super {
		return nil
	}
	var denied []string
	var reload bool
	if err := conn.QueryRow(ctx, "SELECT has_function_privilege('pg_reload_conf()', 'EXECUTE')").Scan(&reload); err == nil && !reload {
		denied = append(denied, "(and may not call pg_reload_conf())")
	}
	if version >= 150000 {
		for _, name := range names {
			var ok bool
			if err := conn.QueryRow(ctx, "SELECT has_parameter_privilege($1, 'ALTER SYSTEM')", name).Scan(&ok); err != nil || !ok {
				denied = append(denied, name)
			}
		}
	} else {
		denied = names
	}
	if len(denied) == 0 {
		return nil
	}
	var params []string
	for _, d := range denied {
		if !strings.HasPrefix(d, "(") {
			params = append(params, d)
		}
	}
	what := "ALTER SYSTEM SET " + strings.Join(params, ", ")
	if len(params) == 0 {
		what = "call pg_reload_conf()"
	} else if !reload {
		what += " (nor call pg_reload_conf())"
	}
	return []error{fmt.Errorf("role %q may not %s: connect as a superuser (such as postgres)%s",
		user, what, grantHint(version, params, reload, user))}
}

func grantHint(version int, params []string, reload bool, user string) string {
	role := pgx.Identifier{user}.Sanitize()
	var grants []string
	if version >= 150000 && len(params) > 0 {
		grants = append(grants, fmt.Sprintf("GRANT ALTER SYSTEM ON PARAMETER %s TO %s", strings.Join(params, ", "), role))
	}
	if !reload {
		grants = append(grants, "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO "+role)
	}
	if len(grants) == 0 {
		return ""
	}
	return ", or have one run " + strings.Join(grants, "; ")
}

// readAutoConf returns the values postgresql.auto.conf held before, to
// restore them if applying fails halfway.
func readAutoConf(ctx context.Context, conn *pgx.Conn, names []string) map[string]string {
	rows, err := conn.Query(ctx, `SELECT name, setting FROM pg_file_settings
		WHERE sourcefile LIKE '%postgresql.auto.conf' AND name = ANY($1)`, names)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if rows.Scan(&n, &v) == nil {
			out[n] = v
		}
	}
	return out
}

func rollback(ctx context.Context, conn *pgx.Conn, applied []string, prior map[string]string) {
	for _, name := range applied {
		q := "ALTER SYSTEM RESET " + pgx.Identifier{name}.Sanitize()
		if v, ok := prior[name]; ok {
			q = fmt.Sprintf("ALTER SYSTEM SET %s = %s", pgx.Identifier{name}.Sanitize(), quoteLiteral(v))
		}
		_, _ = conn.Exec(ctx, q)
	}
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// waitForServer connects until the server accepts connections again.
func waitForServer(ctx context.Context, connString string, wait time.Duration) (*pgx.Conn, error) {
	t0 := time.Now()
	var last error
	for time.Since(t0) < wait {
		conn, err := connect(ctx, connString)
		if err == nil {
			return conn, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("containers: tune: the server did not come back within %v after the restart: %v", wait, last)
}
