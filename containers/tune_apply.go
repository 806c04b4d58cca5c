package containers

import (
	"context"
	"errors"
	"fmt"
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
