package readme

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A Snippet is one README block made a package of its own.
type Snippet struct {
	Line  int    // the block's first line in the README
	Pkg   string // its package, relative to the module root: "./" + dir + "/sN"
	Tests bool   // it declares a Test function
}

// Overlay makes every block of readme that block matches a source file of its own package: package snippetN,
// with the imports its package names call for (imports maps names to paths), and a //line directive, so that
// compile errors point at README.md. It returns a `go build -overlay` file that places each at
// root/dir/sN/file (nothing is written to the tree) and the snippets; a block that is not a set of
// declarations fails t and is left out.
func Overlay(t testing.TB, readme []byte, block *regexp.Regexp, imports map[string]string, root, dir, file string) (string, []Snippet) {
	t.Helper()
	overlay := map[string]string{}
	var out []Snippet
	for i, m := range block.FindAllSubmatchIndex(readme, -1) {
		snippet := string(readme[m[2]:m[3]])
		line := 1 + strings.Count(string(readme[:m[2]]), "\n")
		var uses []string
		for name, path := range imports {
			if regexp.MustCompile(`\b` + name + `\.`).MatchString(snippet) {
				uses = append(uses, fmt.Sprintf("\t%s %q\n", name, path))
			}
		}
		slices.Sort(uses)
		src := fmt.Sprintf("package snippet%d\n\nimport (\n%s)\n\n//line README.md:%d\n%s", i, strings.Join(uses, ""), line, snippet)
		if _, err := parser.ParseFile(token.NewFileSet(), file, src, parser.SkipObjectResolution); err != nil {
			t.Errorf("README.md:%d: the block is not a set of declarations: %v", line, err)
			continue
		}
		tmp := filepath.Join(t.TempDir(), file)
		if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		pkg := fmt.Sprintf("%s/s%d", dir, i)
		overlay[filepath.Join(root, pkg, file)] = tmp
		out = append(out, Snippet{Line: line, Pkg: "./" + pkg, Tests: strings.Contains(snippet, "\nfunc Test")})
	}
	b, _ := json.Marshal(map[string]any{"Replace": overlay})
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return overlayFile, out
}
