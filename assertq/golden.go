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

	"github.com/dbsuite/dbsuite/internal/failure"
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

// goldenCheck is Golden's policy: update or a missing file writes (a missing one fails under CI instead); a
// difference is an error with a diff. Comparing, writing and diffing are internal/golden's.
func goldenCheck(t testing.TB, queries Queries, update, ci bool) {
	t.Helper()
	path := goldenPath(t.Name())
	got := snapshot(t.Name(), queries)
	diff, err := golden.Compare(path, got)
	missing := errors.Is(err, fs.ErrNotExist)
	switch {
	case missing && ci && !update:
		t.Errorf("%s", &failure.Error{Pkg: "assertq", Headline: "golden queries " + path + " do not exist, want a reviewed file",
			Details: []string{"got:\n" + strings.TrimSuffix(got, "\n")},
			Fixes:   []string{"run go test -run '" + golden.RunPattern(t.Name()) + "' locally, review the file it writes and commit it"}})
	case update || missing:
		if err := golden.Write(path, got); err != nil {
			t.Errorf("%s", &failure.Error{Pkg: "assertq", Headline: "writing golden queries " + path + ": " + err.Error(), Err: err})
			return
		}
		t.Logf("assertq: wrote %s: review it and commit it with the code", path)
	case err != nil:
		t.Errorf("%s", &failure.Error{Pkg: "assertq", Headline: "reading golden queries: " + err.Error(), Err: err})
	case diff != "":
		t.Errorf("%s", &failure.Error{Pkg: "assertq", Headline: "queries differ from " + path + ", want the same (-want +got)",
			Details: []string{diff},
			Fixes:   []string{"if the change is intended, run " + golden.HowToUpdate(t.Name()) + " to rewrite the file"}})
	}
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
