package fingerprint

import (
	"slices"
	"testing"
)

func TestCompute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sql    string
		text   string
		kind   Kind
		tables []string
	}{
		{name: "select one", sql: "SELECT 1", text: "SELECT ?", kind: Select},
		{name: "keywords upper-cased, placeholder", sql: "select count(*) from shop_product where store_id=$1",
			text: "SELECT count(*) FROM shop_product WHERE store_id = ?", kind: Select, tables: []string{"shop_product"}},
		{name: "in list collapses", sql: "SELECT * FROM t1 WHERE id IN ($1, $2, $3) AND status = $4",
			text: "SELECT * FROM t1 WHERE id IN (?) AND status = ?", kind: Select, tables: []string{"t1"}},
		{name: "any stays apart from in", sql: "SELECT * FROM t2 WHERE id = ANY($1::int[])",
			text: "SELECT * FROM t2 WHERE id = ANY (?::int[])", kind: Select, tables: []string{"t2"}},
		{name: "multi-row values collapse", sql: "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)",
			text: "INSERT INTO t (a, b) VALUES (?)", kind: Insert, tables: []string{"t"}},
		{name: "values with expressions collapse", sql: "INSERT INTO t (a, b) VALUES ($1, now()), ($2, now())",
			text: "INSERT INTO t (a, b) VALUES (?, now())", kind: Insert, tables: []string{"t"}},
		{name: "row list in IN collapses", sql: "SELECT * FROM t WHERE (a, b) IN (($1, $2), ($3, $4), ($5, $6))",
			text: "SELECT * FROM t WHERE (a, b) IN ((?))", kind: Select, tables: []string{"t"}},
		{name: "array literal collapses", sql: "SELECT ARRAY[1,2,3]", text: "SELECT ARRAY[?]", kind: Select},
		{name: "literals and comments go", sql: "/* traceparent=00-abc */ SELECT u.id FROM users u WHERE u.email = 'a@b.c' -- trailing",
			text: "SELECT u.id FROM users u WHERE u.email = ?", kind: Select, tables: []string{"users"}},
		{name: "upsert is an insert", sql: "insert into t(a,b) values ($1,$2) on conflict (a) do update set b = excluded.b",
			kind: Insert, tables: []string{"t"}},
		{name: "with leads to select", sql: "WITH x AS (SELECT id FROM a) SELECT * FROM x JOIN b ON b.id = x.id",
			kind: Select, tables: []string{"a", "b"}},
		{name: "with leads to insert", sql: "WITH d AS (DELETE FROM a WHERE id = $1 RETURNING *) INSERT INTO arch SELECT * FROM d",
			kind: Insert, tables: []string{"a", "arch"}},
		{name: "update", sql: "update users set name = $1 where id = $2", text: "UPDATE users SET name = ? WHERE id = ?",
			kind: Update, tables: []string{"users"}},
		{name: "delete", sql: "DELETE FROM users WHERE id = $1", kind: Delete, tables: []string{"users"}},
		{name: "begin", sql: "begin", text: "BEGIN", kind: Transaction},
		{name: "begin with options", sql: "begin isolation level serializable", kind: Transaction},
		{name: "rollback", sql: "rollback", kind: Transaction},
		{name: "savepoint", sql: "SAVEPOINT sp_1", kind: Transaction},
		{name: "release", sql: "RELEASE SAVEPOINT sp_1", kind: Transaction},
		{name: "commit", sql: "COMMIT", kind: Transaction},
		{name: "copy from", sql: `COPY "orders" ( "id", "total" ) FROM STDIN BINARY`, text: "COPY orders (id, total) FROM STDIN BINARY",
			kind: Insert, tables: []string{"orders"}},
		{name: "copy to", sql: "COPY orders TO STDOUT", kind: Select, tables: []string{"orders"}},
		{name: "copy query to", sql: "COPY (SELECT * FROM orders WHERE id > 5) TO STDOUT", kind: Select, tables: []string{"orders"}},
		{name: "schema-qualified", sql: "SELECT * FROM public.users WHERE id = $1", kind: Select, tables: []string{"public.users"}},
		{name: "quoted identifiers", sql: `SELECT * FROM "Users" WHERE "Id" = $1`, text: "SELECT * FROM Users WHERE Id = ?",
			kind: Select, tables: []string{"Users"}},
		{name: "ddl is other", sql: "CREATE TABLE t (id int primary key)", kind: Other, tables: []string{"t"}},
		{name: "set is other", sql: "SET search_path = x", kind: Other},
		{name: "not sql is kept", sql: "SELEC *   FRM t", text: "SELEC * FRM t", kind: Other},
		{name: "empty", sql: "", text: "", kind: Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Compute(tt.sql)
			if tt.text != "" && got.Text != tt.text {
				t.Errorf("Text = %q, want %q", got.Text, tt.text)
			}
			if got.Kind != tt.kind {
				t.Errorf("Kind = %d, want %d (text %q)", got.Kind, tt.kind, got.Text)
			}
			if !slices.Equal(got.Tables, tt.tables) {
				t.Errorf("Tables = %q, want %q", got.Tables, tt.tables)
			}
		})
	}
}

func TestSameAndDifferent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{name: "placeholder vs literal", a: "SELECT * FROM t WHERE id = $1", b: "SELECT * FROM t WHERE id = 42", same: true},
		{name: "in list lengths", a: "SELECT * FROM t WHERE id IN ($1, $2)", b: "SELECT * FROM t WHERE id IN ($1, $2, $3, $4)", same: true},
		{name: "values rows", a: "INSERT INTO t VALUES ($1, $2)", b: "INSERT INTO t VALUES ($1, $2), ($3, $4)", same: true},
		{name: "whitespace and case", a: "select  *\n from t", b: "SELECT * FROM t", same: true},
		{name: "limits", a: "SELECT * FROM t LIMIT 10", b: "SELECT * FROM t LIMIT 20", same: true},
		{name: "trailing comment", a: "SELECT * FROM t /* request 7 */", b: "SELECT * FROM t", same: true},
		{name: "t1 and t2 apart", a: "SELECT * FROM t1 WHERE id = $1", b: "SELECT * FROM t2 WHERE id = $1", same: false},
		{name: "lookup vs batched fetch", a: "SELECT * FROM t WHERE id = $1", b: "SELECT * FROM t WHERE id = ANY($1)", same: false},
		{name: "lookup vs in list", a: "SELECT * FROM t WHERE id = $1", b: "SELECT * FROM t WHERE id IN ($1, $2)", same: false},
		{name: "different column", a: "SELECT * FROM t WHERE a = $1", b: "SELECT * FROM t WHERE b = $1", same: false},
		{name: "different operator", a: "SELECT * FROM t WHERE a = $1", b: "SELECT * FROM t WHERE a > $1", same: false},
		{name: "same shape, different tables", a: "SELECT users.* FROM users WHERE users.id = $1", b: "SELECT posts.* FROM posts WHERE posts.id = $1", same: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := Compute(tt.a).Text, Compute(tt.b).Text
			if (a == b) != tt.same {
				t.Errorf("fingerprints %q and %q: same = %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
}

func TestOfCaches(t *testing.T) {
	t.Parallel()
	sql := "SELECT id FROM cache_test WHERE id = $1"
	first := Of(sql)
	if second := Of(sql); second != first {
		t.Errorf("Of returned a new *Info for a text it has seen: %p then %p", first, second)
	}
	if got, want := first.Text, Compute(sql).Text; got != want {
		t.Errorf("cached Text = %q, want %q", got, want)
	}
}

func TestCollapseLists(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "nothing to do", in: "SELECT ?", want: "SELECT ?"},
		{name: "values", in: "VALUES (?), (?), (?)", want: "VALUES (?)"},
		{name: "different groups stay", in: "VALUES (?, ?), (?)", want: "VALUES (?, ?), (?)"},
		{name: "groups without values stay", in: "SELECT (a), (a)", want: "SELECT (a), (a)"},
		{name: "two lists", in: "IN ((?), (?)) AND x IN ((?), (?), (?))", want: "IN ((?)) AND x IN ((?))"},
		{name: "unbalanced", in: "VALUES (?), (?", want: "VALUES (?), (?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := collapseLists(tt.in); got != tt.want {
				t.Errorf("collapseLists(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzCompute(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "INSERT INTO t VALUES ($1), ($2)", "WITH a AS (SELECT 1) SELECT * FROM a", "COPY (", "COPY t (",
		"SELECT 'unterminated", "SELECT $$a$$", "((((", "))))", "VALUES (?), (", `"`, "WITH (", "-- c\nSELECT 1",
		"-- name: GetAuthor :one\nSELECT 1", "-- name:", "--",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		info := Compute(sql)
		if info == nil {
			t.Fatal("Compute returned nil")
		}
		if again := Compute(sql); again.Text != info.Text || again.Kind != info.Kind {
			t.Errorf("Compute(%q) not deterministic: %q/%d then %q/%d", sql, info.Text, info.Kind, again.Text, again.Kind)
		}
	})
}

func BenchmarkOf(b *testing.B) {
	const sql = "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.store_id = $1 AND o.status = $2 ORDER BY o.created_at DESC LIMIT 50"
	b.Run("cached", func(b *testing.B) {
		Of(sql)
		b.ReportAllocs()
		for b.Loop() {
			Of(sql)
		}
	})
	b.Run("cached-sqlc", func(b *testing.B) {
		const sqlc = "-- name: ListOrders :many\n" + sql
		Of(sqlc)
		b.ReportAllocs()
		for b.Loop() {
			Of(sqlc)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Compute(sql)
		}
	})
}

func TestName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sql      string
		query, command string
		text           string // the fingerprint's text, when checked
	}{
		{name: "sqlc one", sql: "-- name: GetAuthor :one\nSELECT id, name FROM authors\nWHERE id = $1 LIMIT 1\n",
			query: "GetAuthor", command: ":one", text: "GetAuthor: SELECT id, name FROM authors WHERE id = ? LIMIT ?"},
		{name: "sqlc many, leading blank line", sql: "\n-- name: ListBooksByAuthor :many\nSELECT id, title FROM books WHERE author_id = $1",
			query: "ListBooksByAuthor", command: ":many", text: "ListBooksByAuthor: SELECT id, title FROM books WHERE author_id = ?"},
		{name: "sqlc exec insert", sql: "-- name: CreateBook :exec\nINSERT INTO books (author_id, title) VALUES ($1, $2)",
			query: "CreateBook", command: ":exec", text: "CreateBook: INSERT INTO books (author_id, title) VALUES (?)"},
		{name: "no command", sql: "-- name: Ping\nSELECT 1", query: "Ping", text: "Ping: SELECT ?"},
		{name: "other comment", sql: "-- fetch the author\nSELECT 1", text: "SELECT ?"},
		{name: "name later in the text", sql: "SELECT 1 -- name: X :one", text: "SELECT ?"},
		{name: "not an identifier", sql: "-- name: a-b :one\nSELECT 1", text: "SELECT ?"},
		{name: "block comment", sql: "/* name: GetAuthor :one */ SELECT 1", text: "SELECT ?"},
		{name: "empty name", sql: "-- name:\nSELECT 1", text: "SELECT ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			query, command := Name(tt.sql)
			if query != tt.query || command != tt.command {
				t.Errorf("Name = %q, %q; want %q, %q", query, command, tt.query, tt.command)
			}
			info := Compute(tt.sql)
			if info.Name != tt.query {
				t.Errorf("Info.Name = %q, want %q", info.Name, tt.query)
			}
			if tt.text != "" && info.Text != tt.text {
				t.Errorf("Text = %q, want %q", info.Text, tt.text)
			}
		})
	}
}

func TestNamedKeepsKindAndTables(t *testing.T) {
	t.Parallel()
	info := Compute("-- name: DeleteBook :exec\nDELETE FROM books WHERE id = $1")
	if info.Kind != Delete || !slices.Equal(info.Tables, []string{"books"}) {
		t.Errorf("Kind, Tables = %d, %q; want Delete, [books]", info.Kind, info.Tables)
	}
	if a, b := Compute("-- name: GetA :one\nSELECT 1 FROM t").Text, Compute("-- name: GetB :one\nSELECT 1 FROM t").Text; a == b {
		t.Errorf("two sqlc names share the fingerprint %q", a)
	}
}
