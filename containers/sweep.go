package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Database names carry their owner (host, pid and the pid's start time)
// so that databases left by a killed test binary can be found and dropped.
var (
	dbSeq     atomic.Int64
	ownerOnce sync.Once
	ownerTag  string
)

func owner() string {
	ownerOnce.Do(func() {
		host, _ := os.Hostname()
		h := sha256.Sum256([]byte(host))
		ownerTag = fmt.Sprintf("%s_%d_%d", hex.EncodeToString(h[:3]), os.Getpid(), processStart(os.Getpid()))
	})
	return ownerTag
}

// processStart returns a process's start time in clock ticks since boot
// (Linux), so that a reused pid is not mistaken for its predecessor.
func processStart(pid int) uint64 { return startOf(procStat(pid)) }

// procStat returns the fields of /proc/PID/stat that follow the command
// name, the state first, or nil where there is no such file (the process
// is gone, or there is no /proc).
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')'.
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// isZombie reports whether procStat's fields are a zombie's.
func isZombie(fields []string) bool { return len(fields) > 0 && fields[0] == "Z" }

// startOf returns the start time in procStat's fields, or 0.
func startOf(fields []string) uint64 {
	if len(fields) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(fields[19], 10, 64)
	return n
}

var ownedNameRE = regexp.MustCompile(`^dbsuite_[tx]_([0-9a-f]{6})_(\d+)_(\d+)_\d+$`)

// sweep drops databases left behind by test binaries of this host that
// are no longer running, but for the untaken clones of their warm pools
// that later binaries take over (warm_spare.go).
func (s *Server) sweep(ctx context.Context, pool *pgxpool.Pool) {
	me, _, _ := strings.Cut(owner(), "_") // this host's tag
	rows, err := pool.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'dbsuite\_%'`+notKept)
	if err != nil {
		return
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	existing := map[string]bool{}
	for _, name := range names {
		existing[name] = true
	}
	all, ledgers := s.spares()
	kept := keptSpares(slices.DeleteFunc(slices.Clone(all), func(x spare) bool { return !existing[x.name] })) // not taken over already
	defer forgetLedgers(ledgers, all, existing)
	for _, name := range names {
		m := ownedNameRE.FindStringSubmatch(name)
		if m == nil || m[1] != me || kept[name] {
			continue
		}
		if !ownerExited(m[1] + "_" + m[2] + "_" + m[3]) {
			continue
		}
		if s.dropSwept(ctx, name) == nil {
			existing[name] = false
		}
	}
}

// dropSwept drops a dead binary's database. On a server dbsuite owns
// (local, Docker) the drop is queued behind the tests' (drop.go), so that
// the first test of a binary does not wait for what the binary before it
// left (the last tests' databases, queued when it exited): in the 6x20
// suite that wait was 3-7 drops per binary, and the suite's database work
// went from 2.65 to 2.18 s with warm.go's ledger line written before the
// clone (10 interleaved rounds of both commits). A
// drop the binary does not get to goes with the server, or to the next
// binary's sweep. On a server dbsuite does not own the dead binary's
// reaper drops what it left unless it was killed; what the sweep finds
// there is dropped now.
func (s *Server) dropSwept(ctx context.Context, name string) error {
	if s.ownsServer() {
		return s.queueDrop(dropJob{name: name, swept: true})
	}
	return s.dropDatabase(ctx, name)
}
