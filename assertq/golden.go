package assertq

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func init() {
	// The conventional -update flag of golden files, registered in test binaries only, and only if no package
	// initialised earlier has one: Golden reads whichever is registered.
	if testing.Testing() && flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files (assertq.Golden: testdata/<test name>.queries)")
	}
}

// updating reports whether the test binary runs with -update.
func updating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if b, ok := g.Get().(bool); ok {
			return b
		}
	}
	b, _ := strconv.ParseBool(f.Value.String())
	return b
}

// Golden compares queries with the snapshot in testdata/<test name>.queries (a subtest's name makes
// subdirectories): the fingerprints in the order they first ran, each with its count, no values and no line
// numbers, so that the file changes only when the queries do. On a mismatch it reports a diff through t.Errorf;
// `go test -update` rewrites the file instead. A missing file is written, for review with the code — except
// under CI (the CI environment variable set, as GitHub Actions and most CI services do), where it fails the test,
// so that no snapshot goes unreviewed.
//
//	qs := assertq.Expect(t, rec, func(ctx context.Context) { shop.ListStores(ctx, pool) }, assertq.NoNPlusOne())
//	assertq.Golden(t, qs)
func Golden(t testing.TB, queries Queries) {
	t.Helper()
	golden(t, queries, updating(), os.Getenv("CI") != "")
}

func golden(t testing.TB, queries Queries, update, ci bool) {
	t.Helper()
	path := goldenPath(t.Name())
	got := snapshot(t.Name(), queries)
	_, err := os.Stat(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if missing && ci {
		t.Errorf("assertq: golden queries %s do not exist, got:\n%s\nfix: run go test -run '%s' locally, review the file it writes and commit it",
			path, strings.TrimSuffix(got, "\n"), runPattern(t.Name()))
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
	t.Errorf("assertq: queries differ from %s (-want +got):\n%s\nfix: if the change is intended, run go test -run '%s' -update to rewrite the file",
		path, lineDiff(strings.Split(strings.TrimSuffix(string(want), "\n"), "\n"), strings.Split(strings.TrimSuffix(got, "\n"), "\n")),
		runPattern(t.Name()))
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

// runPattern is a -run pattern that selects exactly the test name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
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

// lineDiff returns the lines of want and got with "-" before lines only in want, "+" before lines only in got,
// and a space before common lines; runs of common lines far from a change are elided.
func lineDiff(want, got []string) string {
	const context = 2
	n, m := len(want), len(got)
	var ops []string
	if n*m > 1_000_000 {
		for _, l := range want {
			ops = append(ops, "- "+l)
		}
		for _, l := range got {
			ops = append(ops, "+ "+l)
		}
		return strings.Join(ops, "\n")
	}
	// lcs[i][j]: length of the longest common subsequence of want[i:] and got[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i] == got[j]:
			ops = append(ops, "  "+want[i])
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, "- "+want[i])
			i++
		default:
			ops = append(ops, "+ "+got[j])
			j++
		}
	}
	// Keep changed lines and up to context common lines around them.
	keep := make([]bool, len(ops))
	for k, op := range ops {
		if op[0] != ' ' {
			for x := max(0, k-context); x <= min(len(ops)-1, k+context); x++ {
				keep[x] = true
			}
		}
	}
	var b strings.Builder
	skipped := false
	for k, op := range ops {
		if !keep[k] {
			skipped = true
			continue
		}
		if skipped {
			b.WriteString("  …\n")
			skipped = false
		}
		b.WriteString(op)
		b.WriteByte('\n')
	}
	if skipped {
		b.WriteString("  …\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
