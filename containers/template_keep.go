//go:build unix

package containers

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Templates that survive the run
//
// A local server dies with the run, and its templates with it. So that
// an unchanged data set costs nothing on the next run, a template built
// on a local server is kept in the cache, next to the data directory the
// server was copied from: the files of its database directory, taken
// after VACUUM (FREEZE) (no row depends on a transaction of this run) and
// a CHECKPOINT. The next run makes an empty database from template0 with
// FILE_COPY (nothing of it in shared buffers), puts the kept files in its
// place, moves the transaction counter past the kept one's, checks that
// it answers, and seals it. The cache directory is keyed by the binaries
// and settings; the kept template by its name and content hash.
//
// Every page of the kept files has its LSN cleared when it is saved: a
// page records the position in the WAL of its last change, and the
// server that restores it has a WAL of its own, usually behind the one
// that wrote the page; a page ahead of the WAL makes the next checkpoint
// that flushes it (the one CREATE DATABASE ... FILE_COPY requests) fail
// with "xlog flush request ... is not satisfied". A page whose LSN is 0
// was never WAL-logged, which a frozen, checkpointed page may claim.
//
// Not kept: a template that refers to what the server shares between
// databases (a role SetupTemplate made, a GRANT to one, a tablespace),
// since a copy of one database's files cannot carry it.

// keepPlan says whether a template just built can be kept, and the
// transaction counter after it was frozen.
type keepPlan struct {
	ok        bool
	why       string // why not
	xid       int64
	blockSize int // the server's page size (block_size)
}

// keptVersions is how many versions of one template the cache keeps.
const keptVersions = 2

// planKeep freezes a template just built, on its own connection, and
// says whether it can be kept.
func (s *Server) planKeep(ctx context.Context, tconn *pgx.Conn) keepPlan {
	if s.tplCache == "" || s.local == nil {
		return keepPlan{}
	}
	var shared, spaces int
	err := tconn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM pg_shdepend WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())),
		(SELECT count(*) FROM pg_class WHERE reltablespace <> 0 AND NOT relisshared)`).Scan(&shared, &spaces)
	switch {
	case err != nil:
		return keepPlan{why: fmt.Sprintf("not kept for the next run: %v", err)}
	case shared > 0:
		return keepPlan{why: "not kept for the next run: it refers to roles (OWNER TO, GRANT) or other objects the server shares between databases"}
	case spaces > 0:
		return keepPlan{why: "not kept for the next run: it has relations in a tablespace of their own"}
	}
	if _, err := tconn.Exec(ctx, "VACUUM (FREEZE)"); err != nil {
		return keepPlan{why: fmt.Sprintf("not kept for the next run: VACUUM (FREEZE): %v", err)}
	}
	var xid int64
	var checksums string
	var blockSize int
	err = tconn.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint, current_setting('data_checksums'), current_setting('block_size')::int").
		Scan(&xid, &checksums, &blockSize)
	switch {
	case err != nil:
		return keepPlan{why: fmt.Sprintf("not kept for the next run: %v", err)}
	case checksums != "off":
		// clearPageLSNs would invalidate every page's checksum.
		return keepPlan{why: "not kept for the next run: the server has data checksums on"}
	}
	return keepPlan{ok: true, xid: xid, blockSize: blockSize}
}

// saveKept copies the sealed template's files into the cache, and says
// so (or why not) for the log.
func (s *Server) saveKept(ctx context.Context, conn *pgx.Conn, name string, plan keepPlan) string {
	if !plan.ok {
		return plan.why
	}
	// Its pages, frozen, go from shared buffers to the files.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Sprintf("not kept for the next run: CHECKPOINT: %v", err)
	}
	src, err := s.databaseDir(ctx, conn, name)
	if err != nil {
		return fmt.Sprintf("not kept for the next run: %v", err)
	}
	if err := os.MkdirAll(s.tplCache, 0o700); err != nil {
		return fmt.Sprintf("not kept for the next run: %v", err)
	}
	final := filepath.Join(s.tplCache, name)
	tmp := final + ".tmp-" + randomHex(4)
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Sprintf("not kept for the next run: %v", err)
	}
	if err := copyTree(src, filepath.Join(tmp, "files"), nil); err != nil {
		return fmt.Sprintf("not kept for the next run: copy %s: %v", src, err)
	}
	// Rebuilt by the first connection; it names this run's files.
	_ = os.Remove(filepath.Join(tmp, "files", "pg_internal.init"))
	if err := clearPageLSNs(filepath.Join(tmp, "files"), plan.blockSize); err != nil {
		return fmt.Sprintf("not kept for the next run: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "xid"), []byte(strconv.FormatInt(plan.xid, 10)), 0o600); err != nil {
		return fmt.Sprintf("not kept for the next run: %v", err)
	}
	if err := os.Rename(tmp, final); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(final); statErr != nil {
			return fmt.Sprintf("not kept for the next run: %v", err)
		}
	}
	s.pruneKept(name)
	return "kept in the cache for the next run (" + final + ")"
}

// restoreKept makes the template database name from the files a run
// before kept, and reports whether it could.
func (s *Server) restoreKept(ctx context.Context, conn *pgx.Conn, name string) bool {
	if s.tplCache == "" || s.local == nil {
		return false
	}
	kept := filepath.Join(s.tplCache, name)
	b, err := os.ReadFile(filepath.Join(kept, "xid"))
	if err != nil {
		return false
	}
	xid, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		os.RemoveAll(kept)
		return false
	}
	ident := pgx.Identifier{name}.Sanitize()
	q := "CREATE DATABASE " + ident + " TEMPLATE template0"
	if s.versionNum >= 150000 {
		q += " STRATEGY FILE_COPY" // WAL_LOG would have its pages in shared buffers
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return false
	}
	fail := func() bool {
		_ = dropDB(context.WithoutCancel(ctx), conn, name)
		os.RemoveAll(kept) // damaged or from elsewhere: the next build replaces it
		return false
	}
	dir, err := s.databaseDir(ctx, conn, name)
	if err != nil {
		return fail()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fail()
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fail()
		}
	}
	if err := copyTree(filepath.Join(kept, "files"), dir, &s.local.id); err != nil {
		return fail()
	}
	// Its rows are frozen; its relations' relfrozenxid must not be ahead
	// of this server's transaction counter.
	advance := fmt.Sprintf(`DO $$ BEGIN
		WHILE pg_current_xact_id()::text::bigint <= %d LOOP COMMIT; END LOOP;
	END $$`, xid)
	if _, err := conn.Exec(ctx, advance); err != nil {
		return fail()
	}
	tdsn, err := dsn.WithDatabase(s.dsn, name)
	if err != nil {
		return fail()
	}
	// Its first connection also writes the relation cache init file that
	// saveKept left out, for its clones (relcache.go).
	tconn, err := pgx.Connect(ctx, tdsn)
	if err != nil {
		return fail()
	}
	defer tconn.Close(context.WithoutCancel(ctx))
	var n int
	if err := tconn.QueryRow(ctx, "SELECT count(*) FROM pg_class").Scan(&n); err != nil || n == 0 {
		return fail()
	}
	now := time.Now()
	_ = os.Chtimes(kept, now, now) // pruneKept keeps the recently used
	return true
}

// databaseDir returns the directory of a database of the local server.
func (s *Server) databaseDir(ctx context.Context, conn *pgx.Conn, name string) (string, error) {
	var oid uint32
	if err := conn.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = $1", name).Scan(&oid); err != nil {
		return "", err
	}
	return filepath.Join(s.local.dataDir, "base", strconv.FormatUint(uint64(oid), 10)), nil
}

// pruneKept removes from the cache the versions of a template other than
// the keptVersions most recently used.
func (s *Server) pruneKept(name string) {
	prefix := name[:strings.LastIndexByte(name, '_')+1]
	entries, err := os.ReadDir(s.tplCache)
	if err != nil {
		return
	}
	type version struct {
		path string
		used int64
	}
	var versions []version
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) || strings.Contains(e.Name(), ".tmp-") {
			continue
		}
		if info, err := e.Info(); err == nil {
			versions = append(versions, version{filepath.Join(s.tplCache, e.Name()), info.ModTime().UnixNano()})
		}
	}
	slices.SortFunc(versions, func(a, b version) int { return cmp.Compare(b.used, a.used) })
	for i, v := range versions {
		if i >= keptVersions {
			os.RemoveAll(v.path)
		}
	}
}

// clearPageLSNs sets to 0 the LSN (the first 8 bytes of each page) of
// every page of the relation files under dir: main, free-space and
// visibility-map forks and their segments, whose names start with a
// digit. Other files (pg_filenode.map, PG_VERSION) are not paged.
func clearPageLSNs(dir string, blockSize int) error {
	if blockSize <= 0 {
		return fmt.Errorf("block size %d", blockSize)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "" || e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(b)%blockSize != 0 {
			return fmt.Errorf("%s: %d bytes, not a whole number of %d-byte pages", path, len(b), blockSize)
		}
		for off := 0; off < len(b); off += blockSize {
			clear(b[off : off+8])
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
