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
func processStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
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
		if s.dropDatabase(ctx, name) == nil {
			existing[name] = false
		}
	}
}
