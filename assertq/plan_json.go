// plan_json.go holds the JSON plan types and reading them: plan nodes, table sizes and their lookup queries.

package assertq

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// explained is the plan of one statement shape with the sizes of the tables it reads.
type explained struct {
	roots  []*planNode
	tables map[string]*tableInfo // "schema.table"
	err    error
}

// planNode is one node of EXPLAIN (FORMAT JSON) output: the keys plan checks read.
type planNode struct {
	NodeType     string      `json:"Node Type"`
	JoinType     string      `json:"Join Type"`
	InnerUnique  *bool       `json:"Inner Unique"`
	PlanRows     float64     `json:"Plan Rows"`
	Relation     string      `json:"Relation Name"`
	Schema       string      `json:"Schema"`
	Alias        string      `json:"Alias"`
	Parent       string      `json:"Parent Relationship"`
	SubplanName  string      `json:"Subplan Name"`
	HashCond     string      `json:"Hash Cond"`
	MergeCond    string      `json:"Merge Cond"`
	JoinFilter   string      `json:"Join Filter"`
	IndexCond    string      `json:"Index Cond"`
	RecheckCond  string      `json:"Recheck Cond"`
	Filter       string      `json:"Filter"`
	IndexName    string      `json:"Index Name"`
	ActualRows   float64     `json:"Actual Rows"`
	ActualLoops  float64     `json:"Actual Loops"`
	RowsRemoved  float64     `json:"Rows Removed by Filter"`
	JoinRemoved  float64     `json:"Rows Removed by Join Filter"`
	Plans        []*planNode `json:"Plans"`
	relationInfo *tableInfo
}

// tableInfo is what pg_class and pg_stat_user_tables say about one table a plan reads.
type tableInfo struct {
	Schema   string   `json:"schema"`
	Name     string   `json:"name"`
	Rows     float64  `json:"rows"` // pg_class.reltuples: -1 when never analyzed (PostgreSQL 14+)
	Pages    float64  `json:"pages"`
	NowPages float64  `json:"now_pages"`
	Analyzed bool     `json:"analyzed"`
	Mods     float64  `json:"mods"`    // changed since the last ANALYZE, this transaction's changes included
	Indexes  []string `json:"indexes"` // pg_get_indexdef of each index
}

func (t *tableInfo) qualified() string { return t.Schema + "." + t.Name }

// parsePlan reads EXPLAIN (FORMAT JSON) output: the statement's plan, its InitPlans and SubPlans inside it.
func parsePlan(raw string) ([]*planNode, error) {
	var out []struct {
		Plan *planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		// not the driver's fault to show a Go type: say what came back
		return nil, fmt.Errorf("the EXPLAIN returned no JSON plan but %q", clip(raw, 80))
	}
	var roots []*planNode
	for _, o := range out {
		if o.Plan != nil {
			roots = append(roots, o.Plan)
		}
	}
	if len(roots) == 0 {
		return nil, errors.New("EXPLAIN (FORMAT JSON) returned no plan")
	}
	return roots, nil
}

// walk calls fn on every node of the plan, parents first.
func walk(n *planNode, fn func(*planNode)) {
	fn(n)
	for _, c := range n.Plans {
		walk(c, fn)
	}
}

// tablesQuery reads sizes and staleness of the tables a plan reads. %s is a VALUES list of (schema, table) made by
// tableValue. It calls the statistics functions rather than the pg_stat views, which cost milliseconds to plan;
// the current transaction's own changes count too. The session's temporary tables are named as EXPLAIN (VERBOSE)
// names them: schema "pg_temp" (their namespace is pg_temp_N).
const tablesQuery = `SELECT coalesce(json_agg(json_build_object(
	'schema', CASE WHEN c.relnamespace = pg_my_temp_schema() THEN 'pg_temp' ELSE n.nspname END, 'name', c.relname, 'rows', c.reltuples, 'pages', c.relpages,
	'now_pages', pg_relation_size(c.oid) / current_setting('block_size')::int,
	'analyzed', pg_stat_get_last_analyze_time(c.oid) IS NOT NULL OR pg_stat_get_last_autoanalyze_time(c.oid) IS NOT NULL,
	'mods', pg_stat_get_mod_since_analyze(c.oid) + pg_stat_get_xact_tuples_inserted(c.oid)
		+ pg_stat_get_xact_tuples_updated(c.oid) + pg_stat_get_xact_tuples_deleted(c.oid),
	'indexes', (SELECT json_agg(pg_get_indexdef(i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.oid)
)), '[]')::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (n.nspname, c.relname) IN (VALUES %s)`

// statsQuery tells, of tables the statistics collector has never seen analyzed, those that have planner
// statistics all the same: a clone of an analyzed template database. %s is a VALUES list of (schema, table).
const statsQuery = `SELECT coalesce(json_agg(DISTINCT CASE WHEN schemaname = ` + tempSchema + ` THEN 'pg_temp' ELSE schemaname END
	|| '.' || tablename), '[]')::text
FROM pg_stats WHERE (schemaname, tablename) IN (VALUES %s)`

// tempSchema is the name of the session's own temporary namespace (pg_temp_N), NULL when it has none.
const tempSchema = `(SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema())`

// tableValue is one row of the VALUES list of tablesQuery and statsQuery: a table as EXPLAIN (VERBOSE) names it.
// EXPLAIN names a temporary table's schema "pg_temp", which pg_temp_N of this session stands for: the lookup runs
// in the session that explained.
func tableValue(schema, name string) string {
	if schema == "pg_temp" {
		return "(" + tempSchema + ", " + quoteLiteral(name) + ")"
	}
	return "(" + quoteLiteral(schema) + ", " + quoteLiteral(name) + ")"
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent quotes s as an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
