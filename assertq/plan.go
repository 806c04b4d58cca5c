package assertq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sqllexer "github.com/DataDog/go-sqllexer"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// planState is what a Recorder keeps for plan checks.
type planState struct {
	sources map[any]*planSource // by entry.src; guarded by Recorder.mu

	mu       sync.Mutex
	plans    map[planKey]*explained    // per database and fingerprint
	analyzed map[string]float64        // database + table -> changes counted when assertq ran ANALYZE on it
	verdicts map[planKey]*shapeVerdict // Preflight: the plan checks' verdict on each statement shape
}

type planKey struct{ db, fp string }

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

// explainable reports whether plan checks can EXPLAIN q: SELECT, INSERT, UPDATE and DELETE (and WITH ...), not
// COPY.
func explainable(q *Query) bool {
	switch q.Kind {
	case Select, Insert, Update, Delete:
		return !strings.EqualFold(firstWord(q.SQL), "COPY") && !multiStatement(q.SQL)
	}
	return false
}

// multiStatement reports whether sql holds more than one statement (EXPLAIN takes one).
func multiStatement(sql string) bool {
	if !strings.Contains(sql, ";") {
		return false
	}
	lx := sqllexer.New(sql, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
	semi := false
	for {
		t := lx.Scan()
		switch t.Type {
		case sqllexer.EOF, sqllexer.ERROR:
			return false
		case sqllexer.SPACE, sqllexer.COMMENT, sqllexer.MULTILINE_COMMENT:
			continue
		}
		if semi {
			return true
		}
		semi = t.Value == ";"
	}
}

func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t\r\n(")
	if i := strings.IndexAny(s, " \t\r\n("); i >= 0 {
		return s[:i]
	}
	return s
}

// planFor returns q's plan: cached per database and fingerprint, after ANALYZE of the tables it reads that were
// never analyzed or changed much since.
func (r *Recorder) planFor(ctx context.Context, ss *sessions, q *Query, analyze bool) (*explained, error) {
	src := q.plan
	key := planKey{src.database(), q.Fingerprint}
	r.plans.mu.Lock()
	defer r.plans.mu.Unlock()
	if p, ok := r.plans.plans[key]; ok {
		return p, p.err
	}
	p := r.explainOn(ctx, ss, src, q, analyze)
	if r.plans.plans == nil {
		r.plans.plans = map[planKey]*explained{}
	}
	r.plans.plans[key] = p
	return p, p.err
}

func (r *Recorder) explainOn(ctx context.Context, ss *sessions, src *planSource, q *Query, analyze bool) *explained {
	if src.onSQLMock() {
		// no EXPLAIN: go-sqlmock would answer it with (and use up) an expectation of the test's
		return &explained{err: errors.New("the statement ran on go-sqlmock, which has no planner: no EXPLAIN was sent to it")}
	}
	sess, err := ss.open(ctx, src)
	if err != nil {
		return &explained{err: err}
	}
	var p *explained
	err = guarded(ctx, sess, func() error {
		p = r.explainAnalyzed(ctx, sess, src, q, analyze)
		return p.err
	})
	if p == nil {
		p = &explained{err: err}
	}
	return p
}

// guarded runs fn in a savepoint when sess is the code's own session inside its transaction, so that a failed
// EXPLAIN leaves the code's transaction usable.
func guarded(ctx context.Context, sess session, fn func() error) error {
	if !sess.inTx() {
		return fn()
	}
	if err := sess.exec(ctx, "SAVEPOINT assertq_plan"); err != nil {
		return fmt.Errorf("cannot set a savepoint in the code's transaction: %w", err)
	}
	if err := fn(); err != nil {
		_ = sess.exec(ctx, "ROLLBACK TO SAVEPOINT assertq_plan")
		_ = sess.exec(ctx, "RELEASE SAVEPOINT assertq_plan")
		return err
	}
	return sess.exec(ctx, "RELEASE SAVEPOINT assertq_plan")
}

func (r *Recorder) explainAnalyzed(ctx context.Context, sess session, src *planSource, q *Query, analyze bool) *explained {
	p, err := explainWith(ctx, sess, q)
	if err != nil {
		return &explained{err: explainError(src, sess, err)}
	}
	if !analyze {
		return p
	}
	stale := r.stale(src, p.tables)
	if len(stale) == 0 {
		return p
	}
	for _, t := range stale {
		if err := sess.exec(ctx, "ANALYZE "+quoteIdent(t.info.Schema)+"."+quoteIdent(t.info.Name)); err != nil {
			return &explained{err: fmt.Errorf("ANALYZE %s before trusting the plan's estimates: %w", t.info.qualified(), err)}
		}
		r.plans.analyzed[src.database()+"\x00"+t.info.qualified()] = t.info.Mods
		if r.tb != nil {
			r.tb.Logf("assertq: ANALYZE %s (%s): plan checks need fresh planner statistics", t.info.qualified(), t.why)
		}
	}
	if p, err = explainWith(ctx, sess, q); err != nil {
		return &explained{err: explainError(src, sess, err)}
	}
	return p
}

// explainWith runs EXPLAIN (FORMAT JSON, VERBOSE) of q with its own arguments and reads the tables it names.
func explainWith(ctx context.Context, sess session, q *Query) (*explained, error) {
	raw, err := sess.text(ctx, "EXPLAIN (FORMAT JSON, VERBOSE) "+q.SQL, q.Args)
	if err != nil {
		return nil, fmt.Errorf("EXPLAIN failed: %w", err)
	}
	roots, err := parsePlan(raw)
	if err != nil {
		return nil, err
	}
	p := &explained{roots: roots, tables: map[string]*tableInfo{}}
	var values []string
	seen := map[string]bool{}
	for _, root := range roots {
		walk(root, func(n *planNode) {
			if n.Relation == "" || n.Schema == "" {
				return
			}
			k := n.Schema + "." + n.Relation
			if !seen[k] {
				seen[k] = true
				values = append(values, tableValue(n.Schema, n.Relation))
			}
		})
	}
	if len(values) > 0 {
		raw, err := sess.text(ctx, fmt.Sprintf(tablesQuery, strings.Join(values, ", ")), nil)
		if err != nil {
			return nil, fmt.Errorf("reading the sizes of the tables the plan reads: %w", err)
		}
		var infos []*tableInfo
		if err := json.Unmarshal([]byte(raw), &infos); err != nil {
			return nil, fmt.Errorf("reading the sizes of the tables the plan reads: %w", err)
		}
		var unseen []string
		for _, t := range infos {
			p.tables[t.qualified()] = t
			if !t.Analyzed {
				unseen = append(unseen, tableValue(t.Schema, t.Name))
			}
		}
		if len(unseen) > 0 {
			raw, err := sess.text(ctx, fmt.Sprintf(statsQuery, strings.Join(unseen, ", ")), nil)
			if err != nil {
				return nil, fmt.Errorf("reading which tables have planner statistics: %w", err)
			}
			var have []string
			if err := json.Unmarshal([]byte(raw), &have); err != nil {
				return nil, fmt.Errorf("reading which tables have planner statistics: %w", err)
			}
			for _, k := range have {
				if t := p.tables[k]; t != nil {
					t.Analyzed = true
				}
			}
		}
	}
	var missing []string
	for _, root := range roots {
		walk(root, func(n *planNode) {
			if n.Relation == "" {
				return
			}
			k := n.Schema + "." + n.Relation
			if n.relationInfo = p.tables[k]; n.relationInfo == nil && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		})
	}
	if len(missing) > 0 {
		// never judge a plan without its tables' sizes: a join over them would be skipped without a word
		return nil, fmt.Errorf("the plan reads %s, which the catalog of the session that explained it does not list (pg_class), so its size is unknown",
			strings.Join(missing, ", "))
	}
	return p, nil
}

// explainError says why no plan could be had.
func explainError(src *planSource, sess session, err error) error {
	switch {
	case src.inTx && !sess.own() && isPgError(err, "42P01", "42703", "42883"):
		return fmt.Errorf("the statement ran in a transaction that ended before the check, and a side connection cannot see what it created (%w)", err)
	case !sess.own() && isPgError(err, "42P01"):
		return fmt.Errorf("a side connection explained it, and a table it reads is not there: %w (%w)", errSideTemp, err)
	}
	return err
}

// errSideTemp is why a side connection may not find a table the code's statement read.
var errSideTemp = errors.New("temporary tables live only in the code's session")

// onSQLMock reports whether the source's connection is go-sqlmock's.
func (src *planSource) onSQLMock() bool {
	return src.sql != nil && strings.Contains(fmt.Sprintf("%T", src.sql.Conn), "sqlmock")
}

type staleTable struct {
	info *tableInfo
	why  string
}

// stale returns the tables to ANALYZE: never analyzed, changed by more than autovacuum's threshold (50 rows + 10%)
// since, or grown to more than twice the pages the statistics saw; each once per change. r.plans.mu is held.
func (r *Recorder) stale(src *planSource, tables map[string]*tableInfo) []staleTable {
	if r.plans.analyzed == nil {
		r.plans.analyzed = map[string]float64{}
	}
	var out []staleTable
	names := make([]string, 0, len(tables))
	for k := range tables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t := tables[k]
		mods := t.Mods
		prev, done := r.plans.analyzed[src.database()+"\x00"+k]
		if done && mods >= prev {
			mods -= prev // counted again until the statistics collector hears of our ANALYZE
		}
		threshold := 50 + 0.1*math.Max(t.Rows, 0)
		switch {
		case !t.Analyzed && !done:
			out = append(out, staleTable{t, "never analyzed"})
		case mods > threshold:
			out = append(out, staleTable{t, fmt.Sprintf("%s rows changed since its last ANALYZE", count(mods))})
		case t.NowPages > 2*t.Pages+8:
			out = append(out, staleTable{t, fmt.Sprintf("grew from %s to %s pages since its last ANALYZE", count(t.Pages), count(t.NowPages))})
		}
	}
	return out
}

// count formats a row count with thousands separators: 25,000,000.
func count(f float64) string {
	s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

type planConfig struct {
	factor    float64
	minRows   float64
	maxItems  int
	maxParams int
	only      []Filter
	opts      []string // the options as written, for String
}

// planOption returns an Option of the plan checks.
func planOption(name string, set func(*planConfig)) Option {
	return &option{name: name, where: forPlan, set: func(o *options) { set(&o.plan) }}
}

// Factor sets how many times the largest table under a join its estimated rows may be before [NoRowExplosion]
// flags it. Default: 10.
func Factor(f float64) Option {
	return planOption(fmt.Sprintf("Factor(%g)", f), func(c *planConfig) { c.factor = f })
}

// MinRows sets the row floor of a plan check: [NoRowExplosion] flags no join estimated below it (default 10,000,
// so that a tiny legitimate cross join passes); [NoSeqScan] flags no sequential scan of a table with fewer rows
// (default 10,000).
func MinRows(n float64) Option {
	return planOption(fmt.Sprintf("MinRows(%g)", n), func(c *planConfig) { c.minRows = n })
}

// MaxItems sets how many items an IN (...) list, an array argument (= ANY($1)) or a VALUES list may hold before
// [NoLongLists] flags it. Default: 1,000.
func MaxItems(n int) Option {
	return planOption(fmt.Sprintf("MaxItems(%d)", n), func(c *planConfig) { c.maxItems = n })
}

// MaxParams sets how many bind parameters one statement may have before [NoLongLists] flags it. Default: 10,000
// (PostgreSQL refuses more than 65,535).
func MaxParams(n int) Option {
	return planOption(fmt.Sprintf("MaxParams(%d)", n), func(c *planConfig) { c.maxParams = n })
}

// Only limits a plan check to the statements every filter selects (several kinds: any of them):
// NoSeqScan(Only(Delete, Table("deliveries"))).
func Only(filters ...Filter) Option {
	codes := make([]string, len(filters))
	for i, f := range filters {
		codes[i] = f.code()
	}
	return planOption("Only("+strings.Join(codes, ", ")+")", func(c *planConfig) { c.only = filters })
}

// newPlanConfig applies opts to the defaults. An option of New or ExpectScaling given to a plan check is a
// mistake in the test, found where the check is written: it panics, naming the option.
func newPlanConfig(opts []Option) planConfig {
	o := options{plan: planConfig{factor: 10, minRows: 10_000, maxItems: 1_000, maxParams: 10_000}}
	if err := o.apply(opts, forPlan); err != nil {
		panic(err.Error())
	}
	return o.plan
}

func (c planConfig) name(check string) string { return check + "(" + strings.Join(c.opts, ", ") + ")" }

// planCheck is a Check that reads each statement shape's plan.
type planCheck interface {
	Check
	config() planConfig
	judge(q *Query, p *explained) []error
}

// checkPlans explains each statement shape of qs once and hands its plan to c. A statement with no plan is a
// violation that says why; a statement that failed when it ran and cannot be explained either is left out.
func checkPlans(qs Queries, c planCheck) error {
	cfg := c.config()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var ss sessions
	defer ss.close()
	var errs []error
	seen := map[planKey]bool{}
	for i := range qs {
		q := &qs[i]
		if !explainable(q) || !matchAll(q, cfg.only) {
			continue
		}
		if q.plan == nil {
			k := planKey{"", q.Fingerprint}
			if !seen[k] {
				seen[k] = true
				errs = append(errs, noPlan(c, q, errors.New("the query was not recorded by a Recorder that knows its connection (built by hand, or copied from another run)")))
			}
			continue
		}
		k := planKey{q.plan.database(), q.Fingerprint}
		if seen[k] {
			continue
		}
		seen[k] = true
		p, err := q.plan.rec.planFor(ctx, &ss, q, true)
		if err != nil {
			if q.Err != nil && !errors.Is(err, ErrPreflight) && !errors.Is(q.Err, ErrPreflight) {
				continue // it failed when it ran: nothing ran to check
			}
			errs = append(errs, noPlan(c, q, err))
			continue
		}
		errs = append(errs, c.judge(q, p)...)
	}
	return errors.Join(errs...)
}

// noPlan is the violation of a statement that could not be explained.
func noPlan(c Check, q *Query, err error) error {
	fix := "plan checks need the PostgreSQL the statement ran on: run this test on a real database (containers.Postgres(t).Database(t)), or leave " + c.String() + " out of it"
	if errors.Is(err, errSideTemp) {
		fix = "plan checks explain in the code's session only inside its open transaction: run the statements over temporary tables in a transaction still open when the check runs, or check them with assertq.Preflight, which explains before each statement in its own session"
	}
	return &failure.Error{
		Pkg:      "assertq",
		Headline: "no plan for a statement, want its plan checked by " + c.String(),
		Details:  []string{"why: " + err.Error(), statementLine(q)},
		Fixes:    []string{fix},
		Err:      err,
	}
}

// statementLine shows a statement and where it was called in a detail.
func statementLine(q *Query) string {
	site := q.Caller.String()
	if q.Caller == (Frame{}) {
		site = "call site unknown"
	}
	return "statement: " + clip(q.Fingerprint, maxFingerprint) + "\n  at " + site
}

type rowExplosion struct{ cfg planConfig }

// NoRowExplosion checks the plan of each statement shape (EXPLAIN, the statement does not run again) for a join
// whose estimated rows are far above the rows of every table under it: two to-many joins from one parent (every
// employee of a store meets every product of that store), a self-join on a column that is not unique, a join with
// no condition. The rule compares a join node's estimated rows with the largest pg_class.reltuples of the base
// tables below it (not with its children's rows, which for a nested loop are per loop); it skips semi and anti
// joins and the inner and left joins the planner proves unique. A join is flagged at [Factor] (10) times the
// largest table and [MinRows] (10,000) rows. Tables never analyzed, or changed much since, are analyzed first
// (logged with t.Logf). A statement with no plan (go-sqlmock, a Query built by hand) is a violation that says why.
//
// Use it with [Verify] and [Expect] like any check, or with [Preflight] to stop the statement before it runs.
func NoRowExplosion(opts ...Option) Check { return rowExplosion{newPlanConfig(opts)} }

func (c rowExplosion) String() string         { return c.cfg.name("NoRowExplosion") }
func (c rowExplosion) config() planConfig     { return c.cfg }
func (c rowExplosion) check(qs Queries) error { return checkPlans(qs, c) }

// explosion is one join node that multiplies rows.
type explosion struct {
	node         *planNode
	base         float64
	outer, inner []*planNode // the scans on each side
}

func (e explosion) ratio() float64 { return e.node.PlanRows / math.Max(e.base, 1) }

// judge reports one violation per statement: the flagged join with the most rows, and the others it flagged.
func (c rowExplosion) judge(q *Query, p *explained) []error {
	var all []explosion
	for _, root := range p.roots {
		all = append(all, explosions(root, c.cfg)...)
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].node.PlanRows > all[j].node.PlanRows })
	return []error{explosionError(c, q, all[0], all[1:])}
}

// explosions returns the joins of the tree that the rule flags, outermost first.
func explosions(root *planNode, cfg planConfig) []explosion {
	var out []explosion
	walk(root, func(n *planNode) {
		if !isJoin(n) || skipJoin(n) {
			return
		}
		base := baseRows(n)
		if n.PlanRows < cfg.minRows || n.PlanRows < cfg.factor*math.Max(base, 1) {
			return
		}
		x := explosion{node: n, base: base}
		if len(n.Plans) > 0 {
			x.outer = scans(n.Plans[0])
		}
		if len(n.Plans) > 1 {
			x.inner = scans(n.Plans[1])
		}
		out = append(out, x)
	})
	return out
}

func isJoin(n *planNode) bool {
	switch n.NodeType {
	case "Nested Loop", "Hash Join", "Merge Join":
		return true
	}
	return false
}

// skipJoin: semi and anti joins return at most their outer rows; an inner or left join with a unique inner side
// (the planner proved it) cannot multiply its outer rows.
func skipJoin(n *planNode) bool {
	switch n.JoinType {
	case "Semi", "Anti", "Right Semi", "Right Anti":
		return true
	case "Inner", "Left":
		return n.InnerUnique != nil && *n.InnerUnique
	}
	return false
}

// detached: InitPlans and SubPlans are plans of their own, judged on their own.
func detached(n *planNode) bool { return n.Parent == "InitPlan" || n.Parent == "SubPlan" }

// baseRows is the largest base table under n: reltuples of each scanned table, the estimated rows of other leaves
// (functions, VALUES, CTE scans).
func baseRows(n *planNode) float64 {
	best := 0.0
	for _, s := range scans(n) {
		best = math.Max(best, leafRows(s))
	}
	return best
}

func leafRows(n *planNode) float64 {
	if n.relationInfo != nil && n.relationInfo.Rows >= 0 {
		return n.relationInfo.Rows
	}
	return n.PlanRows
}

// scans returns the leaves under n: nodes that read a table, and nodes with no children; not InitPlans or SubPlans.
func scans(n *planNode) []*planNode {
	if n.Relation != "" || len(n.Plans) == 0 {
		return []*planNode{n}
	}
	var out []*planNode
	for _, c := range n.Plans {
		if !detached(c) {
			out = append(out, scans(c)...)
		}
	}
	return out
}

// joinName is how EXPLAIN's text format names a join: "Nested Loop Left Join", "Hash Join".
func joinName(n *planNode) string {
	if n.JoinType == "" || n.JoinType == "Inner" {
		if n.NodeType == "Nested Loop" {
			return n.NodeType
		}
		return n.NodeType
	}
	return strings.TrimSuffix(n.NodeType, " Join") + " " + n.JoinType + " Join"
}

// joinCondition is the join's condition, or the inner side's index condition for a parameterised nested loop;
// "" when there is none.
func joinCondition(n *planNode) string {
	for _, c := range []string{n.HashCond, n.MergeCond, n.JoinFilter} {
		if c != "" {
			return c
		}
	}
	if n.NodeType == "Nested Loop" && len(n.Plans) > 1 {
		cond := ""
		walk(n.Plans[1], func(m *planNode) {
			if cond == "" {
				cond = m.IndexCond
				if cond == "" {
					cond = m.RecheckCond
				}
			}
		})
		return cond
	}
	return ""
}

// describeScans lists the tables on one side of a join with their sizes: "stores s (2 rows), employees e (10,000 rows)".
func describeScans(ns []*planNode) string {
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		name := n.Relation
		if name == "" {
			name = strings.ToLower(n.NodeType)
		}
		if n.Alias != "" && n.Alias != n.Relation {
			name += " " + n.Alias
		}
		parts = append(parts, fmt.Sprintf("%s (%s rows)", name, count(leafRows(n))))
	}
	return strings.Join(parts, ", ")
}

// describeJoin is a join's line in a message: "Hash Join on (a = b): 80,000 estimated rows, 20× ...".
func describeJoin(x explosion) string {
	n := x.node
	condText := "on " + joinCondition(n)
	if joinCondition(n) == "" {
		condText = "with no join condition"
	}
	return fmt.Sprintf("%s %s: %s estimated rows, %s× the largest table under it (%s rows)",
		joinName(n), condText, count(n.PlanRows), ratioText(x.ratio()), count(x.base))
}

func explosionError(c rowExplosion, q *Query, x explosion, others []explosion) error {
	n := x.node
	cond := joinCondition(n)
	details := []string{
		describeJoin(x),
		"  outer side: " + describeScans(x.outer),
		"  inner side: " + describeScans(x.inner),
	}
	for _, o := range others {
		details = append(details, "also flagged, under or beside it: "+describeJoin(o))
	}
	details = append(details, statementLine(q))
	var fix string
	switch {
	case cond == "":
		fix = "add the missing join condition; if every pair is really wanted, expect the product of both sides"
	case selfJoin(x):
		fix = "a self-join on a column that is not unique pairs every row with every row of its group: join on a unique key, or aggregate the group first"
	default:
		fix = "the two sides are both to-many on the join key, so their rows multiply: aggregate each to-many side in its own subquery or CTE before joining (" +
			preAggregate(x, cond) + "), or use one correlated subquery per count"
	}
	return &failure.Error{
		Pkg: "assertq",
		Headline: fmt.Sprintf("row explosion: a join estimated at %s rows over tables of at most %s rows, want under %g× the largest table",
			count(n.PlanRows), count(x.base), c.cfg.factor),
		Details: details,
		Fixes:   []string{fix},
	}
}

// preAggregate sketches the fix for the join's largest inner table: "JOIN (SELECT store_id, count(*) FROM products
// GROUP BY store_id) p ON ...".
func preAggregate(x explosion, cond string) string {
	var big *planNode
	for _, n := range x.inner {
		if n.Relation != "" && (big == nil || leafRows(n) > leafRows(big)) {
			big = n
		}
	}
	col := ""
	if big != nil {
		alias := big.Alias
		if alias == "" {
			alias = big.Relation
		}
		if m := regexp.MustCompile(`\b` + regexp.QuoteMeta(alias) + `\.(\w+)`).FindStringSubmatch(cond); m != nil {
			col = m[1]
		}
	}
	if col == "" {
		return "JOIN (SELECT parent_id, count(*) FROM children GROUP BY parent_id) c ON c.parent_id = p.id"
	}
	alias := big.Alias
	if alias == "" {
		alias = big.Relation
	}
	return fmt.Sprintf("JOIN (SELECT %[1]s, count(*) FROM %[2]s GROUP BY %[1]s) %[3]s ON ...", col, big.Relation, alias)
}

// selfJoin reports whether a table appears on both sides of the join.
func selfJoin(x explosion) bool {
	for _, o := range x.outer {
		for _, i := range x.inner {
			if o.Relation != "" && o.Relation == i.Relation && o.Schema == i.Schema {
				return true
			}
		}
	}
	return false
}

// ratioText shows a ratio with two significant digits below 100: 2,500, 20, 3.9.
func ratioText(r float64) string {
	if r >= 100 {
		return count(r)
	}
	return strconv.FormatFloat(r, 'g', 2, 64)
}
