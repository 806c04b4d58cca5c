package readme

import (
	"os"
	"os/exec"
	"path/filepath"
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
	overlayFile, snippets := Overlay(t, readme, goBlock, imports, root, "internal/readme/snippets", "snippet.go")
	if len(snippets) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	var pkgs []string
	for _, s := range snippets {
		pkgs = append(pkgs, s.Pkg)
	}
	cmd := exec.Command("go", append([]string{"build", "-overlay", overlayFile}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("README.md snippets do not compile:\n%s", out)
	}
}
