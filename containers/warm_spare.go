package containers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Handing warm databases on between test binaries
//
// A test binary exits with clones in its warm pool that no test took, and
// the next binary's first test paid for dropping them (its sweep) and then
// for a clone of its own. On a
// local server, which the test binaries of a run share, each binary keeps
// a ledger of its warm pool in the server's directory: "warm NAME
// TEMPLATE" as a worker starts a clone, "taken NAME" before a test gets
// it. A clone with no "taken" line is as its template made it: when its
// binary has exited, the next binary that uses the same template takes it
// over (ALTER DATABASE ... RENAME TO a name of its own, which only one
// binary can do) instead of cloning, and its sweep leaves it alone.
// Templates are named after their content, so the same name is the same
// data.
//
// The "warm" line comes first because a binary exits as its last tests
// end, while its workers refill the pool: with the line written after the
// clone, the clones in flight (2 per binary in the 6x20 suite) were in no
// ledger and the next binary dropped them. A line whose clone never
// finished names no database: CREATE DATABASE commits at its end, and its
// backend finishes it whether or not the binary is still there. At most
// spareKeep clones per template wait for a taker; the sweep drops the
// others, so a template no later binary uses holds no more than that.

// spareKeep is how many untaken clones of one template the sweep leaves
// for later binaries.
const spareKeep = warmGrowth

// ledgerPrefix starts the names of the ledger files in a local server's
// directory; the owner tag (owner()) follows.
const ledgerPrefix = "ledger-"

// ledgerFile returns this process's ledger, opened on first use, or nil
// where there is none (a server that is not local).
func (s *Server) ledgerFile() *os.File {
	if s.local == nil {
		return nil
	}
	s.ledgerOnce.Do(func() {
		path := filepath.Join(s.local.runDir, ledgerPrefix+owner())
		s.ledger, _ = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	})
	return s.ledger
}

// note appends a line to this process's ledger. Each line is one write,
// made before what it records can be seen: a "taken" line before the
// test gets the database.
func (s *Server) note(format string, args ...any) {
	if f := s.ledgerFile(); f != nil {
		_, _ = fmt.Fprintf(f, format+"\n", args...)
	}
}

// spare is a clone an exited binary's warm pool held and no test took.
type spare struct {
	name, tpl string
	ledger    string // the file that lists it
}

// spares reads the ledgers of exited binaries in a local server's
// directory and returns their untaken clones, oldest ledger first, and
// the ledger files.
func (s *Server) spares() ([]spare, []string) {
	if s.local == nil {
		return nil, nil
	}
	paths, _ := filepath.Glob(filepath.Join(s.local.runDir, ledgerPrefix+"*"))
	var out []spare
	var ledgers []string
	for _, path := range paths {
		if !ownerExited(strings.TrimPrefix(filepath.Base(path), ledgerPrefix)) {
			continue
		}
		ledgers = append(ledgers, path)
		for _, x := range untaken(path) {
			x.ledger = path
			out = append(out, x)
		}
	}
	return out, ledgers
}

// untaken returns the clones a ledger lists as warm and not taken.
func untaken(path string) []spare {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var order []string
	tpl := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		switch f := strings.Fields(sc.Text()); {
		case len(f) == 3 && f[0] == "warm":
			order = append(order, f[1])
			tpl[f[1]] = f[2]
		case len(f) == 2 && f[0] == "taken":
			delete(tpl, f[1])
		}
	}
	var out []spare
	for _, name := range order {
		if t, ok := tpl[name]; ok {
			out = append(out, spare{name: name, tpl: t})
		}
	}
	return out
}

// ownerExited reports whether the process an owner tag (owner()) names
// has exited.
func ownerExited(tag string) bool {
	parts := strings.Split(tag, "_")
	if len(parts) != 3 {
		return false
	}
	pid, err1 := strconv.Atoi(parts[1])
	start, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	// One read of /proc/PID/stat says both whether it runs and whether it
	// is the same process; without it (gone, or no /proc: then the tag's
	// start is 0 too) the signal says.
	if fields := procStat(pid); fields != nil {
		return isZombie(fields) || startOf(fields) != start
	}
	return !pidAlive(pid)
}

// keptSpares returns the names of the exited binaries' untaken clones the
// sweep leaves for later binaries: the first spareKeep of each template.
func keptSpares(sp []spare) map[string]bool {
	keep := map[string]bool{}
	per := map[string]int{}
	for _, x := range sp {
		if per[x.tpl] < spareKeep {
			per[x.tpl]++
			keep[x.name] = true
		}
	}
	return keep
}

// forgetLedgers removes the ledgers of exited binaries none of whose
// spares (sp, as spares read them) is still on the server (existing: the
// server's database names).
func forgetLedgers(ledgers []string, sp []spare, existing map[string]bool) {
	held := map[string]bool{}
	for _, x := range sp {
		if existing[x.name] {
			held[x.ledger] = true
		}
	}
	for _, path := range ledgers {
		if !held[path] {
			_ = os.Remove(path)
		}
	}
}

// adoptSpares takes over, for this process's warm pool of tpl, the
// untaken clones of tpl that exited binaries left, as many as the pool
// holds. A clone still in use (a backend of its exited binary not yet
// gone) or taken over by another binary first is passed over.
func (s *Server) adoptSpares(ctx context.Context, wp *warmPool, tpl string) {
	sp, _ := s.spares()
	var names []string
	for _, x := range sp {
		if x.tpl == tpl {
			names = append(names, x.name)
		}
	}
	if len(names) == 0 {
		return
	}
	pool, err := s.adminPool(ctx)
	if err != nil {
		return
	}
	// RENAME waits, in 100 ms steps, for backends attached to the
	// database: take only those with none.
	rows, err := pool.Query(ctx, `SELECT d.datname FROM pg_database d WHERE d.datname = ANY($1)
		AND pg_stat_get_db_numbackends(d.oid) = 0`, names)
	if err != nil {
		return
	}
	free, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, old := range free {
		if len(wp.ready) == cap(wp.ready) {
			return
		}
		name := dbName("t")
		_, err := pool.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{old}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			continue // gone (another binary took it) or in use
		}
		if err != nil {
			return
		}
		d, err := dsn.WithDatabase(s.dsn, name)
		if err != nil {
			return
		}
		s.note("warm %s %s", name, tpl)
		select {
		case wp.ready <- &Database{name: name, dsn: d, srv: s}:
		default:
			return // full: it stays in this binary's ledger, for the next one
		}
	}
}
