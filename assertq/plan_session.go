// plan_session.go holds getting a plan (EXPLAIN in a session) and finding stale statistics to ANALYZE first.

package assertq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	sqllexer "github.com/DataDog/go-sqllexer"
)

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
