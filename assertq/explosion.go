// explosion.go holds the NoRowExplosion rule and its message.

package assertq

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dbsuite/dbsuite/internal/failure"
)

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
