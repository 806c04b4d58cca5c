// Package fingerprint turns SQL text into a readable, normalised fingerprint: literals and placeholders become
// "?", comments and aliases go, keywords are upper-cased, and PostgreSQL lists that vary only in length ("IN
// ($1, $2, $3)", multi-row "VALUES", "ARRAY[...]") collapse to one element. Two statements that differ only in
// their values get the same fingerprint; statements on different tables ("t1" and "t2") do not. A query that
// sqlc generated keeps its name, which leads the text: "-- name: GetAuthor :one" gives "GetAuthor: SELECT ..."
// (see [Name]).
//
// Normalisation is DataDog's go-sqllexer; this package adds the PostgreSQL post-passes, the statement kind and
// the tables, and a cache keyed by SQL text (see [Of]).
package fingerprint

import (
	"strings"
	"sync"
	"sync/atomic"

	sqllexer "github.com/DataDog/go-sqllexer"
)

// Kind classifies a statement by what it does.
type Kind uint8

// Statement kinds. A WITH statement takes the kind of its main statement; COPY ... FROM is an [Insert] and
// COPY ... TO a [Select]; transaction control (BEGIN, COMMIT, SAVEPOINT ...) is [Transaction].
const (
	Other Kind = iota
	Select
	Insert
	Update
	Delete
	Transaction
)

// Info is what a fingerprint knows about one SQL text.
type Info struct {
	Text   string   // the normalised statement: "SELECT name FROM users WHERE id = ?"
	Kind   Kind     // what the statement does
	Tables []string // tables read or written, in order of appearance, without duplicates
	Name   string   // the query's sqlc name ("GetAuthor" from "-- name: GetAuthor :one"), or ""
}

var (
	obfuscator = sqllexer.NewObfuscator(
		sqllexer.WithReplaceDigits(false), // keep t1 and t2 apart
		sqllexer.WithReplacePositionalParameter(true),
		sqllexer.WithReplaceBoolean(true),
		sqllexer.WithReplaceNull(true),
		sqllexer.WithDollarQuotedFunc(true),
	)
	normalizer = sqllexer.NewNormalizer(
		sqllexer.WithCollectTables(true),
		sqllexer.WithCollectCommands(true),
		sqllexer.WithUppercaseKeywords(true),
		sqllexer.WithRemoveSpaceBetweenParentheses(true),
	)
)

// MaxCached is how many distinct SQL texts [Of] keeps. Past it, new texts are computed each time: a program that
// inlines values into its SQL must not grow the cache without bound.
const MaxCached = 1 << 14

var (
	cache     sync.Map // string -> *Info
	cacheSize atomic.Int64
)

// Of returns the fingerprint of sql, computing it on first sight and caching it by the exact text. The result is
// shared: do not modify it. Of is safe for concurrent use.
func Of(sql string) *Info {
	if v, ok := cache.Load(sql); ok {
		return v.(*Info)
	}
	info := Compute(sql)
	if cacheSize.Load() < MaxCached {
		if v, loaded := cache.LoadOrStore(sql, info); loaded {
			return v.(*Info)
		}
		cacheSize.Add(1)
	}
	return info
}

// Compute returns the fingerprint of sql without the cache. It never fails: text the lexer cannot make sense of
// is returned with its whitespace collapsed.
func Compute(sql string) *Info {
	text, meta, err := sqllexer.ObfuscateAndNormalize(sql, obfuscator, normalizer, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
	if err != nil || text == "" {
		text = strings.Join(strings.Fields(sql), " ")
		meta = nil
	}
	text = collapseLists(text)
	text = tidy(text)
	info := &Info{Text: text}
	info.Kind, info.Tables = classify(text, meta)
	info.Name, _ = Name(sql)
	info.Text = named(info.Name, text)
	return info
}

// collapseLists folds the repeated groups the normaliser leaves behind: "VALUES (?), (?), (?)",
// "VALUES (?, now()), (?, now())" and "IN ((?), (?))" become one group, so a list's length does not change the
// fingerprint. (The normaliser already folds "IN (?, ?)" and "ARRAY [?, ?]".) The text holds no literals any more,
// so parentheses balance.
func collapseLists(s string) string {
	if !strings.Contains(s, "), (") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] != '(' {
			continue
		}
		end := closing(s, i)
		if end < 0 || !strings.HasPrefix(s[end+1:], ", (") {
			continue
		}
		group := s[i : end+1]
		if !strings.Contains(group, "?") {
			continue
		}
		next := end + 1
		for strings.HasPrefix(s[next:], ", "+group) {
			next += len(", ") + len(group)
		}
		if next == end+1 {
			continue
		}
		b.WriteString(s[i+1 : end+1])
		i = next - 1
	}
	return b.String()
}

// closing returns the index of the parenthesis that closes the one at open, or -1.
func closing(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// tidy undoes spacing the normaliser adds around PostgreSQL casts and arrays: "? :: int []" reads "?::int[]".
var tidier = strings.NewReplacer(" :: ", "::", " []", "[]", "ARRAY [", "ARRAY[")

func tidy(s string) string {
	if strings.Contains(s, " :: ") || strings.Contains(s, " []") || strings.Contains(s, "ARRAY [") {
		return tidier.Replace(s)
	}
	return s
}

// classify finds the statement kind and the tables of normalised text. meta is the normaliser's metadata, nil if
// normalising failed.
func classify(text string, meta *sqllexer.StatementMetadata) (Kind, []string) {
	var tables []string
	if meta != nil && len(meta.Tables) > 0 {
		tables = meta.Tables
	}
	first, rest := firstWord(text)
	switch first {
	case "SELECT", "TABLE", "VALUES":
		return Select, tables
	case "INSERT":
		return Insert, tables
	case "UPDATE":
		return Update, tables
	case "DELETE":
		return Delete, tables
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE":
		return Transaction, nil
	case "PREPARE":
		if w, _ := firstWord(rest); w == "TRANSACTION" {
			return Transaction, nil
		}
	case "COPY":
		return classifyCopy(rest)
	case "WITH":
		return mainStatement(text), tables
	}
	return Other, tables
}

// classifyCopy reads "COPY t (a, b) FROM STDIN" (an insert into t) and "COPY t TO STDOUT" or
// "COPY (SELECT ...) TO STDOUT" (a select). The normaliser takes STDIN for a table; this names the real one.
func classifyCopy(rest string) (Kind, []string) {
	kind := Insert
	if strings.Contains(" "+rest+" ", " TO ") {
		kind = Select
	}
	if strings.HasPrefix(rest, "(") { // COPY (query) TO ...
		_, meta, err := sqllexer.ObfuscateAndNormalize(rest, obfuscator, normalizer, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
		if err != nil {
			return kind, nil
		}
		return kind, meta.Tables
	}
	name := rest
	if i := strings.IndexAny(name, " ("); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		return kind, nil
	}
	return kind, []string{name}
}

// mainStatement finds the statement a WITH clause leads to: the first command outside the parentheses of the
// common table expressions.
func mainStatement(text string) Kind {
	lexer := sqllexer.New(text, sqllexer.WithDBMS(sqllexer.DBMSPostgres))
	depth := 0
	for {
		tok := lexer.Scan()
		switch tok.Type {
		case sqllexer.EOF, sqllexer.ERROR:
			return Other
		case sqllexer.PUNCTUATION:
			switch tok.Value {
			case "(":
				depth++
			case ")":
				depth--
			}
		case sqllexer.COMMAND, sqllexer.KEYWORD, sqllexer.IDENT:
			if depth != 0 {
				continue
			}
			switch strings.ToUpper(tok.Value) {
			case "SELECT", "VALUES", "TABLE":
				return Select
			case "INSERT":
				return Insert
			case "UPDATE":
				return Update
			case "DELETE":
				return Delete
			}
		}
	}
}

// firstWord splits off the first space-separated word, upper-cased.
func firstWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " (")
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return strings.ToUpper(s), ""
	}
	return strings.ToUpper(s[:i]), s[i+1:]
}
