package orm_test

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
	readme, err := os.ReadFile(filepath.Join(root, "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := ormBlock.FindAllSubmatchIndex(readme, -1)
	for _, lib := range []string{"gorm.Open(", "bun.NewDB(", "pgdriver.NewConnector(", "sqlx.NewDb(", "sqlcdb.New("} {
		if !strings.Contains(string(readme), lib) {
			t.Errorf("README.md has no ```go orm recipe calling %s", lib)
		}
	}
	if len(blocks) < 4 {
		t.Fatalf("README.md has %d ```go orm blocks, want the GORM, bun, sqlx and sqlc recipes", len(blocks))
	}
	overlay := map[string]string{}
	var pkgs []string
	tests := map[int]bool{} // blocks that declare tests
	for i, m := range blocks {
		snippet := string(readme[m[2]:m[3]])
		line := 1 + strings.Count(string(readme[:m[2]]), "\n")
		var uses []string
		for name, path := range readmeImports {
			if regexp.MustCompile(`\b` + name + `\.`).MatchString(snippet) {
				uses = append(uses, fmt.Sprintf("\t%s %q\n", name, path))
			}
		}
		slices.Sort(uses)
		tests[i] = strings.Contains(snippet, "\nfunc Test")
		src := fmt.Sprintf("package snippet%d\n\nimport (\n%s)\n\n//line README.md:%d\n%s", i, strings.Join(uses, ""), line, snippet)
		if _, err := parser.ParseFile(token.NewFileSet(), "snippet_test.go", src, parser.SkipObjectResolution); err != nil {
			t.Errorf("README.md:%d: the go orm block is not a set of declarations: %v", line, err)
			continue
		}
		file := filepath.Join(t.TempDir(), "snippet_test.go")
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := fmt.Sprintf("internal/readme/s%d", i)
		overlay[filepath.Join(root, dir, "snippet_test.go")] = file
		pkgs = append(pkgs, "./"+dir)
	}
	b, _ := json.Marshal(map[string]any{"Replace": overlay})
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Build the test binaries (the snippets' directories exist only in the overlay), then run them elsewhere.
	bin := t.TempDir()
	build := exec.Command("go", append([]string{"test", "-c", "-vet=off", "-overlay", overlayFile, "-o", bin + "/"}, pkgs...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("README.md's ORM recipes do not compile:\n%s", out)
	}
	for i := range pkgs {
		test := filepath.Join(bin, fmt.Sprintf("s%d.test", i))
		if !tests[i] {
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
