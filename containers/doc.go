// Package containers gives every test a real, tuned PostgreSQL server and
// a database of its own.
//
//	srv := containers.Postgres(t)   // shared, tuned, cleaned up
//	db := srv.Database(t)           // fresh, isolated, dropped at cleanup
//	pool := db.Pool(t)              // or db.SQL(t), or db.DSN()
//
// The server comes from the first provider that works: an existing server
// named by DBSUITE_POSTGRES_URL (a CI service container), or the
// PostgreSQL binaries installed on the machine (initdb, postgres), started
// from a cached, tuned data directory in a private directory, as an
// unprivileged user when the tests run as root. A local server is shared
// by all the test binaries of one `go test` run and is stopped and
// removed when the last of them exits, even if it is killed.
//
// [Tune] applies settings to any server the way a CI service container
// must be tuned: ALTER SYSTEM, reload, restart when needed and allowed,
// and verification with SHOW. The command containers/cmd/pgtune does the
// same from a workflow step.
package containers
