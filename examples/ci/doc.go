// Package ci shows how a test suite gets its PostgreSQL in CI and on a
// laptop, and checks that the server it got is tuned for tests.
//
// Run it with
//
//	go test -v ./examples/ci/
//
// With nothing set, dbsuite starts the PostgreSQL installed on the machine;
// with DBSUITE_PROVIDER=docker, a container (DBSUITE_POSTGRES_IMAGE names
// the image). In GitHub Actions, workflow.yml in this directory runs the
// same tests three ways: against a service container given its settings
// with the command: key and verified by pgtune, against one tuned by
// pgtune with ALTER SYSTEM and docker restart, and on the Docker provider.
package ci
