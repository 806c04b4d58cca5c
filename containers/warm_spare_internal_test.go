//go:build unix

package containers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSparesOfAnExitedBinaryTakenOver plays an exited test binary's warm
// pool on a server's directory — its ledger and its clones — and checks
// what the next binary's first Database does with them: the untaken
// clones of the template it uses are handed out (the same databases,
// renamed), the taken ones and the clones missing from the ledger are
// dropped, and of another template's untaken clones spareKeep wait.
func TestSparesOfAnExitedBinaryTakenOver(t *testing.T) {
	srv := Postgres(t, WithPrivate(true))
	ctx := t.Context()
	admin, err := srv.adminPool(ctx)
	require.NoError(t, err)

	// An exited process's owner tag.
	exited := exec.Command("true")
	require.NoError(t, exited.Run())
	host, _, _ := strings.Cut(owner(), "_")
	tag := fmt.Sprintf("%s_%d_%d", host, exited.ProcessState.Pid(), 1)
	require.True(t, ownerExited(tag))
	name := func(n int) string { return fmt.Sprintf("dbsuite_t_%s_%d", tag, n) }

	var ledger []string
	mk := func(n int) {
		require.NoError(t, srv.createFrom(ctx, admin, name(n), "template1"))
	}
	// 1 and 3: untaken clones of template1; 2: taken by a test; 4: made
	// but killed before its ledger line; 5-10: untaken clones of a
	// template no one uses now.
	for n := 1; n <= 10; n++ {
		mk(n)
	}
	ledger = append(ledger, "warm "+name(1)+" template1", "warm "+name(2)+" template1", "taken "+name(2), "warm "+name(3)+" template1")
	for n := 5; n <= 10; n++ {
		ledger = append(ledger, "warm "+name(n)+" dbsuite_tpl_other_0123456789ab")
	}
	path := filepath.Join(srv.local.runDir, ledgerPrefix+tag)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(ledger, "\n")+"\n"), 0o600))

	oidOf := func(db string) uint32 {
		var oid uint32
		require.NoError(t, admin.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = $1", db).Scan(&oid))
		return oid
	}
	oid := func(n int) uint32 { return oidOf(name(n)) }
	spares := map[uint32]bool{oid(1): true, oid(3): true}

	first := srv.Database(t)
	second := srv.Database(t)
	for _, db := range []*Database{first, second} {
		got := oidOf(db.Name())
		assert.True(t, spares[got], "%s is a spare of the exited binary, renamed, not a new clone", db.Name())
		delete(spares, got)
		assert.True(t, strings.HasPrefix(db.Name(), "dbsuite_t_"+owner()+"_"), "%s carries this process's owner tag", db.Name())
	}

	exists := func(n int) bool {
		var ok bool
		require.NoError(t, admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name(n)).Scan(&ok))
		return ok
	}
	// The sweep's drops are queued behind the tests' (sweep.go): wait for them.
	want := map[int]bool{1: false, 2: false, 3: false, 4: false, 5: true, 6: true, 7: true, 8: true, 9: false, 10: false}
	deadline := time.Now().Add(15 * time.Second)
	for n := 1; n <= 10; n++ {
		for !want[n] && exists(n) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		assert.Equal(t, want[n], exists(n), "database %d of the exited binary: exists", n)
	}
	assert.FileExists(t, path, "the ledger stays while its spares of the other template wait")

	mine, err := os.ReadFile(filepath.Join(srv.local.runDir, ledgerPrefix+owner()))
	require.NoError(t, err)
	for _, db := range []*Database{first, second} {
		assert.Contains(t, string(mine), "warm "+db.Name()+" template1\n")
		assert.Contains(t, string(mine), "taken "+db.Name()+"\n")
	}

	// Once they are gone too, the next sweep forgets the ledger.
	for n := 5; n <= 8; n++ {
		_, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name(n)}.Sanitize())
		require.NoError(t, err)
	}
	srv.sweep(ctx, admin)
	assert.NoFileExists(t, path)
}
