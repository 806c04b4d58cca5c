package assertq

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoldenPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{name: "TestShop", want: "testdata/TestShop.queries"},
		{name: "TestShop/list_stores", want: "testdata/TestShop/list_stores.queries"},
		{name: "TestX/a(b)*c", want: "testdata/TestX/a_b__c.queries"},
		{name: "TestX/..", want: "testdata/TestX/_.queries"},
		{name: "TestX/#01", want: "testdata/TestX/#01.queries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := goldenPath(tt.name); got != filepath.FromSlash(tt.want) {
				t.Errorf("goldenPath(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestRunPattern(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{name: "TestShop", want: "^TestShop$"},
		{name: "TestX/a(b)", want: `^TestX$/^a\(b\)$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := runPattern(tt.name); got != tt.want {
				t.Errorf("runPattern(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestLineDiff(t *testing.T) {
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
			got := lineDiff(strings.Split(tt.want, "\n"), strings.Split(tt.got, "\n"))
			if tt.diff == "" {
				if strings.ContainsAny(got, "+-") {
					t.Errorf("diff of equal texts shows changes:\n%s", got)
				}
				return
			}
			if got != tt.diff {
				t.Errorf("lineDiff =\n%s\nwant\n%s", got, tt.diff)
			}
		})
	}
}

func TestUpdateFlagRegistered(t *testing.T) {
	t.Parallel()
	if flag.Lookup("update") == nil {
		t.Fatal("assertq registers no -update flag in a test binary")
	}
}
