package assertq

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dbsuite/dbsuite/internal/callsite"
	"github.com/dbsuite/dbsuite/internal/fingerprint"
)

// Query is one statement the database ran, as a [Recorder] saw it. Treat it as read-only: its slices are shared.
type Query struct {
	SQL         string        // the statement as sent; for pgx prepared statements the SQL, not the name
	Args        []any         // its arguments, as passed (pgx execution options left out)
	Fingerprint string        // normalised text: "SELECT name FROM users WHERE id = ?"; equal for the same statement
	Kind        Kind          // select, insert, update, delete, transaction control or other
	Tables      []string      // tables it reads or writes
	Caller      Frame         // where the user's code made the call: "store.go:38 (shop.ListStores)"
	Stack       []Frame       // the user's frames, innermost first; Stack[0] is Caller
	StackKey    uint64        // equal for queries made through the same user frames at the same lines; 0 if unknown
	Start       time.Time     // when it started
	Duration    time.Duration // until its result was read (rows closed)
	Rows        int64         // rows returned or affected; -1 when the driver did not say
	Err         error         // the error it ended with, if any
	Batch       uint64        // 0, or an identifier shared by the statements of one pgx batch
	Allowed     bool          // run under [Allow]: recorded, but exempt from every check

	hideArgs bool        // the recorder was made with HideArgs
	byTime   bool        // it carried no block's context and was tied to the only block open when it ran
	stray    bool        // it carried no block's context and ran while several blocks were open: no finding groups it
	lib      libraryID   // the database library the user's code called, for fixes in its terms (remedy.go)
	unit     uint64      // the outermost Expect block it ran in (its start sequence number), 0 outside blocks
	plan     *planSource // plan hook (explain.go): how plan checks reach the connection that ran it; nil if unknown
}

// Frame is one function call of a query's call stack.
type Frame struct {
	File string // full path of the source file
	Line int
	Func string // full function name: "github.com/acme/shop.(*Store).List"
}

// String formats a frame as failure messages show it: "store.go:38 (shop.(*Store).List)".
func (f Frame) String() string { return callsite.Frame(f).String() }

// Kind classifies a statement by what it does.
type Kind uint8

// Statement kinds. A WITH statement takes the kind of its main statement; pgx CopyFrom (COPY ... FROM STDIN) is
// an Insert. Kinds are also [Filter]s: Count(1, assertq.Insert) counts inserts.
const (
	Other Kind = iota
	Select
	Insert
	Update
	Delete
	Transaction // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE: left out of budgets unless a filter names it
)

// kinds maps the fingerprint package's statement kinds to this package's.
var kinds = map[fingerprint.Kind]Kind{
	fingerprint.Other:       Other,
	fingerprint.Select:      Select,
	fingerprint.Insert:      Insert,
	fingerprint.Update:      Update,
	fingerprint.Delete:      Delete,
	fingerprint.Transaction: Transaction,
}

// kindOf converts the fingerprint package's kind; a kind it does not know is Other.
func kindOf(k fingerprint.Kind) Kind { return kinds[k] }

// kindNames are each kind's name in messages and in the Go call that names it as a filter.
var kindNames = [...]struct{ message, code string }{
	Other:       {"other", "Other"},
	Select:      {"SELECT", "Select"},
	Insert:      {"INSERT", "Insert"},
	Update:      {"UPDATE", "Update"},
	Delete:      {"DELETE", "Delete"},
	Transaction: {"transaction control", "Transaction"},
}

// String returns the kind as it appears in messages: "SELECT", "INSERT", "UPDATE", "DELETE", "transaction
// control" or "other".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k].message
	}
	return kindNames[Other].message
}

func (k Kind) match(q *Query) bool { return q.Kind == k }

func (k Kind) code() string {
	if int(k) < len(kindNames) {
		return kindNames[k].code
	}
	return kindNames[Other].code
}

// A Filter selects queries: budgets ([Count], [AtMost]) and [Queries.Filter] keep the queries every filter
// selects, several [Kind]s being alternatives (Insert, Update, Delete: the writes); [Ignore] leaves out the
// queries any of its filters selects. Filters are Kinds, [Table], [Matching], [CalledFrom] and [Where].
type Filter interface {
	// String describes the selection in a message: "on orders".
	String() string
	match(q *Query) bool
	code() string // the call that made the filter: Table("orders")
}

type tableFilter []string

// Table selects queries that touch one of the named tables. A name without a schema matches the table in any
// schema ("users" matches "public.users"); names compare case-insensitively.
func Table(names ...string) Filter { return tableFilter(names) }

func (f tableFilter) match(q *Query) bool {
	for _, t := range q.Tables {
		for _, name := range f {
			if strings.EqualFold(t, name) {
				return true
			}
			if !strings.Contains(name, ".") {
				if i := strings.LastIndexByte(t, '.'); i >= 0 && strings.EqualFold(t[i+1:], name) {
					return true
				}
			}
		}
	}
	return false
}

func (f tableFilter) String() string { return "on " + strings.Join(f, ", ") }
func (f tableFilter) code() string   { return "Table(" + quoted(f) + ")" }

// quoted formats strings as Go arguments: "a", "b".
func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

type matchingFilter struct{ re *regexp.Regexp }

// Matching selects queries whose SQL or fingerprint matches the regular expression pattern. It panics if pattern
// does not compile, as [regexp.MustCompile] does.
func Matching(pattern string) Filter { return matchingFilter{regexp.MustCompile(pattern)} }

func (f matchingFilter) match(q *Query) bool {
	return f.re.MatchString(q.SQL) || f.re.MatchString(q.Fingerprint)
}
func (f matchingFilter) String() string { return fmt.Sprintf("matching %q", f.re.String()) }
func (f matchingFilter) code() string   { return fmt.Sprintf("Matching(%q)", f.re.String()) }

type calledFromFilter string

// CalledFrom selects queries with a frame in the user's call stack whose function name, file path or
// "file.go:line" contains pattern: CalledFrom("shop.(*Store).List"), CalledFrom("testdata/seed.go"),
// CalledFrom("store.go:38").
func CalledFrom(pattern string) Filter { return calledFromFilter(pattern) }

func (f calledFromFilter) match(q *Query) bool {
	for _, fr := range q.Stack {
		if strings.Contains(fr.Func, string(f)) || strings.Contains(fr.File, string(f)) || strings.Contains(fr.String(), string(f)) {
			return true
		}
	}
	return false
}

func (f calledFromFilter) String() string { return fmt.Sprintf("called from %q", string(f)) }
func (f calledFromFilter) code() string   { return fmt.Sprintf("CalledFrom(%q)", string(f)) }

type whereFilter struct {
	desc string
	fn   func(q *Query) bool
}

// Where selects the queries fn reports true for; desc names the selection in failure messages ("to audit_log").
func Where(desc string, fn func(q *Query) bool) Filter { return whereFilter{desc, fn} }

func (f whereFilter) match(q *Query) bool { return f.fn(q) }
func (f whereFilter) String() string      { return f.desc }
func (f whereFilter) code() string        { return fmt.Sprintf("Where(%q)", f.desc) }

// Queries is what a [Recorder] saw, in the order the statements started.
type Queries []Query

// Filter returns the queries every filter selects (several kinds: any of them).
func (qs Queries) Filter(filters ...Filter) Queries {
	var out Queries
	for i := range qs {
		if matchAll(&qs[i], filters) {
			out = append(out, qs[i])
		}
	}
	return out
}

// matchAll reports whether q matches every filter, kinds being alternatives: a query has one kind, so
// (Insert, Update, Delete, Table("t")) selects the writes to t.
func matchAll(q *Query, filters []Filter) bool {
	kinds, kindOK := false, false
	for _, f := range filters {
		if k, ok := f.(Kind); ok {
			kinds = true
			kindOK = kindOK || k == q.Kind
			continue
		}
		if !f.match(q) {
			return false
		}
	}
	return !kinds || kindOK
}

// String lists the queries grouped by fingerprint and call stack, with counts, call sites and findings, the way
// failure messages do.
func (qs Queries) String() string {
	lines := groupLines(qs, qs.Findings(), true, nil)
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}
