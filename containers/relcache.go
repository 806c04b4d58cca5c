package containers

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Relation cache init files
//
// A backend's first step in a database is to load the relation cache of
// its catalogs from the database's pg_internal.init; when the file is
// missing, the backend builds the cache from the catalogs, row by row, and
// writes the file for the next one. CREATE DATABASE ... STRATEGY FILE_COPY
// (every clone when fsync is off: clone.go) copies the file with the rest
// of the template, so a template that has it hands it to every clone, and
// one that has not makes the first connection of every clone build it.
// Measured on PostgreSQL 15 on this project's 2-core machine, 200 rounds
// of clone template1, connect, three statements, drop: the connection
// takes 6.0 ms without the file and 2.9 ms with it, and the whole round
// 26 ms of CPU against 19 (on the Intel VM of earlier rounds, a clone's
// first connection: 5 ms against 11-23 ms).
//
// The server removes every init file when it starts, and VACUUM of a
// database's catalogs removes that database's (planKeep's VACUUM (FREEZE)
// does). So a server's first connection goes to template1 (launch, the
// Docker provider's start, and on a server dbsuite did not start,
// primeTemplate1 at the existing provider's start), and a template is
// connected to once more after it is built, before it is sealed: each
// writes the file again.

// primeRelcache opens a connection to the database of dsn and closes it,
// which leaves the database's relation cache init file in place.
func primeRelcache(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// primeTemplate1 writes template1's relation cache init file on a server
// dbsuite did not start, as the existing provider starts it: on a server
// someone else started, such as a CI service container, nothing may have
// connected to template1 since. Only a FILE_COPY clone copies the file. A
// CREATE DATABASE from template1 that another process runs while this
// connection is open fails and is retried (createFrom).
func (s *Server) primeTemplate1(ctx context.Context) {
	if !s.fileCopy() {
		return
	}
	d, err := dsn.WithDatabase(s.dsn, "template1")
	if err != nil {
		return
	}
	// A hint: a refusal or a slow answer costs the clones their cache,
	// not the run its start.
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = primeRelcache(pctx, d)
}
