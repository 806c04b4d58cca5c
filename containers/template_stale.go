package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Old templates on a server that outlives the run
//
// Each template database records when a test binary last used it, in its
// comment ("dbsuite template, last used 2026-11-26T12:00:00Z"), at most
// every touchEvery per process. When a new version of a template is
// built, the versions of the same name unused for staleAfter are dropped:
// a binary still running an older checkout keeps its version alive by
// using it. [Clean] removes everything.
const (
	touchEvery = 10 * time.Minute
	staleAfter = time.Hour
)

// touchTemplate records that this process uses the template name.
func (s *Server) touchTemplate(ctx context.Context, name string) {
	s.mu.Lock()
	if s.touched == nil {
		s.touched = map[string]time.Time{}
	}
	if time.Since(s.touched[name]) < touchEvery {
		s.mu.Unlock()
		return
	}
	s.touched[name] = time.Now()
	s.mu.Unlock()
	pool, err := s.adminPool(ctx)
	if err != nil {
		return
	}
	_, _ = pool.Exec(context.WithoutCancel(ctx), markUsed(name))
}

// markUsed is the statement that records in the template name's comment
// that it is used now (server time). A template is marked when it is
// sealed, so that no build of another version running at the same time
// takes a template just built for one unused since forever.
func markUsed(name string) string {
	// The name is made of letters, digits and underscores (templateNameRE
	// and a hex hash): it can be written into the block.
	return fmt.Sprintf(`DO $$ BEGIN
		EXECUTE format('COMMENT ON DATABASE %%I IS %%L', '%s',
			'dbsuite template, last used ' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
	END $$`, name)
}

// dropStaleTemplates drops the other versions of the template name that
// no test binary used for staleAfter: the same prefix followed by another
// hash of the same length (so "shop_x0_04" never takes "shop_x0_04_big").
// conn is on the maintenance database.
func (s *Server) dropStaleTemplates(ctx context.Context, conn *pgx.Conn, name string) {
	prefix := name[:len(name)-12] // name ends with 12 hex digits of hash
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database
		WHERE datistemplate AND left(datname, length($1)) = $1 AND length(datname) = length($2) AND datname <> $2
		AND coalesce(substring(shobj_description(oid, 'pg_database') FROM 'last used (\S+)')::timestamptz, '-infinity')
			< now() - make_interval(secs => $3)`, prefix, name, staleAfter.Seconds())
	if err != nil {
		return
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, old := range stale {
		_ = dropTemplate(ctx, conn, old)
	}
}

// dropTemplate drops a template database.
func dropTemplate(ctx context.Context, conn *pgx.Conn, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE false"); err != nil {
		return err
	}
	return dropDB(ctx, conn, name)
}

// Clean removes every database dbsuite made on the server at dsn (a role
// that may drop them): test databases a killed binary left, databases
// kept by DBSUITE_KEEP_FAILED=1, the databases of [Server.Tx], and every
// version of every template. It returns the names it dropped. Run it when
// no tests run on that server: it drops databases in use too.
//
// A local server started by dbsuite needs no cleaning: it is removed with
// everything on it when the last test binary exits.
func Clean(ctx context.Context, dsn string) ([]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("containers: clean: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT datname, datistemplate FROM pg_database WHERE datname LIKE 'dbsuite\_%' ORDER BY datname`)
	if err != nil {
		return nil, fmt.Errorf("containers: clean: %w", err)
	}
	type db struct {
		name     string
		template bool
	}
	dbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (db, error) {
		var d db
		return d, r.Scan(&d.name, &d.template)
	})
	if err != nil {
		return nil, fmt.Errorf("containers: clean: %w", err)
	}
	var dropped []string
	for _, d := range dbs {
		if d.template {
			err = dropTemplate(ctx, conn, d.name)
		} else {
			err = dropDB(ctx, conn, d.name)
		}
		if err != nil {
			return dropped, fmt.Errorf("containers: clean: drop %s: %w", d.name, err)
		}
		dropped = append(dropped, d.name)
	}
	return dropped, nil
}
