package readme

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/golden"
)

var (
	goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")
	marked  = regexp.MustCompile(`(?s)// readme:begin\n(.*?)\n// readme:end`)
)

// CheckSection fails t unless the one ```go block of the README's section name (between
// "<!-- section: name -->" and "<!-- /section: name -->") is the code between "// readme:begin" and
// "// readme:end" in the package's readme_test.go, which runs, so that what the README shows works. It
// reads both files from the package directory, where go test runs.
func CheckSection(t testing.TB, name string) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- section: "+name+" -->")
	section, _, closed := strings.Cut(after, "<!-- /section: "+name+" -->")
	if !ok || !closed {
		t.Fatalf("README.md has no %s section (<!-- section: %s --> … <!-- /section: %s -->)", name, name, name)
	}
	source, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := marked.FindStringSubmatch(string(source))
	if code == nil {
		t.Fatal("readme_test.go has no code between // readme:begin and // readme:end")
	}
	blocks := goBlock.FindAllStringSubmatch(section, -1)
	if len(blocks) != 1 {
		t.Fatalf("the %s section of README.md has %d go blocks, want 1", name, len(blocks))
	}
	want, got := strings.TrimSpace(code[1]), strings.TrimSpace(blocks[0][1])
	if got != want {
		t.Errorf("the go block of README.md's %s section differs from readme_test.go (-readme_test.go +README.md):\n%s\n(copy the code into README.md)",
			name, golden.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")))
	}
}
