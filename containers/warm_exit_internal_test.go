//go:build unix

package containers

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// warmExitSettings give TestWarmCloneOfAKilledBinaryTakenOver a shared
// server of its own.
var warmExitSettings = WithSettings(Settings{"work_mem": "11MB"})

// TestWarmExitChild is not a test: TestWarmCloneOfAKilledBinaryTakenOver
// runs it in a child binary that stops (EnvFaultStage=warm-cloned) as soon
// as a warm-pool worker has made a clone, to be killed there.
func TestWarmExitChild(t *testing.T) {
	if os.Getenv(EnvFaultStage) != "warm-cloned" {
		t.Skip("run by TestWarmCloneOfAKilledBinaryTakenOver in a child test binary")
	}
	Postgres(t, warmExitSettings).Database(t)
}

// TestWarmCloneOfAKilledBinaryTakenOver kills a test binary the moment its
// warm pool's worker has made a clone (as a binary exits while its last
// tests end and the pool refills), and checks that the next binary on the
// server takes that clone over (the same database, renamed) instead of
// dropping it: the clone is in the ledger before it exists.
func TestWarmCloneOfAKilledBinaryTakenOver(t *testing.T) {
	srv := Postgres(t, warmExitSettings) // holds the shared server across the child's death
	cmd := exec.Command(os.Args[0], "-test.run=^TestWarmExitChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), EnvFaultStage+"=warm-cloned")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	var clone string
	var lines []string
	for sc := bufio.NewScanner(out); sc.Scan(); {
		lines = append(lines, sc.Text())
		if name, ok := strings.CutPrefix(sc.Text(), "STAGE warm-cloned "); ok {
			clone = name
			break
		}
	}
	require.NotEmpty(t, clone, "the child reports its clone:\n%s", strings.Join(lines, "\n"))
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	ctx := t.Context()
	admin, err := srv.adminPool(ctx)
	require.NoError(t, err)
	var oid uint32
	require.NoError(t, admin.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = $1", clone).Scan(&oid))

	db := srv.Database(t)
	var got uint32
	require.NoError(t, admin.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = $1", db.Name()).Scan(&got))
	assert.Equal(t, oid, got, "%s is the killed binary's clone %s, renamed, not a new clone", db.Name(), clone)
}
