package assertq

import (
	"path/filepath"
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
