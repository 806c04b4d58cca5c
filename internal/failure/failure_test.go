package failure

import (
	"errors"
	"io/fs"
	"testing"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{
			name: "headline only",
			err:  &Error{Pkg: "settings", Headline: "PUT_EGGS set in a parallel test, want a serial test"},
			want: "settings: PUT_EGGS set in a parallel test, want a serial test",
		},
		{
			name: "details and fixes",
			err: &Error{
				Pkg:      "assertq",
				Headline: "52 queries, want at most 2",
				Details:  []string{"1× SELECT 1", "", "multi\n  inner"},
				Fixes:    []string{"fetch in one query", "", "fetch in one query", "two\nlines"},
			},
			want: "assertq: 52 queries, want at most 2\n  1× SELECT 1\n  multi\n    inner\nfix: fetch in one query\nfix: two\n     lines",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestUnwrap(t *testing.T) {
	t.Parallel()
	err := error(&Error{Pkg: "containers", Headline: "x", Err: fs.ErrNotExist})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false, want true", err)
	}
}

func TestIndent(t *testing.T) {
	t.Parallel()
	if got, want := Indent("a\nb\n", 2), "a\n  b"; got != want {
		t.Errorf("Indent = %q, want %q", got, want)
	}
}
