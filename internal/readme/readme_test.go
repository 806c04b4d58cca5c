package readme

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// imports maps the package names README snippets use to import paths.
var imports = map[string]string{
	"assertq": "github.com/dbsuite/dbsuite/assertq", "containers": "github.com/dbsuite/dbsuite/containers",
	"fixtures": "github.com/dbsuite/dbsuite/fixtures", "settings": "github.com/dbsuite/dbsuite/settings",
	"pgx": "github.com/jackc/pgx/v5", "pgxpool": "github.com/jackc/pgx/v5/pgxpool", "pgconn": "github.com/jackc/pgx/v5/pgconn",
	"stdlib": "github.com/jackc/pgx/v5/stdlib", "sqlmock": "github.com/DATA-DOG/go-sqlmock",
	"context": "context", "testing": "testing", "sql": "database/sql", "fmt": "fmt", "time": "time", "strings": "strings",
	"errors": "errors", "os": "os", "strconv": "strconv", "flag": "flag", "slog": "log/slog",
}

// TestREADMESnippets compiles every ```go block of README.md as a file of
// its own package, with the imports its package names call for, so that
// what users copy compiles. A block must be top-level declarations.
func TestREADMESnippets(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatchIndex(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	overlay := map[string]string{}
	var pkgs []string
	for i, m := range blocks {
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
		if _, err := parser.ParseFile(token.NewFileSet(), "snippet.go", src, parser.SkipObjectResolution); err != nil {
			t.Errorf("README.md:%d: the go block is not a set of declarations: %v", line, err)
			continue
		}
		file := filepath.Join(t.TempDir(), "snippet.go")
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := fmt.Sprintf("internal/readme/snippets/s%d", i)
		overlay[filepath.Join(root, dir, "snippet.go")] = file
		pkgs = append(pkgs, "./"+dir)
	}
	b, _ := json.Marshal(map[string]any{"Replace": overlay})
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"build", "-overlay", overlayFile}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("README.md snippets do not compile:\n%s", out)
	}
}
