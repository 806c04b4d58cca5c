package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Kept databases (DBSUITE_KEEP_FAILED=1)
//
// A kept database carries a comment that the sweep of later test binaries
// respects; on a local server, a "keep" file in the server's directory
// keeps the server up (its supervisor and Postgres's cleanup leave it
// running) until the user runs the logged stop command.

// keptComment marks a database that DBSUITE_KEEP_FAILED kept.
const keptComment = "dbsuite: kept by DBSUITE_KEEP_FAILED"

// notKept narrows a query on pg_database to databases not kept.
const notKept = ` AND coalesce(shobj_description(oid, 'pg_database'), '') <> '` + keptComment + `'`

// keepServer marks the database name kept, keeps a local server up, and
// returns how to clean up, for the log.
func (s *Server) keepServer(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ident := pgx.Identifier{name}.Sanitize()
	if pool, err := s.adminPool(ctx); err == nil {
		_, _ = pool.Exec(ctx, "COMMENT ON DATABASE "+ident+" IS '"+keptComment+"'")
	}
	drop := fmt.Sprintf("\ndrop it with: psql %q -c 'DROP DATABASE %s WITH (FORCE)'", dsn.Redact(s.dsn), ident)
	if s.docker != nil {
		return s.docker.keep(name) + drop
	}
	if s.owned == nil {
		return drop
	}
	return "\nthe server stays up after the tests until you stop it: " + s.owned.keep() + drop
}
