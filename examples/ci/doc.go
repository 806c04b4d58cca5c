// Package ci shows how a test suite gets its PostgreSQL in CI and on a
// laptop, and checks that the server it got is tuned for tests.
//
// Run it with
//
//	go test -v ./examples/ci/
//
// With nothing set, dbsuite starts the PostgreSQL installed on the machine.
// In GitHub Actions, workflow.yml in this directory runs the same tests
// against a service container that pgtune tuned.
package ci
