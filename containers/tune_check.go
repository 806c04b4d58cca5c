package containers

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

func readSettings(ctx context.Context, conn *pgx.Conn, names []string) (map[string]settingInfo, error) {
	// Names are matched in lower case: pg_settings spells some in mixed
	// case (TimeZone, DateStyle).
	rows, err := conn.Query(ctx, `SELECT lower(name), setting, coalesce(unit, ''), vartype, context, source,
		min_val, max_val, coalesce(enumvals, '{}'), pending_restart
		FROM pg_settings WHERE lower(name) = ANY($1)`, names)
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

// combinationInputs are the settings checkCombinations reads, asked for
// or not: a value already in effect counts as much as one asked for.
var combinationInputs = []string{"wal_level", "max_wal_senders", "archive_mode"}

// checkCombinations rejects settings that would keep the server from
// starting, counting the values in effect for those not asked for:
// wal_level = minimal with max_wal_senders > 0, or with archive_mode on
// (FATAL: WAL archival cannot be enabled when wal_level is "minimal").
func checkCombinations(want Settings, infos map[string]settingInfo) []error {
	effective := func(name string) (string, bool) {
		if v, ok := want[name]; ok {
			return strings.ToLower(strings.TrimSpace(v)), true
		}
		return strings.ToLower(infos[name].setting), false
	}
	level, levelAsked := effective("wal_level")
	if level != "minimal" {
		return nil
	}
	var problems []error
	senders, sendersAsked := effective("max_wal_senders")
	if senders != "0" && senders != "" && (levelAsked || sendersAsked) {
		problems = append(problems, fmt.Errorf("wal_level = minimal needs max_wal_senders = 0 (it would be %s), or the server refuses to start: add max_wal_senders = 0", senders))
	}
	archive, archiveAsked := effective("archive_mode")
	if on, known := parseBool(archive); (archive == "always" || known && on) && (levelAsked || archiveAsked) {
		problems = append(problems, fmt.Errorf("wal_level = minimal needs archive_mode = off (it would be %s), or the server refuses to start: add archive_mode = off", archive))
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
