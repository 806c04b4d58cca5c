package assertq

import (
	"hash/maphash"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	sqllexer "github.com/DataDog/go-sqllexer"
)

// This file decides whether one execution of a statement worked on a set of rows or on one: the line between an
// N+1 (or row-by-row writes) and a batched loop, which the package doc states with both of its sides.

// shape is what a statement's text says about how many rows one execution works on.
type shape struct {
	list     int   // elements of the longest list written in the SQL: IN (...), VALUES (...), (...), ARRAY[...]
	limit    int   // LIMIT n written as a number; 0 when absent
	limitArg int   // LIMIT $n: n; 0 when absent
	paging   bool  // OFFSET, or a range comparison (id > $1): one page of an ordered set
	eqArgs   []int // n of each "= $n": the filters a page loop keeps and a per-parent loop varies
	cursor   bool  // a cursor statement (FETCH, MOVE): a page of a cursor, never a finding
}

// maxShapes is how many statement texts the shape cache keeps, like the fingerprint cache.
const maxShapes = 1 << 14

var (
	shapes     sync.Map // string -> shape
	shapeCount atomic.Int64
)

// shapeOf returns the shape of sql, cached by its text.
func shapeOf(sql string) shape {
	if v, ok := shapes.Load(sql); ok {
		return v.(shape)
	}
	sh := scanShape(sql)
	if shapeCount.Load() < maxShapes {
		if _, loaded := shapes.LoadOrStore(sql, sh); !loaded {
			shapeCount.Add(1)
		}
	}
	return sh
}

// scanShape reads sql's tokens (go-sqllexer's lexer) for lists, LIMIT and paging.
func scanShape(sql string) shape {
	type paren struct {
		list   bool // an IN (...) or ARRAY[...] list, not a subquery
		commas int
		filled bool
	}
	var (
		sh          shape
		stack       []paren
		prev        *sqllexer.Token // a copy: the lexer reuses its token
		last        sqllexer.Token
		valuesDepth = -1 // depth of a VALUES list being counted, or -1
		groups      int  // its row groups so far
		limitNext   bool
		first       = true
	)
	lx := sqllexer.New(sql, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
	for {
		tk := lx.Scan()
		if tk.Type == sqllexer.EOF || tk.Type == sqllexer.ERROR {
			break
		}
		switch tk.Type {
		case sqllexer.SPACE, sqllexer.COMMENT, sqllexer.MULTILINE_COMMENT:
			continue
		}
		if first {
			first = false
			sh.cursor = isWord(tk, "FETCH") || isWord(tk, "MOVE")
		}
		if n := len(stack); n > 0 && !stack[n-1].filled {
			stack[n-1].filled = true
			if tk.Type == sqllexer.COMMAND || tk.Type == sqllexer.CTE_INDICATOR {
				stack[n-1].list = false // IN (SELECT ...)
			}
		}
		if valuesDepth >= 0 && len(stack) == valuesDepth && tk.Value != "(" && tk.Value != "," {
			sh.list = max(sh.list, groups)
			valuesDepth = -1
		}
		if prev != nil && prev.Type == sqllexer.OPERATOR && prev.Value == "=" && tk.Type == sqllexer.POSITIONAL_PARAMETER {
			if n, err := strconv.Atoi(strings.TrimPrefix(tk.Value, "$")); err == nil {
				sh.eqArgs = append(sh.eqArgs, n)
			}
		}
		if limitNext && (isWord(tk, "FIRST") || isWord(tk, "NEXT")) {
			last = *tk
			prev = &last
			continue // FETCH FIRST n ROWS ONLY
		}
		if limitNext {
			limitNext = false
			switch tk.Type {
			case sqllexer.NUMBER:
				sh.limit, _ = strconv.Atoi(tk.Value)
			case sqllexer.POSITIONAL_PARAMETER:
				sh.limitArg, _ = strconv.Atoi(strings.TrimPrefix(tk.Value, "$"))
			}
		}
		switch {
		case tk.Type == sqllexer.PUNCTUATION && (tk.Value == "(" || tk.Value == "["):
			list := prev != nil && (tk.Value == "(" && isWord(prev, "IN") || tk.Value == "[" && isWord(prev, "ARRAY"))
			if tk.Value == "(" && prev != nil {
				switch {
				case isWord(prev, "VALUES"):
					valuesDepth, groups = len(stack), 1
				case valuesDepth == len(stack) && prev.Value == ",":
					groups++
				}
			}
			stack = append(stack, paren{list: list})
		case tk.Type == sqllexer.PUNCTUATION && (tk.Value == ")" || tk.Value == "]"):
			if n := len(stack); n > 0 {
				if p := stack[n-1]; p.list && p.filled {
					sh.list = max(sh.list, p.commas+1)
				}
				stack = stack[:n-1]
			}
		case tk.Type == sqllexer.PUNCTUATION && tk.Value == ",":
			if n := len(stack); n > 0 {
				stack[n-1].commas++
			}
		case isWord(tk, "LIMIT"), isWord(tk, "FETCH") && !sh.cursor:
			limitNext = true
		case isWord(tk, "OFFSET"):
			sh.paging = true
		case tk.Type == sqllexer.OPERATOR:
			switch tk.Value {
			case ">", "<", ">=", "<=":
				sh.paging = true
			}
		}
		last = *tk
		prev = &last
	}
	if valuesDepth >= 0 {
		sh.list = max(sh.list, groups)
	}
	return sh
}

// isWord reports whether tk is the keyword or identifier w, in any case.
func isWord(tk *sqllexer.Token, w string) bool {
	switch tk.Type {
	case sqllexer.KEYWORD, sqllexer.IDENT, sqllexer.FUNCTION, sqllexer.COMMAND:
		return strings.EqualFold(tk.Value, w)
	}
	return false
}

// How one execution of a statement worked.
type reach uint8

const (
	oneRow  reach = iota // one row, or one parent's rows
	onSet                // a set: a list in the SQL or an argument, or a write of several rows
	onePage              // a page of an ordered set; a set unless the loop's filters change (a page per parent)
)

// reach says how one execution of q worked:
//   - on a set: its SQL holds a list of two or more elements (IN ($1, $2), VALUES (...), (...), ARRAY[1, 2]); an
//     argument is a list of two or more elements (= ANY($1), unnest($1::int[]) with []int{1, 2}); or it is a
//     write that affected two or more rows (a multi-row INSERT, CopyFrom, an UPDATE of a set);
//   - on a page: a read with LIMIT n (n > 1), OFFSET or a range comparison (id > $1), that returned two or more
//     rows;
//   - else on one row. A read that returns many rows without any of these (the products of one store) still
//     worked on one parent: a loop of them is an N+1. So is a loop of LIMIT 1 lookups.
//
// sh is q's shape (shapeOf(q.SQL)).
func (q *Query) reach(sh shape) reach {
	if sh.list > 1 {
		return onSet
	}
	for _, a := range q.Args {
		if listLen(a) > 1 {
			return onSet
		}
	}
	switch q.Kind {
	case Insert, Update, Delete:
		if q.Rows > 1 {
			return onSet
		}
	case Select:
		if sh.paging && sh.limitOf(q.Args) > 1 && q.Rows > 1 {
			return onePage
		}
	}
	return oneRow
}

// filtersHash hashes the arguments of q's equality filters (store_id = $1): a page loop keeps them, a loop
// over parents changes them.
func (q *Query) filtersHash(sh shape) uint64 {
	var h maphash.Hash
	h.SetSeed(valuesSeed)
	for _, n := range sh.eqArgs {
		if n >= 1 && n <= len(q.Args) {
			writeValue(&h, q.Args[n-1])
		}
	}
	return h.Sum64()
}

// limitOf returns the LIMIT of an execution with arguments args, or 0.
func (sh shape) limitOf(args []any) int {
	if sh.limit > 0 {
		return sh.limit
	}
	if sh.limitArg > 0 && sh.limitArg <= len(args) {
		v := reflect.ValueOf(args[sh.limitArg-1])
		switch {
		case v.CanInt():
			return int(v.Int())
		case v.CanUint():
			return int(v.Uint())
		}
	}
	return 0
}

// listLen returns how many elements a list argument holds ([]int, *[]int, pgtype.FlatArray, pq.Array's wrappers,
// pgtype.Array's Elements), or 0 for a value that is not a list. Bytes ([]byte, json.RawMessage) are not a list,
// nor is a struct of another package that holds a slice (a document for a json column).
func listLen(a any) int {
	v := reflect.ValueOf(a)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return 0
		}
		return v.Len()
	case reflect.Struct: // pq.GenericArray{A}, pgtype.Array[T]{Elements}
		if p := v.Type().PkgPath(); p != "github.com/jackc/pgx/v5/pgtype" && p != "github.com/lib/pq" {
			return 0
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				if fv := v.Field(i); (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Interface) && fv.CanInterface() {
					if n := listLen(fv.Interface()); n > 0 {
						return n
					}
				}
			}
		}
	}
	return 0
}

// catalog reports whether q reads only the system catalogs (information_schema, pg_catalog, pg_* views) or asks
// the server about itself (current_database(), version()): an ORM's schema introspection, as in AutoMigrate, not
// the application's data access. Catalog reads are counted by budgets and listed in Queries, but are never an N+1.
func (q *Query) catalog() bool {
	if q.Kind != Select {
		return false
	}
	if len(q.Tables) == 0 {
		fp := strings.ToLower(q.Fingerprint)
		for _, fn := range []string{"current_database", "current_schema", "current_setting", "version()"} {
			if strings.Contains(fp, fn) {
				return true
			}
		}
		return false
	}
	for _, t := range q.Tables {
		t = strings.ToLower(strings.Trim(t, `"`))
		if schema, _, ok := strings.Cut(t, "."); ok {
			if schema != "information_schema" && schema != "pg_catalog" {
				return false
			}
		} else if !strings.HasPrefix(t, "pg_") {
			return false
		}
	}
	return true
}
