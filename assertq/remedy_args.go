package assertq

import (
	"database/sql/driver"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Arguments in a message favour the columns that identify a row. An ORM's INSERT starts with created_at,
// updated_at and deleted_at, so the first hundred characters of its argument list said nothing but timestamps:
// shownArgs names each argument after its column where the SQL says it ($4 goes to "author_id") and puts keys and
// names first, timestamps and NULLs last.

// namedArg is an argument shown with its column: author_id=3.
type namedArg struct {
	name string
	v    any
}

func (a namedArg) String() string { return a.name + "=" + formatArg(a.v) }

// argRank orders arguments in a message: keys, then names, then other values, then timestamps and NULLs.
const (
	rankKey = iota
	rankName
	rankValue
	rankTime
)

// shownArgs returns q's arguments as a message shows them: driver.Valuers as their values (a gorm.DeletedAt as
// NULL), in their order, unless a timestamp or NULL comes before a key or another value and the SQL names the
// column of every argument: then each is named after its column (author_id=3), keys first, timestamps and NULLs
// last.
func shownArgs(q *Query) []any {
	if len(q.Args) == 0 {
		return q.Args
	}
	args := make([]any, len(q.Args))
	ranks := make([]int, len(q.Args))
	cols := argColumns(q.SQL, len(q.Args))
	named := true
	for i, a := range q.Args {
		args[i] = valueOf(a)
		ranks[i] = argRank(cols[i], args[i])
		named = named && cols[i] != ""
	}
	if !named || !timeFirst(ranks) {
		return args
	}
	order := make([]int, len(args))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return ranks[a] - ranks[b] })
	out := make([]any, len(args))
	for i, k := range order {
		out[i] = namedArg{cols[k], args[k]}
	}
	return out
}

// timeFirst reports whether a timestamp or NULL comes before a key, a name or another value.
func timeFirst(ranks []int) bool {
	i := slices.Index(ranks, rankTime)
	return i >= 0 && slices.ContainsFunc(ranks[i:], func(r int) bool { return r < rankTime })
}

// valueOf returns what a driver.Valuer stands for (sql.NullTime, gorm.DeletedAt, a UUID type), or v itself.
func valueOf(v any) (out any) {
	vr, ok := v.(driver.Valuer)
	if !ok {
		return v
	}
	defer func() {
		if recover() != nil { // a nil pointer's Value method, say: show the argument as it was passed
			out = v
		}
	}()
	if val, err := vr.Value(); err == nil {
		return val
	}
	return v
}

// nameColumns are column names that name a row for a reader.
var nameColumns = map[string]bool{"name": true, "title": true, "email": true, "username": true, "login": true, "slug": true, "code": true, "sku": true}

// argRank ranks an argument of column col with value v.
func argRank(col string, v any) int {
	col = strings.ToLower(col)
	switch v.(type) {
	case nil, time.Time: // a NULL says little (deleted_at IS NULL, an unset optional column), nor does a timestamp
		return rankTime
	}
	switch {
	case strings.HasSuffix(col, "_at"), strings.HasSuffix(col, "_on"), col == "created", col == "updated", col == "deleted":
		return rankTime
	case col == "id", col == "uuid", col == "key", strings.HasSuffix(col, "_id"), strings.HasSuffix(col, "_key"), strings.HasSuffix(col, "_uuid"):
		return rankKey
	case nameColumns[col]:
		return rankName
	}
	return rankValue
}

var (
	// insertColumns finds the column list and the VALUES of an INSERT.
	insertColumns = regexp.MustCompile(`(?is)^\s*(?:--[^\n]*\n\s*)*INSERT\s+INTO\s+[^(]+\(([^)]*)\)\s*VALUES\s*(.*)$`)
	// comparison finds "column = $n" (also <>, <, >, <=, >=, IN, LIKE, and SET's "column=$n").
	comparison = regexp.MustCompile(`(?i)("?[A-Za-z_][A-Za-z0-9_]*"?)\s*(?:=|<>|!=|<=|>=|<|>|\bLIKE\b|\bILIKE\b|\bIN\s*\(|=\s*ANY\s*\()\s*\$(\d+)`)
	limit      = regexp.MustCompile(`(?i)\b(LIMIT|OFFSET)\s+\$(\d+)`)
)

// argColumns returns, for each of n arguments ($1 ... $n), the column the SQL gives it, or "".
func argColumns(sql string, n int) []string {
	cols := make([]string, n)
	set := func(num, col string) {
		i, err := strconv.Atoi(num)
		if err != nil || i < 1 || i > n || cols[i-1] != "" {
			return
		}
		cols[i-1] = strings.Trim(col, `"`)
	}
	if m := insertColumns.FindStringSubmatch(sql); m != nil {
		names := strings.Split(m[1], ",")
		valuePlaceholders(m[2], func(row, pos int, num string) {
			if row == 0 && pos < len(names) { // a multi-row INSERT's values stay as they are: one list, many rows
				set(num, strings.TrimSpace(names[pos]))
			}
		})
	}
	for _, m := range comparison.FindAllStringSubmatch(sql, -1) {
		col := m[1]
		if i := strings.LastIndexByte(col, '.'); i >= 0 {
			col = col[i+1:]
		}
		set(m[2], col)
	}
	for _, m := range limit.FindAllStringSubmatch(sql, -1) {
		set(m[2], strings.ToLower(m[1]))
	}
	return cols
}

// valuePlaceholders calls fn for each placeholder $n in the tuples of a VALUES list, with its row and its position
// in its row: "($1, now(), $2), ($3, now(), $4)" gives (0, 0, 1), (0, 2, 2), (1, 0, 3), (1, 2, 4). It stops at the
// end of the list (RETURNING, ON CONFLICT) and skips quoted text.
func valuePlaceholders(values string, fn func(row, pos int, num string)) {
	depth, row, pos := 0, -1, 0
	for i := 0; i < len(values); i++ {
		switch c := values[i]; {
		case c == '\'' || c == '"':
			if j := strings.IndexByte(values[i+1:], c); j >= 0 {
				i += j + 1
			}
		case c == '(':
			depth++
			if depth == 1 {
				row, pos = row+1, 0
			}
		case c == ')':
			depth--
			if depth == 0 && !strings.HasPrefix(strings.TrimLeft(values[i+1:], " \t\n"), ",") {
				return // the last tuple
			}
		case c == ',' && depth == 1:
			pos++
		case c == '$' && depth >= 1:
			j := i + 1
			for j < len(values) && '0' <= values[j] && values[j] <= '9' {
				j++
			}
			if j > i+1 {
				fn(row, pos, values[i+1:j])
				i = j - 1
			}
		}
	}
}
