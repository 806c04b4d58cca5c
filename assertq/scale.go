package assertq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/internal/failure"
)

type scaleConfig struct {
	maxExponent float64
	rows        bool
}

// MaxExponent sets how fast the rows a statement processes may grow with the data: the exponent of a power law
// fitted to rows against size on a log-log scale. 1 is linear; a join of two to-many sides grows with exponent 2.
// Default: 1.3.
func MaxExponent(e float64) Option {
	return scaleOption(fmt.Sprintf("MaxExponent(%g)", e), func(c *scaleConfig) { c.maxExponent = e })
}

// NoRowGrowth leaves the rows check out of [ExpectScaling]: only query counts are compared, and no statement is
// run again under EXPLAIN (ANALYZE).
func NoRowGrowth() Option {
	return scaleOption("NoRowGrowth()", func(c *scaleConfig) { c.rows = false })
}

// scaleOption returns an Option of ExpectScaling.
func scaleOption(name string, set func(*scaleConfig)) Option {
	return &option{name: name, where: forScale, set: func(o *options) { set(&o.scale) }}
}

// ExpectScaling runs fn once per size, each time on the data load(size) returns (a pool on a database loaded at
// that size, say with the fixtures package's Scale option), and reports through t.Errorf when
//
//   - the number of queries of one statement from one call site grows with the data (an N+1 that a fixed data
//     set hides): the message names the statement, its call site and its count at each size; or
//   - the rows a statement processes grow faster than the data: a power law is fitted to rows against size on a
//     log-log scale (least squares over every size, not an integer ratio of two), and an exponent above
//     [MaxExponent] (1.3) fails. The trap of two to-many joins grows with exponent 2 where its fix grows with 1,
//     so this catches on small data what [NoRowExplosion]'s row floor lets pass.
//
// Rows processed are measured with EXPLAIN (ANALYZE, FORMAT JSON) of each statement shape right after fn ran at
// that size, with the statement's own arguments, in a transaction that is rolled back (writes are undone): the sum
// over the plan's nodes of actual rows times loops. Sizes are relative (0.01, 0.02, 0.04); give at least two.
// Loading is not recorded unless it uses the context fn gets. It returns the queries of each size.
func ExpectScaling[D any](t testing.TB, rec *Recorder, sizes []float64, load func(size float64) D, fn func(ctx context.Context, data D), opts ...Option) []Queries {
	t.Helper()
	o := options{scale: scaleConfig{maxExponent: 1.3, rows: true}}
	if err := o.apply(opts, forScale); err != nil {
		t.Fatalf("%s", &failure.Error{Pkg: "assertq", Headline: strings.TrimPrefix(err.Error(), "assertq: ")})
		return nil
	}
	cfg := o.scale
	if len(sizes) < 2 {
		t.Fatalf("assertq.ExpectScaling: %d sizes, want two or more (1, 2, 4)", len(sizes))
		return nil
	}
	for _, s := range sizes {
		if s <= 0 {
			t.Fatalf("assertq.ExpectScaling: size %g, want sizes above 0", s)
			return nil
		}
	}
	runs := make([]Queries, len(sizes))
	rows := make([]map[string]*processed, len(sizes))
	for i, size := range sizes {
		data := load(size)
		runs[i], _ = rec.runBlock(t, func(ctx context.Context) { fn(ctx, data) })
		if cfg.rows {
			var err error
			if rows[i], err = measureRows(runs[i]); err != nil {
				t.Errorf("%v", err)
				return runs
			}
		}
	}
	errs := queryGrowth(sizes, runs)
	if cfg.rows {
		errs = append(errs, rowGrowth(sizes, runs, rows, cfg.maxExponent)...)
	}
	if len(errs) > 0 {
		noun := "findings"
		if len(errs) == 1 {
			noun = "finding"
		}
		t.Errorf("%s\nassertq: ExpectScaling at sizes %s: %d %s", errors.Join(errs...), sizeList(sizes), len(errs), noun)
	}
	return runs
}

// processed is the rows one statement shape processed at one size.
type processed struct {
	total float64
	top   *planNode // the node that processed the most rows
}

// measureRows runs EXPLAIN (ANALYZE) of each statement shape of qs, rolled back.
func measureRows(qs Queries) (map[string]*processed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var ss sessions
	defer ss.close()
	out := map[string]*processed{}
	for i := range qs {
		q := &qs[i]
		if !explainable(q) || q.Allowed || q.Err != nil || q.plan == nil || out[q.Fingerprint] != nil {
			continue
		}
		sess, err := ss.open(ctx, q.plan)
		if err != nil {
			return nil, noPlan(scaleCheckName{}, q, err)
		}
		p, err := explainAnalyze(ctx, sess, q)
		if err != nil {
			return nil, noPlan(scaleCheckName{}, q, err)
		}
		out[q.Fingerprint] = p
	}
	return out, nil
}

type scaleCheckName struct{ Check }

func (scaleCheckName) String() string { return "ExpectScaling" }

// explainAnalyze runs q under EXPLAIN (ANALYZE) in a transaction (or savepoint) that is rolled back.
func explainAnalyze(ctx context.Context, sess session, q *Query) (*processed, error) {
	begin, rollback := "BEGIN", "ROLLBACK"
	if sess.inTx() {
		begin, rollback = "SAVEPOINT assertq_scale", "ROLLBACK TO SAVEPOINT assertq_scale"
	}
	if err := sess.exec(ctx, begin); err != nil {
		return nil, err
	}
	raw, err := sess.text(ctx, "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) "+q.SQL, q.Args)
	if rerr := sess.exec(ctx, rollback); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("EXPLAIN (ANALYZE) failed: %w", err)
	}
	roots, err := parsePlan(raw)
	if err != nil {
		return nil, err
	}
	p := &processed{}
	for _, root := range roots {
		walk(root, func(n *planNode) {
			rows := processedBy(n)
			p.total += rows
			if p.top == nil || rows > processedBy(p.top) {
				p.top = n
			}
		})
	}
	return p, nil
}

// processedBy is the rows a node handled: those it returned and those its filters removed, times its loops.
func processedBy(n *planNode) float64 {
	return (n.ActualRows + n.RowsRemoved + n.JoinRemoved) * math.Max(n.ActualLoops, 1)
}

// slope fits log(y) = a + b·log(x) by least squares and returns b.
func slope(xs, ys []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(xs))
	for i := range xs {
		lx, ly := math.Log(xs[i]), math.Log(math.Max(ys[i], 1))
		sx += lx
		sy += ly
		sxx += lx * lx
		sxy += lx * ly
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

type statementKey struct {
	fp    string
	stack uint64
}

// queryGrowth compares the number of queries of each statement and call site across sizes.
func queryGrowth(sizes []float64, runs []Queries) []error {
	var order []statementKey
	counts := map[statementKey][]float64{}
	first := map[statementKey]*Query{}
	for i, qs := range runs {
		for j := range qs {
			q := &qs[j]
			if q.Kind == Transaction || q.Allowed {
				continue
			}
			k := statementKey{q.Fingerprint, q.StackKey}
			if counts[k] == nil {
				counts[k] = make([]float64, len(runs))
				first[k] = q
				order = append(order, k)
			}
			counts[k][i]++
		}
	}
	var errs []error
	for _, k := range order {
		c := counts[k]
		lo, hi := c[0], c[len(c)-1]
		if hi <= lo {
			continue
		}
		exp := slope(sizes, c)
		q := first[k]
		errs = append(errs, &failure.Error{
			Pkg: "assertq",
			Headline: fmt.Sprintf("queries grow with the data: one statement ran %s times at sizes %s (exponent %.2f), want the same count at every size",
				countList(c), sizeList(sizes), exp),
			Details: []string{statementLine(q)},
			Fixes:   []string{"a statement run once per row is an N+1 that small data hides: fetch the rows in one query (WHERE id = ANY($1), a JOIN, or GROUP BY)"},
		})
	}
	return errs
}

// rowGrowth fits rows processed against size for each statement shape measured at every size.
func rowGrowth(sizes []float64, runs []Queries, rows []map[string]*processed, maxExp float64) []error {
	var fps []string
	for fp := range rows[0] {
		all := true
		for _, r := range rows {
			all = all && r[fp] != nil
		}
		if all {
			fps = append(fps, fp)
		}
	}
	sort.Strings(fps)
	var errs []error
	for _, fp := range fps {
		ys := make([]float64, len(rows))
		for i, r := range rows {
			ys[i] = r[fp].total
		}
		exp := slope(sizes, ys)
		if exp <= maxExp {
			continue
		}
		var q *Query
		for j := range runs[len(runs)-1] {
			if runs[len(runs)-1][j].Fingerprint == fp {
				q = &runs[len(runs)-1][j]
				break
			}
		}
		top := rows[len(rows)-1][fp].top
		detail := fmt.Sprintf("rows processed (actual rows and rows removed by filters, times loops, over every plan node): %s", countList(ys))
		topRows := processedBy(top)
		node := top.NodeType
		if isJoin(top) {
			node = joinName(top)
			if c := joinCondition(top); c != "" {
				node += " on " + c
			}
		}
		fix := "the rows it processes grow faster than the data: it will be slow at production size. "
		if isJoin(top) {
			fix = "a join whose rows grow with the square of the data multiplies two to-many sides: aggregate each to-many side in its own subquery or CTE before joining, or use one correlated subquery per count"
		} else {
			fix += "look for a join without a condition, or a nested loop over a sequential scan (an index on the joined column)"
		}
		errs = append(errs, &failure.Error{
			Pkg: "assertq",
			Headline: fmt.Sprintf("rows processed grow faster than the data: exponent %.2f at sizes %s, want at most %g",
				exp, sizeList(sizes), maxExp),
			Details: []string{detail, fmt.Sprintf("largest node at size %g: %s, %s rows", sizes[len(sizes)-1], node, count(topRows)), statementLine(q)},
			Fixes:   []string{fix},
		})
	}
	return errs
}

func countList(c []float64) string {
	parts := make([]string, len(c))
	for i, v := range c {
		parts[i] = count(v)
	}
	return strings.Join(parts, ", ")
}

func sizeList(s []float64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprintf("%g", v)
	}
	return strings.Join(parts, ", ")
}
