package assertq

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/dbsuite/dbsuite/internal/callsite"
	"github.com/dbsuite/dbsuite/internal/fingerprint"
)

// Fixes in the user's terms. A finding's fix names the remedy of the library the user's code called: GORM's
// Preload and CreateInBatches to a GORM user, bun's Relation to a bun user, sqlx.In to an sqlx user, a sqlc query
// of its own to sqlc-generated code, pgx's CopyFrom and = ANY($1) to a pgx user. The library comes from the call
// stack the recorder captured anyway (the library frames between the query and the user's first frame, see
// callsite.Stack.Library) and, for sqlc, from the "-- name: GetAuthor :one" comment its SQL starts with.

// library is the database library a query went through: one of callsite's names, or sqlcLib.
type library = string

// libraryID is a library as a [Query] keeps it: one byte (a Recorder under Strict may hold a million queries), an
// index into libraryNames.
type libraryID uint8

// libraryNames are the libraries a call stack can show, by libraryID; 0 is none known.
var libraryNames = []library{"", callsite.GORM, callsite.Bun, callsite.Sqlx, callsite.Pgx, callsite.DatabaseSQL}

// idOf returns the libraryID of a library's name, 0 for one it does not know.
func idOf(name library) libraryID {
	return libraryID(max(0, slices.Index(libraryNames, name)))
}

// sqlcLib names sqlc-generated code, known from its SQL rather than from frames (the generated code calls pgx or
// database/sql).
const sqlcLib library = "sqlc"

// situation is what a finding's repeated queries do: each has its own remedy.
type situation uint8

const (
	lookupLoop     situation = iota // reads, one per execution: an N+1
	batchedLookups                  // reads queued in one pgx batch
	insertLoop                      // row-by-row INSERTs
	changeLoop                      // row-by-row UPDATEs or DELETEs
	duplicateRead                   // the same read with the same arguments
)

// remedy returns f's fix in the terms of the library its queries went through, or "" to keep the generic fix.
func remedy(f Finding) string {
	q := &f.Queries[0]
	s := lookupLoop
	switch {
	case f.Kind == Duplicate:
		s = duplicateRead
	case f.Kind == RowByRow && q.Kind == Insert:
		s = insertLoop
	case f.Kind == RowByRow:
		s = changeLoop
	case f.inBatch():
		s = batchedLookups
	}
	return remedyFor(s, libraryOf(q), q, f.Kind != Duplicate && f.values() != "arguments")
}

// libraryOf names the library q went through: sqlc when its SQL carries sqlc's name, else the library its call
// stack showed.
func libraryOf(q *Query) library {
	if name, _ := fingerprint.Name(q.SQL); name != "" {
		return sqlcLib
	}
	return libraryNames[q.lib]
}

// remedyFor is the fix for situation s through library lib; q is one of the repeated queries and literals says
// that their values are written into the SQL text. It returns "" where the library has nothing of its own to say.
func remedyFor(s situation, lib library, q *Query, literals bool) string {
	table := firstTable(q)
	field := fieldName(table)
	var fix string
	switch s {
	case duplicateRead, batchedLookups:
		return ""
	case lookupLoop:
		key, children := lookupKey(q)
		switch {
		case lib == callsite.GORM && children:
			fix = "load " + table + " with the query that finds their parents, not one query per parent: " +
				`.Preload("` + camel(table) + `") on it (one more query for all of them), naming the has-many association field that holds them`
		case lib == callsite.GORM && key != "id":
			fix = "fetch " + table + " in one query, not one per value: db.Where(\"" + key + " IN ?\", values).Find(&rows)"
		case lib == callsite.GORM:
			fix = "load " + table + " with the query that finds their parents, not one query per row: " +
				`.Preload("` + field + `") (one more query for all of them) or .Joins("` + field + `") (one JOIN, for belongs-to and has-one), ` +
				"naming the association field that holds them; or db.Find(&rows, ids) for keys from elsewhere"
		case lib == callsite.Bun && children:
			fix = "load " + table + " with the query that finds their parents, not one query per parent: " +
				`.Relation("` + camel(table) + `") on it (one more query for all of them), naming the has-many or m2m relation field that holds them`
		case lib == callsite.Bun && key != "id":
			fix = "fetch " + table + " in one query, not one per value: db.NewSelect().Model(&rows).Where(\"" + key + " IN (?)\", bun.In(values))"
		case lib == callsite.Bun:
			fix = "load " + table + " with the query that finds their parents, not one query per row: " +
				`.Relation("` + field + `") on that query (a JOIN for belongs-to and has-one, one more query for has-many and m2m), ` +
				"naming the relation field that holds them; or .Where(\"id IN (?)\", bun.In(ids)) for keys from elsewhere"
		case lib == callsite.Sqlx:
			fix = "fetch " + table + " in one query, not one per row: " +
				`query, args, _ := sqlx.In("SELECT ... WHERE ` + key + ` IN (?)", keys) then db.Select(&rows, db.Rebind(query), args...), ` +
				"or WHERE " + key + " = ANY($1) with the keys as one array"
		case lib == sqlcLib:
			name, _ := fingerprint.Name(q.SQL)
			fix = "fetch " + table + " in one call, not " + name + " once per row: add a :many query that takes every key at once " +
				"(-- name: " + name + "s :many ... WHERE " + key + " = ANY(@" + key + "s::bigint[])), or a JOIN in the query that finds their parents"
		}
	case insertLoop:
		switch lib {
		case callsite.GORM:
			fix = "insert the rows in one statement: db.Create(&rows) with a slice (one multi-row INSERT), or db.CreateInBatches(&rows, 1000) for many rows"
		case callsite.Bun:
			fix = "insert the rows in one statement: db.NewInsert().Model(&rows).Exec(ctx) with a slice (one multi-row INSERT)"
		case callsite.Sqlx:
			fix = "insert the rows in one statement: db.NamedExec(`INSERT INTO " + table + " (a, b) VALUES (:a, :b)`, rows) with a slice of structs or maps (one multi-row VALUES)"
		case sqlcLib:
			name, _ := fingerprint.Name(q.SQL)
			fix = "write all the rows in one call, not " + name + " once per row: a :copyfrom query (pgx), a :batchexec query, " +
				"or INSERT ... SELECT * FROM unnest(@a::bigint[], @b::text[])"
		case callsite.DatabaseSQL:
			fix = "write all the rows in one statement: INSERT ... SELECT * FROM unnest($1::bigint[], $2::text[]) with one array per column, " +
				"a multi-row VALUES list, or pgx's CopyFrom through sql.Conn.Raw"
		}
	case changeLoop:
		verb := "update"
		if q.Kind == Delete || (lib == callsite.GORM && softDelete(q)) {
			verb = "delete"
		}
		switch lib {
		case callsite.GORM:
			if verb == "delete" {
				fix = "delete the rows in one statement: db.Delete(&" + field + "{}, ids), or db.Where(\"id IN ?\", ids).Delete(&" + field + "{})"
			} else {
				fix = "update the rows in one statement: db.Model(&" + field + "{}).Where(\"id IN ?\", ids).Updates(...), " +
					"or one UPDATE ... FROM (VALUES ...) with db.Exec when each row gets its own values"
			}
		case callsite.Bun:
			if verb == "delete" {
				fix = "delete the rows in one statement: db.NewDelete().Model(&rows).WherePK().Exec(ctx) with a slice"
			} else {
				fix = "update the rows in one statement: db.NewUpdate().Model(&rows).Column(...).Bulk().Exec(ctx) with a slice"
			}
		case callsite.Sqlx:
			fix = verb + " the rows in one statement: WHERE id IN (?) through sqlx.In and db.Rebind, or WHERE id = ANY($1) with the ids as one array"
		case sqlcLib:
			name, _ := fingerprint.Name(q.SQL)
			fix = verb + " the rows in one call, not " + name + " once per row: a query over arrays " +
				"(WHERE id = ANY(@ids::bigint[]), or FROM unnest(@ids::bigint[], @vals::text[]) when each row gets its own values), or a :batchexec query"
		case callsite.Pgx:
			fix = verb + " the rows in one statement over arrays (WHERE id = ANY($1), or FROM unnest($1::bigint[], $2::text[]) when each row gets its own values), " +
				"or queue them in one pgx.Batch"
		case callsite.DatabaseSQL:
			fix = verb + " the rows in one statement over arrays: WHERE id = ANY($1), or FROM unnest($1::bigint[], $2::text[]) when each row gets its own values"
		}
	}
	if fix == "" {
		return ""
	}
	if literals {
		fix += literalsFix(lib)
	}
	return fix
}

// softDelete reports whether q is GORM's soft delete: an UPDATE that sets deleted_at and nothing else.
func softDelete(q *Query) bool {
	return q.Kind == Update && strings.Contains(q.Fingerprint, " SET deleted_at = ? WHERE ")
}

// literalsFix is what a fix adds when the values of the repeated queries are written into the SQL text. bun
// writes values into the SQL on purpose (it formats queries client-side), so a bun user gets nothing to add.
func literalsFix(lib library) string {
	switch lib {
	case callsite.GORM:
		return `; and pass values as arguments (Where("id = ?", id)), not formatted into the SQL`
	case callsite.Sqlx:
		return "; and pass values as arguments ($1, or ? with db.Rebind), not formatted into the SQL"
	case callsite.Pgx, callsite.DatabaseSQL:
		return "; and pass values as parameters ($1), not in the SQL text"
	}
	return ""
}

// lookupWhere finds the column a lookup's WHERE compares first, in a fingerprint: "WHERE authors.id = ?",
// "WHERE (a.author_id = ?)", "WHERE author_id IN (?)".
var lookupWhere = regexp.MustCompile(`WHERE \(*(?:\w+\.)?(\w+) (?:= |IN )`)

// lookupKey returns the column a repeated lookup selects its rows by ("id" when unknown), and whether that is a
// parent's key (author_id): the loop then loads each parent's children, a has-many association, rather than one
// row per key (belongs-to, has-one).
func lookupKey(q *Query) (key string, children bool) {
	m := lookupWhere.FindStringSubmatch(q.Fingerprint)
	if m == nil {
		return "id", false
	}
	key = m[1]
	return key, key != "id" && strings.HasSuffix(key, "_id")
}

// firstTable names the table a query works on for a message: its first table without schema or quotes, or
// "the rows".
func firstTable(q *Query) string {
	if len(q.Tables) == 0 {
		return "the rows"
	}
	t := q.Tables[0]
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	t = strings.Trim(t, `"`)
	if t == "" {
		return "the rows"
	}
	return t
}

// fieldName guesses the Go name of the field or model that holds a table's rows, for examples in fixes:
// "authors" → "Author", "book_tags" → "BookTag"; "Assoc" when the table is unknown. It is a guess; the messages
// say what it stands for.
func fieldName(table string) string {
	if table == "the rows" { // no table known: a placeholder the message explains
		return "Assoc"
	}
	switch {
	case strings.HasSuffix(table, "ies"):
		table = strings.TrimSuffix(table, "ies") + "y"
	case strings.HasSuffix(table, "sses"), strings.HasSuffix(table, "xes"):
		table = table[:len(table)-2]
	case strings.HasSuffix(table, "s") && !strings.HasSuffix(table, "ss"):
		table = table[:len(table)-1]
	}
	return camel(table)
}

// camel writes a table name as a Go name: "book_tags" → "BookTags".
func camel(table string) string {
	var b strings.Builder
	upper := true
	for _, r := range table {
		if r == '_' || r == '-' || r == ' ' {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "Rows"
	}
	return b.String()
}
