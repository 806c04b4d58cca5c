// Package ormtest holds what the example's tests share: a database with the catalogue, a database/sql handle
// recorded by an assertq.Recorder, and checks of what dbsuite reports through a fake test (dbsuite's internal/faketb).
package ormtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/assertq"
	"github.com/dbsuite/dbsuite/containers"
	"github.com/dbsuite/dbsuite/examples/orm"
	"github.com/dbsuite/dbsuite/internal/faketb"
)

// Catalogue returns a fresh database holding the catalogue (orm.Schema, orm.Seed), loaded unrecorded.
func Catalogue(t testing.TB) *containers.Database {
	t.Helper()
	db := containers.Postgres(t).Database(t)
	if _, err := db.Pool(t).Exec(context.Background(), orm.Schema+orm.Seed); err != nil {
		t.Fatalf("loading the catalogue: %v", err)
	}
	return db
}

// SQL returns a database/sql handle on db (pgx's stdlib driver) whose statements rec records.
func SQL(t testing.TB, db *containers.Database, rec *assertq.Recorder) *sql.DB {
	t.Helper()
	return db.SQL(t, containers.WithConnector(rec.Connector))
}

// Site returns "file.go:N (pkg.Func)" for the line of file (in the test's package directory) that contains code,
// the call site a report should name: tests then survive edits that move the line.
func Site(t testing.TB, file, code, fn string) string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, code) {
			return fmt.Sprintf("%s:%d (%s)", filepath.Base(file), i+1, fn)
		}
	}
	t.Fatalf("%s has no line with %q", file, code)
	return ""
}

// Reports checks what dbsuite reported through a fake TB: it must say every one of want. It prints the report
// (go test -v) as a user's test would print it.
func Reports(t *testing.T, report string, want ...string) {
	t.Helper()
	if report == "" {
		t.Fatalf("dbsuite reported nothing, want a report saying %q", want)
	}
	t.Logf("what dbsuite reports:\n%s", report)
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("the report lacks %q", w)
		}
	}
}

// ReportsNot checks that a report says none of unwanted.
func ReportsNot(t *testing.T, report string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(report, u) {
			t.Errorf("the report says %q, want it not to", u)
		}
	}
}

// Caught runs run in an assertq.Expect block checked by NoNPlusOne, through a fake TB, and checks that dbsuite
// reports every one of want (see [Reports]). It returns the report.
func Caught(t *testing.T, rec *assertq.Recorder, run func(ctx context.Context) error, want ...string) string {
	t.Helper()
	fake := faketb.New(t, "") // keeps what dbsuite reports instead of failing t
	fake.Run(func(tb testing.TB) {
		assertq.Expect(tb, rec, func(ctx context.Context) {
			if err := run(ctx); err != nil {
				t.Fatal(err)
			}
		}, assertq.NoNPlusOne())
	})
	report := fake.Failures()
	Reports(t, report, want...)
	return report
}

// SameLines checks that a page has the catalogue's orm.Books lines, equal to want's.
func SameLines(t *testing.T, got, want []orm.Line) {
	t.Helper()
	if len(got) != orm.Books || len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), orm.Books)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d = %v, want %v", i, got[i], want[i])
		}
	}
}
