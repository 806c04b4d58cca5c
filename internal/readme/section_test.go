package readme

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/faketb"
)

func TestCheckSection(t *testing.T) {
	const code = "// readme:begin\nfunc A() {}\n// readme:end\n"
	tests := []struct {
		name, readme, source string
		want                 string // in the failure, "" if none
	}{
		{name: "same code", readme: "<!-- section: x -->\n```go\nfunc A() {}\n```\n<!-- /section: x -->", source: code},
		{name: "differs", readme: "<!-- section: x -->\n```go\nfunc B() {}\n```\n<!-- /section: x -->", source: code,
			want: "- func A() {}\n+ func B() {}"},
		{name: "no section", readme: "no sections here", source: code, want: "README.md has no x section"},
		{name: "two blocks", readme: "<!-- section: x -->\n```go\n```\n```go\n```\n<!-- /section: x -->", source: code, want: "has 2 go blocks, want 1"},
		{name: "no markers", readme: "<!-- section: x -->\n```go\n```\n<!-- /section: x -->", source: "package p\n", want: "no code between // readme:begin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			pkg := filepath.Join(root, "pkg")
			if err := os.Mkdir(pkg, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "README.md"), []byte(tt.readme), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkg, "readme_test.go"), []byte(tt.source), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Chdir(pkg)
			f := faketb.New(t, "")
			f.Run(func(tb testing.TB) { CheckSection(tb, "x") })
			got := strings.Join(f.Errors(), "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("CheckSection reported %q, want %q", got, tt.want)
			}
		})
	}
}
