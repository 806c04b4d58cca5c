package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dbsuite/dbsuite/internal/dsn"
	"github.com/dbsuite/dbsuite/internal/suggest"
	"github.com/jackc/pgx/v5"
)

func connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t0 := time.Now()
	conn, err := pgx.Connect(cctx, connString)
	if err != nil {
		return nil, fail(err, fmt.Sprintf("Tune could not connect to %s after %v, want a server that accepts this role",
			dsn.Redact(connString), time.Since(t0).Round(time.Millisecond)), []string{err.Error()},
			"check that the server runs and accepts this role (pg_isready, and its log)")
	}
	return conn, nil
}

// tuning is one run of [Tune], phase by phase: checkSettings, apply,
// waitReload, restartIfNeeded, verify.
type tuning struct {
	connString string
	cfg        tuneOptions
	conn       *pgx.Conn

	want   Settings               // by lower-case name
	names  []string               // of want, sorted
	infos  map[string]settingInfo // pg_settings before, for want and what the checks read
	norm   map[string]string      // want, normalised as SHOW would print it
	report Report

	priorAuto map[string]string // postgresql.auto.conf's values before, for a rollback
	autoPath  string            // postgresql.auto.conf, when this process can read it
	autoConf  []byte            // its content before, to restore after a failed restart
	restarted []string          // settings the restart was for
}

func tune(ctx context.Context, connString string, settings Settings, cfg tuneOptions) (Report, error) {
	if len(settings) == 0 {
		return Report{}, nil
	}
	t := &tuning{connString: connString, cfg: cfg, want: Settings{}}
	for k, v := range settings {
		t.want[strings.ToLower(strings.TrimSpace(k))] = v
	}
	t.names = t.want.names()
	var err error
	if t.conn, err = connect(ctx, connString); err != nil {
		return t.report, err
	}
	defer func() { t.conn.Close(context.WithoutCancel(ctx)) }()
	for _, phase := range []func(context.Context) error{t.checkSettings, t.apply, t.waitReload, t.restartIfNeeded, t.verify} {
		if err := phase(ctx); err != nil {
			return t.report, err
		}
	}
	return t.report, nil
}

// checkSettings checks every setting before anything changes: known
// name, valid value, combinations the server can start with, privilege.
// It then records the values before.
func (t *tuning) checkSettings(ctx context.Context) error {
	infos, err := readSettings(ctx, t.conn, append(slices.Clone(t.names), combinationInputs...))
	if err != nil {
		return err
	}
	t.infos = infos
	var problems []error
	t.norm = map[string]string{}
	for _, name := range t.names {
		si, ok := infos[name]
		if !ok {
			msg := fmt.Sprintf("unknown setting %q", name)
			if s := suggest.Closest(name, allSettingNames(ctx, t.conn), 2); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			problems = append(problems, errors.New(msg))
			continue
		}
		n, err := si.normalize(t.want[name])
		if err != nil {
			problems = append(problems, fmt.Errorf("invalid value: %w", err))
			continue
		}
		t.norm[name] = n
	}
	problems = append(problems, checkCombinations(t.want, infos)...)
	if len(problems) == 0 {
		problems = append(problems, checkPrivilege(ctx, t.conn, t.names)...)
	}
	if len(problems) > 0 {
		return fail(errors.Join(append([]error{errBadSettings}, problems...)...), fmt.Sprintf("Tune changed nothing: %d of %d settings cannot be applied, want every one known, valid and allowed",
			len(problems), len(t.names)), texts(problems))
	}
	t.report.Settings = make([]SettingResult, len(t.names))
	for i, name := range t.names {
		r := &t.report.Settings[i]
		*r = SettingResult{Name: name, Want: t.want[name], Context: infos[name].context, Source: infos[name].source}
		r.Before, _ = show(ctx, t.conn, name)
	}
	t.priorAuto = readAutoConf(ctx, t.conn, t.names)
	t.autoPath, t.autoConf = readAutoConfFile(ctx, t.conn)
	return nil
}

// apply runs ALTER SYSTEM SET for each setting, restoring those already
// applied when one fails.
func (t *tuning) apply(ctx context.Context) error {
	var applied []string
	for _, name := range t.names {
		if t.infos[name].source == "command line" {
			continue // ALTER SYSTEM cannot beat it; verify reports it
		}
		q := fmt.Sprintf("ALTER SYSTEM SET %s = %s", pgx.Identifier{name}.Sanitize(), quoteLiteral(t.want[name]))
		if _, err := t.conn.Exec(ctx, q); err != nil {
			rollback(ctx, t.conn, applied, t.priorAuto)
			t.report.Settings = nil // nothing changed
			return fail(err, fmt.Sprintf("Tune: %s failed, want it applied", q),
				[]string{err.Error(), fmt.Sprintf("the %d settings applied before it were restored", len(applied))})
		}
		applied = append(applied, name)
	}
	return nil
}

// waitReload reloads the configuration and waits until this session has
// re-read it (pg_conf_load_time moves): the reload is asynchronous, and
// after it every value a reload can change is in effect.
func (t *tuning) waitReload(ctx context.Context) error {
	var loaded time.Time
	if err := t.conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&loaded); err != nil {
		return fail(err, "Tune: pg_conf_load_time() failed, want the time the configuration was loaded", []string{err.Error()})
	}
	if _, err := t.conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fail(err, "Tune: pg_reload_conf() failed, want the configuration reloaded", []string{err.Error()})
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var now time.Time
		if err := t.conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&now); err != nil {
			return fail(err, "Tune: pg_conf_load_time() failed, want the time the configuration was loaded", []string{err.Error()})
		}
		if now.After(loaded) {
			return nil
		}
		if time.Now().After(deadline) {
			return fail(nil, "Tune: the server did not reload its configuration within 10s of pg_reload_conf(), want it reloaded", nil,
				"look at the server's log for a configuration error")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// matches reports whether SHOW name gives the value asked for.
func (t *tuning) matches(ctx context.Context, name string) (bool, error) {
	v, err := show(ctx, t.conn, name)
	if err != nil {
		return false, fail(err, fmt.Sprintf("Tune: SHOW %s failed, want its value", name), []string{err.Error()})
	}
	n, err := t.infos[name].normalize(v)
	return err == nil && n == t.norm[name], nil
}

// restartIfNeeded restarts the server with [WithRestart] when a setting
// that needs a restart is not in effect yet. When the server does not
// come back, it restores postgresql.auto.conf as it was, restarts again,
// and reports the server's FATAL line.
func (t *tuning) restartIfNeeded(ctx context.Context) error {
	if t.cfg.restart == nil {
		return nil
	}
	for _, name := range t.names {
		ok, err := t.matches(ctx, name)
		if err != nil {
			return err
		}
		if !ok && t.infos[name].context == "postmaster" && t.infos[name].source != "command line" {
			t.restarted = append(t.restarted, name)
		}
	}
	if len(t.restarted) == 0 {
		return nil
	}
	t.conn.Close(ctx)
	conn, err := t.restart(ctx)
	if err == nil {
		t.conn = conn
		t.report.Restarted = true
		return nil
	}
	what := strings.Join(t.restarted, ", ")
	details := []string{"restart: " + firstLine(err.Error())}
	if fatal := fatalLine(err.Error()); fatal != "" {
		details = append(details, "the server said: "+fatal)
	}
	if now, rerr := os.ReadFile(t.autoPath); t.autoConf == nil || rerr != nil || bytes.Equal(now, t.autoConf) {
		// Not the server's file after all (ALTER SYSTEM did not change it).
		return fail(err, fmt.Sprintf("Tune: the server did not come back after the restart for %s, want it running with the new values", what),
			append(details, "the new values are in postgresql.auto.conf, which this process cannot reach to restore"),
			fmt.Sprintf("remove %s from the data directory's postgresql.auto.conf and start the server again", what))
	}
	if werr := os.WriteFile(t.autoPath, t.autoConf, 0o600); werr != nil {
		return fail(err, fmt.Sprintf("Tune: the server did not come back after the restart for %s, and restoring %s failed, want it running", what, t.autoPath),
			append(details, "restore: "+werr.Error()),
			fmt.Sprintf("remove %s from %s and start the server again", what, t.autoPath))
	}
	conn, rerr := t.restart(ctx)
	if rerr != nil {
		return fail(err, fmt.Sprintf("Tune: the server did not come back after the restart for %s, nor after restoring the previous values, want it running", what),
			append(details, "second restart: "+firstLine(rerr.Error())), "look at the server's log")
	}
	conn.Close(ctx)
	return fail(err, fmt.Sprintf("Tune: the server refused to start with %s, want it running with the new values: the previous values were restored and the server runs with them", what),
		details, "change or drop the values the server refused, as its FATAL line says")
}

// restart runs the restart hook and waits until the server accepts
// connections again.
func (t *tuning) restart(ctx context.Context) (*pgx.Conn, error) {
	if err := t.cfg.restart(ctx); err != nil {
		return nil, err
	}
	return waitForServer(ctx, t.connString, t.cfg.readyWait)
}

// verify reads every value back with SHOW and pg_settings and fills in
// the report; a setting not in effect is an error that says why.
func (t *tuning) verify(ctx context.Context) error {
	after, err := readSettings(ctx, t.conn, t.names)
	if err != nil {
		return err
	}
	var failures []string
	for i, name := range t.names {
		r := &t.report.Settings[i]
		r.After, _ = show(ctx, t.conn, name)
		r.Source = after[name].source
		r.PendingRestart = after[name].pendingRestart
		ok, _ := t.matches(ctx, name)
		beforeNorm, _ := t.infos[name].normalize(r.Before)
		switch {
		case ok && beforeNorm == t.norm[name]:
			r.Status = StatusUnchanged
		case ok && t.report.Restarted && t.infos[name].context == "postmaster":
			r.Status = StatusRestarted
		case ok:
			r.Status = StatusApplied
		case t.infos[name].source == "command line":
			r.Status = StatusRejected
			r.Problem = fmt.Sprintf("set to %s on the server's command line (postgres -c %s=...), which beats ALTER SYSTEM: change it there", quoteLiteral(r.After), name)
		case t.infos[name].context == "postmaster" && !t.report.Restarted:
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
		return nil
	}
	headline := fmt.Sprintf("Tune: %d of %d settings not in effect, want every one shown by SHOW", len(failures), len(t.names))
	if !slices.ContainsFunc(t.report.Settings, func(r SettingResult) bool { return r.Status == StatusRestartNeeded }) {
		return fail(nil, headline, failures)
	}
	t.report.RestartCommand = t.cfg.restartHint
	if t.report.RestartCommand == "" {
		t.report.RestartCommand = genericRestartHint()
	}
	return fail(ErrRestartRequired, headline, failures,
		"restart the server ("+t.report.RestartCommand+"), then run Tune again to verify")
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimPrefix(first, "containers: ")
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

// readAutoConfFile returns the path and content of the server's
// postgresql.auto.conf when this process can read it (the server runs on
// this machine, as dbsuite's own do), else "", nil.
func readAutoConfFile(ctx context.Context, conn *pgx.Conn) (string, []byte) {
	var dir string
	if err := conn.QueryRow(ctx, "SELECT current_setting('data_directory')").Scan(&dir); err != nil {
		return "", nil
	}
	path := filepath.Join(dir, "postgresql.auto.conf")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil
	}
	return path, b
}
