//go:build unix

package containers

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// warmExitSettings give TestWarmCloneOfAKilledBinaryTakenOver a shared
// server of its own.
var warmExitSettings = WithSettings(Settings{"work_mem": "11MB"})

// envWarmExitNext makes TestWarmExitChild play the next binary: it takes
// a database and prints its oid and name.
const envWarmExitNext = "DBSUITE_TEST_WARM_EXIT_NEXT"

// TestWarmExitChild is not a test: TestWarmCloneOfAKilledBinaryTakenOver
// runs it in child binaries. One stops (EnvFaultStage=warm-cloned) as soon
// as a warm-pool worker has made a clone, to be killed there; the next
// one takes a database and prints its oid and name.
func TestWarmExitChild(t *testing.T) {
	next := os.Getenv(envWarmExitNext) != ""
	if os.Getenv(EnvFaultStage) != "warm-cloned" && !next {
		t.Skip("run by TestWarmCloneOfAKilledBinaryTakenOver in a child test binary")
	}
	db := Postgres(t, warmExitSettings).Database(t)
	var oid uint32
	if err := db.Pool(t).QueryRow(t.Context(), "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("TOOK %d %s\n", oid, db.Name())
}

// TestWarmCloneOfAKilledBinaryTakenOver kills a test binary the moment its
// warm pool's worker has made a clone (as a binary exits while its last
// tests end and the pool refills), and checks that the next binary on the
// server takes one of that binary's clones over (the same database,
// renamed) instead of dropping them: a clone is in the ledger before it
// exists.
func TestWarmCloneOfAKilledBinaryTakenOver(t *testing.T) {
	srv := Postgres(t, warmExitSettings) // holds the shared server across the children
	ctx := t.Context()
	admin, err := srv.adminPool(ctx)
	require.NoError(t, err)

	// What earlier runs of this test (-count) left: spares the children
	// would take over first. Without their ledgers they are no one's
	// spares, and the first child's sweep drops them.
	ledgers, _ := filepath.Glob(filepath.Join(srv.local.runDir, ledgerPrefix+"*"))
	for _, path := range ledgers {
		if ownerExited(strings.TrimPrefix(filepath.Base(path), ledgerPrefix)) {
			require.NoError(t, os.Remove(path))
		}
	}

	var clone string
	killed := StartChild(t, "TestWarmExitChild", EnvFaultStage, "warm-cloned", "its clone", saidAfter("STAGE warm-cloned ", &clone))
	require.NoError(t, killed.Process.Kill())
	_ = killed.Wait()

	// Both of its workers may have been cloning, each clone in its ledger:
	// the next binary may take either. A CREATE DATABASE in flight ends
	// (its backend finishes it) before the clones are counted.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var active int
		require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()`).Scan(&active))
		if active == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	prefix := clone[:strings.LastIndexByte(clone, '_')+1]
	clones := map[uint32]string{}
	rows, err := admin.Query(ctx, "SELECT oid, datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	require.NoError(t, err)
	for rows.Next() {
		var oid uint32
		var name string
		require.NoError(t, rows.Scan(&oid, &name))
		clones[oid] = name
	}
	require.NoError(t, rows.Err())
	require.Contains(t, slices.Collect(maps.Values(clones)), clone)

	// It prints the oid of the database it took: its drop may come
	// before this test could look.
	var took string
	next := StartChild(t, "TestWarmExitChild", envWarmExitNext, "1", "the database it took", saidAfter("TOOK ", &took))
	require.NoError(t, next.Wait())
	var got uint32
	var name string
	_, err = fmt.Sscanf(took, "%d %s", &got, &name)
	require.NoError(t, err, "the next binary says: %s", took)
	assert.Contains(t, clones, got, "%s is one of the killed binary's clones %v, renamed, not a new clone", name, clones)
}

// saidAfter reports a line that starts with prefix, and keeps the rest of
// it in said.
func saidAfter(prefix string, said *string) func(line string) bool {
	return func(line string) bool {
		rest, ok := strings.CutPrefix(line, prefix)
		if ok {
			*said = rest
		}
		return ok
	}
}
