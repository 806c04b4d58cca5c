package golden

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/faketb"
)

func TestRunPattern(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{name: "TestShop", want: "^TestShop$"},
		{name: "TestX/a(b)", want: `^TestX$/^a\(b\)$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RunPattern(tt.name); got != tt.want {
				t.Errorf("RunPattern(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		want, got string
		diff      string
	}{
		{name: "equal", want: "a\nb", got: "a\nb", diff: ""},
		{name: "changed line", want: "h\na\nb\nc", got: "h\na\nB\nc", diff: "  h\n  a\n- b\n+ B\n  c"},
		{name: "far context elided", want: "1\n2\n3\n4\n5\n6\nx", got: "1\n2\n3\n4\n5\n6\ny", diff: "  …\n  5\n  6\n- x\n+ y"},
		{name: "added at the end", want: "a", got: "a\nb", diff: "  a\n+ b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Diff(strings.Split(tt.want, "\n"), strings.Split(tt.got, "\n"))
			if tt.diff == "" {
				if strings.ContainsAny(got, "+-") {
					t.Errorf("diff of equal texts shows changes:\n%s", got)
				}
				return
			}
			if got != tt.diff {
				t.Errorf("Diff =\n%s\nwant\n%s", got, tt.diff)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	t.Setenv(EnvUpdate, "1")
	Check(t, path, "a\nb\n")
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\nb\n" {
		t.Fatalf("with %s=1 Check wrote %q, %v; want the text", EnvUpdate, b, err)
	}
	t.Setenv(EnvUpdate, "")
	r := faketb.New(t, "")
	r.Run(func(tb testing.TB) { Check(tb, path, "a\nb\n") })
	if errs := r.Errors(); len(errs) != 0 {
		t.Fatalf("equal text reported: %v", errs)
	}
	r.Run(func(tb testing.TB) { Check(tb, path, "a\nc\n") })
	if errs := r.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "- b\n+ c") || !strings.Contains(errs[0], "DBSUITE_UPDATE=1 go test -run '^TestCheck$'") {
		t.Fatalf("a difference reports %q, want a diff and the command that rewrites the file", errs)
	}
}

func TestQuoteMeta(t *testing.T) {
	for _, s := range []string{"TestA", "a.b+c*d?e(f)g|h[i]j{k}l^m$n\\o", "x#01", "ünï cödé", ""} {
		if got, want := quoteMeta(s), regexp.QuoteMeta(s); got != want {
			t.Errorf("quoteMeta(%q) = %q, want %q as regexp.QuoteMeta", s, got, want)
		}
	}
}

func TestRunPatternSelectsOnlyTheTest(t *testing.T) {
	tests := []struct{ name, match, other string }{
		{"TestA", "TestA", "TestAB"},
		{"TestA/sub_1#01", "TestA/sub_1#01", "TestA/sub_1"},
		{"TestA/x.y(z)", "TestA/x.y(z)", "TestA/xxy(z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := strings.Split(RunPattern(tt.name), "/")
			for i, el := range strings.Split(tt.match, "/") {
				if !regexp.MustCompile(parts[i]).MatchString(el) {
					t.Errorf("pattern %s does not match %s", parts[i], el)
				}
			}
			otherParts := strings.Split(tt.other, "/")
			matchesAll := len(otherParts) == len(parts)
			for i := range otherParts {
				if i < len(parts) && !regexp.MustCompile(parts[i]).MatchString(otherParts[i]) {
					matchesAll = false
				}
			}
			if matchesAll {
				t.Errorf("pattern %s also selects %s", RunPattern(tt.name), tt.other)
			}
		})
	}
}
