package orm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/readme"
)

// readmeImports maps the package names the README's ORM recipes use to import paths.
var readmeImports = map[string]string{
	"assertq": "github.com/dbsuite/dbsuite/assertq", "containers": "github.com/dbsuite/dbsuite/containers",
	"pgx": "github.com/jackc/pgx/v5", "pgxpool": "github.com/jackc/pgx/v5/pgxpool", "stdlib": "github.com/jackc/pgx/v5/stdlib",
	"gorm": "gorm.io/gorm", "postgres": "gorm.io/driver/postgres",
	"bun": "github.com/uptrace/bun", "pgdialect": "github.com/uptrace/bun/dialect/pgdialect", "pgdriver": "github.com/uptrace/bun/driver/pgdriver",
	"sqlx": "github.com/jmoiron/sqlx", "sqlcdb": "github.com/dbsuite/dbsuite/examples/orm/sqlcdb",
	"context": "context", "testing": "testing", "sql": "database/sql", "fmt": "fmt", "time": "time", "strings": "strings",
	"url": "net/url", "cmp": "cmp",
}

// ormBlock is a README block tagged for this module: ```go orm.
var ormBlock = regexp.MustCompile("(?s)```go orm\n(.*?)```")

// TestREADMERecipes compiles every ```go orm block of dbsuite's README.md as a test file of its own package in
// this module (which has GORM, bun and sqlx), with the imports its package names call for, and runs the tests it
// declares: the recipes a GORM, bun, sqlx or sqlc user copies must compile and work. (dbsuite's own
// internal/readme compiles the plain ```go blocks with dbsuite's module.)
func TestREADMERecipes(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	readmeText, err := os.ReadFile(filepath.Join(root, "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := ormBlock.FindAllSubmatchIndex(readmeText, -1)
	for _, lib := range []string{"gorm.Open(", "bun.NewDB(", "pgdriver.NewConnector(", "sqlx.NewDb(", "sqlcdb.New("} {
		if !strings.Contains(string(readmeText), lib) {
			t.Errorf("README.md has no ```go orm recipe calling %s", lib)
		}
	}
	if len(blocks) < 4 {
		t.Fatalf("README.md has %d ```go orm blocks, want the GORM, bun, sqlx and sqlc recipes", len(blocks))
	}
	overlayFile, snippets := readme.Overlay(t, readmeText, ormBlock, readmeImports, root, "internal/readme", "snippet_test.go")
	var pkgs []string
	for _, s := range snippets {
		pkgs = append(pkgs, s.Pkg)
	}
	// Build the test binaries (the snippets' directories exist only in the overlay), then run them elsewhere.
	bin := t.TempDir()
	build := exec.Command("go", append([]string{"test", "-c", "-vet=off", "-overlay", overlayFile, "-o", bin + "/"}, pkgs...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("README.md's ORM recipes do not compile:\n%s", out)
	}
	for i := range pkgs {
		test := filepath.Join(bin, filepath.Base(snippets[i].Pkg)+".test")
		if !snippets[i].Tests {
			continue // helpers only: compiled is all there is to check
		}
		run := exec.Command(test, "-test.count=1", "-test.v")
		run.Dir = t.TempDir()
		out, err := run.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: Test") {
			t.Errorf("README.md's ORM recipe %d fails (%v):\n%s", i, err, out)
		}
		t.Logf("recipe %d:\n%s", i, out)
	}
}
