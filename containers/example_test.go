package containers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/containers"
)

// Postgres and Database in a test: a shared, tuned server, and a database
// of the test's own, dropped when it ends.
func ExamplePostgres() {
	testOrders := func(t *testing.T) {
		srv := containers.Postgres(t)
		pool := srv.Database(t).Pool(t)
		if _, err := pool.Exec(t.Context(), "CREATE TABLE orders (id bigint PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
	}
	_ = testOrders
}

// A template is built once (schema, seed data) and cloned for each test.
func ExampleWithTemplate() {
	const schema = `CREATE TABLE product (id bigint PRIMARY KEY, name text NOT NULL)`
	shop := containers.NewTemplate("shop", containers.HashOf(schema), func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, schema)
		return err
	})
	testProducts := func(t *testing.T) {
		db := containers.Postgres(t).Database(t, containers.WithTemplate(shop))
		_ = db.Pool(t)
	}
	_ = testProducts
}

// Tune's errors say what went wrong and what to do, and never show the
// password, even in a connection string it refuses before connecting.
func ExampleTune() {
	_, err := containers.Tune(context.Background(),
		"mysql://ci:hunter2@127.0.0.1:5432/postgres?sslmode=disable", containers.ThrowawaySettings())
	fmt.Println(err)
	// Output:
	// containers: Tune refused the connection string, want a postgres:// or postgresql:// URL, or keyword/value pairs
	//   mysql://ci:xxxxx@127.0.0.1:5432/postgres?sslmode=disable
	//   scheme "mysql", want postgres:// or postgresql://
	// fix: write the connection string as postgres://user:password@host:5432/db?sslmode=disable
}

func ExampleReport_String() {
	r := containers.Report{
		Settings: []containers.SettingResult{
			{Name: "fsync", Want: "off", Before: "on", After: "off", Context: "sighup", Status: containers.StatusApplied},
			{Name: "wal_level", Want: "minimal", Before: "replica", After: "replica", Context: "postmaster",
				Status: containers.StatusRestartNeeded, Problem: "takes effect after a restart"},
		},
		RestartCommand: "docker restart 0123abcd",
	}
	fmt.Print(r)
	// Output:
	// setting    want     before   after    context     status
	// fsync      off      on       off      sighup      applied
	// wal_level  minimal  replica  replica  postmaster  needs restart
	// wal_level: takes effect after a restart
	// restart the server to apply the rest: docker restart 0123abcd
}
