package callsite

import "testing"

func TestLibraryOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frames []string // library frames from the query outwards, up to the first user frame
		want   string
	}{
		{name: "pgx pool", frames: []string{"github.com/dbsuite/dbsuite/assertq.(*Tracer).TraceQueryStart",
			"github.com/jackc/pgx/v5.(*Conn).Query", "github.com/jackc/pgx/v5/pgxpool.(*Pool).Query"}, want: Pgx},
		{name: "database/sql over pgx stdlib", frames: []string{"github.com/dbsuite/dbsuite/assertq.(*conn).QueryContext",
			"database/sql.ctxDriverQuery", "database/sql.(*DB).QueryContext"}, want: DatabaseSQL},
		{name: "pgx tracer under database/sql", frames: []string{"github.com/jackc/pgx/v5.(*Conn).Query",
			"github.com/jackc/pgx/v5/stdlib.(*Conn).QueryContext", "database/sql.(*DB).QueryContext"}, want: DatabaseSQL},
		{name: "gorm", frames: []string{"database/sql.(*DB).QueryContext", "gorm.io/gorm/callbacks.Query",
			"gorm.io/gorm.(*processor).Execute", "gorm.io/gorm.(*DB).Find"}, want: GORM},
		{name: "gorm driver over pgx", frames: []string{"github.com/jackc/pgx/v5.(*Conn).Query",
			"gorm.io/driver/postgres.(*Dialector).Initialize.func1", "gorm.io/gorm.(*DB).First"}, want: GORM},
		{name: "bun over pgdriver", frames: []string{"database/sql.(*DB).QueryContext",
			"github.com/uptrace/bun.(*DB).QueryContext", "github.com/uptrace/bun.(*SelectQuery).Scan"}, want: Bun},
		{name: "sqlx", frames: []string{"database/sql.(*DB).QueryContext", "github.com/jmoiron/sqlx.(*DB).Select"}, want: Sqlx},
		{name: "unknown wrapper keeps the library under it", frames: []string{"github.com/jackc/pgx/v5.(*Conn).Query",
			"github.com/georgysavva/scany/v2/pgxscan.Select", "github.com/acme/dbutil.Get"}, want: Pgx},
		{name: "lib/pq alone", frames: []string{"github.com/lib/pq.(*conn).query"}, want: ""},
		{name: "no frames", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ""
			for _, fn := range tt.frames {
				got = libraryOf(fn, got)
			}
			if got != tt.want {
				t.Errorf("library = %q, want %q", got, tt.want)
			}
		})
	}
}
