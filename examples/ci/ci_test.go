package ci

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbsuite/dbsuite/containers"
)

// settingsThatMatter are the settings that make a test server fast, with
// the value a tuned server shows.
var settingsThatMatter = []string{"fsync", "synchronous_commit", "full_page_writes", "wal_level", "autovacuum", "jit", "max_connections"}

// TestServer provisions PostgreSQL the way every test in a suite does,
// prints what it got, and fails when the server is not tuned for tests:
// the check to keep in a suite that runs against a CI service container.
func TestServer(t *testing.T) {
	t0 := time.Now()
	srv := containers.Postgres(t)
	t.Logf("server: %s", srv)
	t.Logf("provider %q, PostgreSQL %s, ready in %v", srv.Provider(), srv.Version(), time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	db := srv.Database(t)
	t.Logf("database %s handed out in %v", db.Name(), time.Since(t0).Round(time.Microsecond))

	pool := db.Pool(t)
	var b strings.Builder
	want := containers.ThrowawaySettings()
	var untuned []string
	for _, name := range settingsThatMatter {
		var got string
		if err := pool.QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatalf("SHOW %s: %v", name, err)
		}
		mark := ""
		if got != want[name] {
			mark = "   <- not tuned"
			untuned = append(untuned, name)
		}
		fmt.Fprintf(&b, "\n  %-20s %-10s%s", name, got, mark)
	}
	t.Logf("settings:%s", b.String())
	if len(untuned) > 0 {
		t.Errorf("the server is not tuned for tests (%s); tune it with:\n"+
			"  go run github.com/dbsuite/dbsuite/containers/cmd/pgtune -dsn \"$DBSUITE_POSTGRES_URL\" -restart \"docker restart <container>\"",
			strings.Join(untuned, ", "))
	}
}

// TestDatabasesAreIsolated shows the per-test database at work: parallel
// tests each create the same table without seeing one another.
func TestDatabasesAreIsolated(t *testing.T) {
	srv := containers.Postgres(t)
	for i := range 4 {
		t.Run(fmt.Sprint("test", i), func(t *testing.T) {
			t.Parallel()
			pool := srv.Database(t).Pool(t)
			if _, err := pool.Exec(t.Context(), "CREATE TABLE account (id int PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(t.Context(), "INSERT INTO account VALUES ($1)", i); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM account").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("the test's database holds %d accounts, want only its own 1", n)
			}
		})
	}
}
