package assertq

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	sqllexer "github.com/DataDog/go-sqllexer"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// textCheck is a Check that reads each statement's text and arguments, not its plan.
type textCheck interface {
	Check
	judgeText(q *Query) []error
}

// lists is what one statement's text and arguments hold: its longest lists and its bind parameters.
type lists struct {
	in, values, array int // longest IN (...) list, VALUES list, ARRAY[...] literal
	arg, argIndex     int // longest array argument, and its position ($n)
	params            int // bind parameters ($n), the highest n
}

// measureLists reads q's SQL with go-sqllexer (PostgreSQL) and its arguments.
func measureLists(q *Query) lists {
	var l lists
	var toks []sqllexer.Token
	lx := sqllexer.New(q.SQL, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
	for {
		t := lx.Scan()
		if t.Type == sqllexer.EOF || t.Type == sqllexer.ERROR {
			break
		}
		switch t.Type {
		case sqllexer.SPACE, sqllexer.COMMENT, sqllexer.MULTILINE_COMMENT:
			continue
		case sqllexer.POSITIONAL_PARAMETER:
			if n, err := strconv.Atoi(strings.TrimPrefix(t.Value, "$")); err == nil {
				l.params = max(l.params, n)
			}
		}
		toks = append(toks, sqllexer.Token{Type: t.Type, Value: t.Value})
	}
	for i := 0; i+1 < len(toks); i++ {
		word := strings.ToUpper(toks[i].Value)
		next := toks[i+1].Value
		switch {
		case word == "IN" && next == "(":
			if i+2 < len(toks) && isSubquery(toks[i+2].Value) {
				continue
			}
			l.in = max(l.in, items(toks[i+1:]))
		case word == "ARRAY" && next == "[":
			l.array = max(l.array, items(toks[i+1:]))
		case word == "VALUES" && next == "(":
			l.values = max(l.values, tuples(toks[i+1:]))
		}
	}
	for i, a := range q.Args {
		if n := listLen(a); n > l.arg {
			l.arg, l.argIndex = n, i+1
		}
	}
	return l
}

func isSubquery(word string) bool {
	switch strings.ToUpper(word) {
	case "SELECT", "WITH", "VALUES", "TABLE":
		return true
	}
	return false
}

// items counts the top-level items of the bracketed list toks starts with.
func items(toks []sqllexer.Token) int {
	depth, n := 0, 0
	for _, t := range toks {
		switch t.Value {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
			if depth == 0 {
				return n + 1
			}
		case ",":
			if depth == 1 {
				n++
			}
		}
	}
	return n + 1
}

// tuples counts the rows of a VALUES list: "(...), (...), ...".
func tuples(toks []sqllexer.Token) int {
	depth, n := 0, 0
	for i, t := range toks {
		switch t.Value {
		case "(", "[":
			if depth == 0 {
				n++
			}
			depth++
		case ")", "]":
			depth--
		default:
			if depth == 0 && t.Value != "," {
				return n
			}
		}
		if depth == 0 && t.Value == ")" && (i+1 >= len(toks) || toks[i+1].Value != ",") {
			return n
		}
	}
	return n
}

type longLists struct{ cfg planConfig }

// NoLongLists checks each statement's text and arguments for a list longer than [MaxItems] (default 1,000): an
// IN (...) list, a VALUES list, an ARRAY[...] literal, or an array argument (= ANY($1)); and for more than
// [MaxParams] (default 10,000) bind parameters, which PostgreSQL caps at 65,535 (GORM's Preload of a large parent
// set builds IN ($1, ..., $n)). A list of 100,000 ids turns a DELETE into a sequential scan and is sent, parsed
// and planned on every call. SQL is read with go-sqllexer; the statement is not explained.
func NoLongLists(opts ...Option) Check { return longLists{newPlanConfig(opts)} }

func (c longLists) String() string { return c.cfg.name("NoLongLists") }

func (c longLists) check(qs Queries) error {
	type key struct {
		fp    string
		stack uint64
	}
	seen := map[key]bool{}
	var errs []error
	for i := range qs {
		q := &qs[i]
		if !matchAll(q, c.cfg.only) || q.Kind == Transaction {
			continue
		}
		found := c.judgeText(q)
		if len(found) == 0 {
			continue
		}
		k := key{q.Fingerprint, q.StackKey}
		if seen[k] {
			continue // one report per statement and call site: the first that crossed the bound
		}
		seen[k] = true
		errs = append(errs, found...)
	}
	return errors.Join(errs...)
}

func (c longLists) judgeText(q *Query) []error {
	l := measureLists(q)
	var what []string
	longest := 0
	add := func(n int, desc string) {
		if n > c.cfg.maxItems {
			what = append(what, desc)
			longest = max(longest, n)
		}
	}
	add(l.in, fmt.Sprintf("an IN (...) list of %s items", count(float64(l.in))))
	add(l.values, fmt.Sprintf("a VALUES list of %s rows", count(float64(l.values))))
	add(l.array, fmt.Sprintf("an ARRAY[...] literal of %s items", count(float64(l.array))))
	add(l.arg, fmt.Sprintf("an array argument ($%d) of %s items", l.argIndex, count(float64(l.arg))))
	var errs []error
	if len(what) > 0 {
		errs = append(errs, &failure.Error{
			Pkg:      "assertq",
			Headline: fmt.Sprintf("long list: %s in one statement, want at most %s", what[0], count(float64(c.cfg.maxItems))),
			Details:  append(append([]string(nil), what[1:]...), statementLine(q)),
			Fixes: []string{"a list this long is sent, parsed and planned on every call, and a long IN list or array is often planned as a filter over every row (a sequential scan): " +
				"join a temporary table instead (COPY the ids in, then DELETE ... USING ids / JOIN ids), or pass = ANY($1) over a narrower set, in batches of at most " + count(float64(c.cfg.maxItems))},
		})
	}
	if l.params > c.cfg.maxParams {
		errs = append(errs, &failure.Error{
			Pkg:      "assertq",
			Headline: fmt.Sprintf("too many bind parameters: %s in one statement, want at most %s (PostgreSQL refuses more than 65,535)", count(float64(l.params)), count(float64(c.cfg.maxParams))),
			Details:  []string{statementLine(q)},
			Fixes: []string{"pass the values as one array parameter (WHERE id = ANY($1), INSERT ... SELECT * FROM unnest($1::bigint[], ...)); " +
				"an ORM's preload of a large parent set builds one parameter per parent: preload in batches (GORM: FindInBatches)"},
		})
	}
	return errs
}

type seqScan struct{ cfg planConfig }

// NoSeqScan checks the plan of each statement shape for a sequential scan of a table of [MinRows] (default
// 10,000) rows or more, by pg_class.reltuples after the same ANALYZE as [NoRowExplosion]. Name the statements it
// applies to with [Only] (a report may read a whole table on purpose): NoSeqScan(Only(Delete,
// Table("deliveries"))). The message names the filter and the index to consider.
func NoSeqScan(opts ...Option) Check { return seqScan{newPlanConfig(opts)} }

func (c seqScan) String() string         { return c.cfg.name("NoSeqScan") }
func (c seqScan) config() planConfig     { return c.cfg }
func (c seqScan) check(qs Queries) error { return checkPlans(qs, c) }

func (c seqScan) judge(q *Query, p *explained) []error {
	var errs []error
	for _, root := range p.roots {
		walk(root, func(n *planNode) {
			if n.NodeType != "Seq Scan" || n.relationInfo == nil || n.relationInfo.Rows < c.cfg.minRows {
				return
			}
			errs = append(errs, c.scanError(q, n))
		})
	}
	return errs
}

func (c seqScan) scanError(q *Query, n *planNode) error {
	t := n.relationInfo
	detail := fmt.Sprintf("Seq Scan on %s: reads all %s rows, %s estimated to match", t.qualified(), count(t.Rows), count(n.PlanRows))
	if n.Filter != "" {
		detail += "\n  filter: " + clip(n.Filter, 120)
	}
	col := filterColumn(n.Filter)
	var fix string
	switch idx := indexOn(t, col); {
	case col == "":
		fix = fmt.Sprintf("the statement has no condition an index could serve on %s: add one (WHERE ... on an indexed column), or limit the rows it reads", t.Name)
	case idx != "":
		fix = fmt.Sprintf("an index on %s exists (%s) but the planner reads every row instead: the condition matches too many rows, or a long IN list / array makes the index look no cheaper; narrow the condition, or join a temporary table of the keys", col, idx)
	default:
		fix = fmt.Sprintf("consider an index on the filtered column: CREATE INDEX ON %s (%s)", quoteIdentIfNeeded(t.Schema)+"."+quoteIdentIfNeeded(t.Name), col)
	}
	return &failure.Error{
		Pkg:      "assertq",
		Headline: fmt.Sprintf("sequential scan of %s (%s rows), want an index scan on tables of %s rows or more", t.Name, count(t.Rows), count(c.cfg.minRows)),
		Details:  []string{detail, statementLine(q)},
		Fixes:    []string{fix},
	}
}

// filterColumn returns the first column a plan filter compares: "mailer_id" in "(d.mailer_id = ANY (...))".
func filterColumn(filter string) string {
	var prev string
	lx := sqllexer.New(filter, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
	for {
		t := lx.Scan()
		switch t.Type {
		case sqllexer.EOF, sqllexer.ERROR:
			return ""
		case sqllexer.SPACE:
			continue
		case sqllexer.OPERATOR:
			if prev != "" {
				return prev
			}
		case sqllexer.IDENT, sqllexer.QUOTED_IDENT:
			v := t.Value
			if i := strings.LastIndexByte(v, '.'); i >= 0 {
				v = v[i+1:]
			}
			prev = strings.Trim(v, `"`)
			continue
		}
		prev = ""
	}
}

// indexOn returns the name of an index of t whose first column is col, or "".
func indexOn(t *tableInfo, col string) string {
	if col == "" {
		return ""
	}
	for _, def := range t.Indexes {
		open := strings.IndexByte(def, '(')
		name := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(def, "CREATE UNIQUE INDEX "), "CREATE INDEX "))
		if open < 0 || len(name) == 0 {
			continue
		}
		first := strings.TrimSpace(strings.SplitN(def[open+1:], ",", 2)[0])
		first = strings.TrimSuffix(strings.Trim(first, `"`), ")")
		if strings.EqualFold(first, col) {
			return name[0]
		}
	}
	return ""
}

// quoteIdentIfNeeded quotes an identifier that is not a plain lower-case name.
func quoteIdentIfNeeded(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return quoteIdent(s)
		}
	}
	return s
}
