// Package golden compares text with reviewed files under testdata, and
// rewrites them on request: for dbsuite's own tests and for assertq.Golden. It uses only the standard
// library, so that settings may import it (for [RunPattern]).
//
// It registers no flag: a library that registers -update makes every test
// package that declares the conventional flag itself panic ("flag
// redefined"). Updating reads the -update flag the test binary defines, if
// any, and the DBSUITE_UPDATE environment variable.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// EnvUpdate, set to 1, rewrites golden files as -update does, for test
// binaries that define no -update flag.
const EnvUpdate = "DBSUITE_UPDATE"

// Updating reports whether golden files are to be rewritten: the test
// binary was run with -update (a flag it defines), or DBSUITE_UPDATE=1.
func Updating() bool {
	if os.Getenv(EnvUpdate) == "1" {
		return true
	}
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

// HowToUpdate is the command that rewrites the golden files of the test
// named name.
func HowToUpdate(name string) string {
	if flag.Lookup("update") != nil {
		return "go test -run '" + RunPattern(name) + "' -update"
	}
	return EnvUpdate + "=1 go test -run '" + RunPattern(name) + "'"
}

// RunPattern is a -run pattern that selects exactly the test name. settings uses it to re-run a test in
// a child process.
func RunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + quoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// quoteMeta escapes the regular expression metacharacters in s, as regexp.QuoteMeta does, without linking
// package regexp into every program that imports settings.
func quoteMeta(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Check compares got with the file at path, or writes it when updating.
// A difference fails the test with a diff and the command that rewrites
// the file.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if Updating() {
		if err := Write(path, got); err != nil {
			t.Fatal(err)
		}
		return
	}
	diff, err := Compare(path, got)
	if err != nil {
		t.Fatalf("%v\n(run %s to write it)", err, HowToUpdate(t.Name()))
	}
	if diff != "" {
		t.Errorf("text differs from %s (-want +got):\n%s\n(if the change is intended, run %s)", path, diff, HowToUpdate(t.Name()))
	}
}

// Write writes text to the file at path, making its directory.
func Write(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// Compare reads the file at path and returns its [Diff] with got, or "" when
// they are equal (a final newline is not a line of its own). The error is the read's (fs.ErrNotExist for a missing file).
func Compare(path, got string) (string, error) {
	want, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if string(want) == got {
		return "", nil
	}
	return Diff(lines(string(want)), lines(got)), nil
}

// lines splits text into lines, without the empty one after a final newline.
func lines(text string) []string {
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// Diff returns the lines of want and got with "-" before lines only in want, "+" before lines only in got,
// and a space before common lines; runs of common lines far from a change are elided.
func Diff(want, got []string) string {
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
