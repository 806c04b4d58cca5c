package assertq

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/golden"
)

// Golden compares queries with the snapshot in testdata/<test name>.queries (a subtest's name makes
// subdirectories): the fingerprints in the order they first ran, each with its count, no values and no line
// numbers, so that the file changes only when the queries do. On a mismatch it reports a diff through t.Errorf;
// `go test -update` rewrites the file instead (with the conventional -update flag declared in the test package:
// var _ = flag.Bool("update", false, "rewrite golden files"); assertq registers no flag, since a second
// registration would panic), as does DBSUITE_UPDATE=1 go test. A missing file is written, for review with the code — except
// under CI (the CI environment variable set, as GitHub Actions and most CI services do), where it fails the test,
// so that no snapshot goes unreviewed.
//
//	qs := assertq.Expect(t, rec, func(ctx context.Context) { shop.ListStores(ctx, pool) }, assertq.NoNPlusOne())
//	assertq.Golden(t, qs)
func Golden(t testing.TB, queries Queries) {
	t.Helper()
	goldenCheck(t, queries, golden.Updating(), os.Getenv("CI") != "")
}

func goldenCheck(t testing.TB, queries Queries, update, ci bool) {
	t.Helper()
	path := goldenPath(t.Name())
	got := snapshot(t.Name(), queries)
	_, err := os.Stat(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if missing && ci {
		t.Errorf("assertq: golden queries %s do not exist, got:\n%s\nfix: run go test -run '%s' locally, review the file it writes and commit it",
			path, strings.TrimSuffix(got, "\n"), golden.RunPattern(t.Name()))
		return
	}
	if update || missing {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Errorf("assertq: writing golden queries: %v", err)
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Errorf("assertq: writing golden queries: %v", err)
			return
		}
		t.Logf("assertq: wrote %s: review it and commit it with the code", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("assertq: reading golden queries: %v", err)
		return
	}
	if string(want) == got {
		return
	}
	t.Errorf("assertq: queries differ from %s (-want +got):\n%s\nfix: if the change is intended, run %s to rewrite the file",
		path, golden.Diff(strings.Split(strings.TrimSuffix(string(want), "\n"), "\n"), strings.Split(strings.TrimSuffix(got, "\n"), "\n")),
		golden.HowToUpdate(t.Name()))
}

var unsafePathChars = regexp.MustCompile(`[^A-Za-z0-9_.#=+,@-]`)

// goldenPath maps a test name to its file: "TestShop/list_stores" -> testdata/TestShop/list_stores.queries.
func goldenPath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		p = unsafePathChars.ReplaceAllString(p, "_")
		if p == "" || p == "." || p == ".." {
			p = "_"
		}
		parts[i] = p
	}
	return filepath.Join("testdata", filepath.Join(parts...)+".queries")
}

// snapshot renders the golden file: a comment, then one line per fingerprint in order of first appearance.
func snapshot(name string, qs Queries) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# assertq.Golden %s: statements in the order they first ran, with counts; go test -update rewrites this file\n", name)
	var order []string
	counts := map[string]int{}
	for i := range qs {
		fp := qs[i].Fingerprint
		if counts[fp] == 0 {
			order = append(order, fp)
		}
		counts[fp]++
	}
	if len(order) == 0 {
		b.WriteString("(no queries)\n")
	}
	for _, fp := range order {
		fmt.Fprintf(&b, "%4d× %s\n", counts[fp], fp)
	}
	return b.String()
}
