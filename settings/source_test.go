package settings_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dbsuite/dbsuite/settings"
)

func TestSourceLoadJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    map[string]string
		wantErr string // golden file name when loading fails
	}{
		{"flat", `{"a": "x", "b": 2, "c": true}`, map[string]string{"a": "x", "b": "2", "c": "true"}, ""},
		{"nested", `{"db": {"pool": {"max": 10}, "host": "h"}}`, map[string]string{"db.pool.max": "10", "db.host": "h"}, ""},
		{"numbers as written", `{"big": 12345678901234567890, "f": 1.50}`, map[string]string{"big": "12345678901234567890", "f": "1.50"}, ""},
		{"null is absent", `{"a": null, "b": {"c": null}}`, map[string]string{}, ""},
		{"array as JSON", `{"hosts": ["a", "b"], "empty": {}}`, map[string]string{"hosts": `["a","b"]`}, ""},
		{"empty string is present", `{"a": ""}`, map[string]string{"a": ""}, ""},
		{"not an object", `["a"]`, nil, "source_array"},
		{"two objects", `{"a": 1} {"b": 2}`, nil, "source_two_objects"},
		{"syntax", `{"a": }`, nil, "source_syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := settings.NewSource("test.json")
			changed, err := src.LoadJSON([]byte(tt.json))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("LoadJSON(%s) succeeded, want an error", tt.json)
				}
				golden(t, tt.wantErr, err.Error())
				return
			}
			if err != nil {
				t.Fatalf("LoadJSON(%s): %v", tt.json, err)
			}
			got := map[string]string{}
			for _, k := range changed {
				v, ok := src.Lookup(k)
				if !ok {
					t.Errorf("changed key %s is absent", k)
				}
				got[k] = v
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("loaded %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSourceLoadReportsChanges(t *testing.T) {
	t.Parallel()
	src := settings.NewSource("s")
	src.Load(map[string]string{"same": "1", "changed": "a", "removed": "x"})
	got := src.Load(map[string]string{"same": "1", "changed": "b", "added": ""})
	if want := []string{"added", "changed", "removed"}; !slices.Equal(got, want) {
		t.Errorf("Load changed %v, want %v", got, want)
	}
	if _, ok := src.Lookup("removed"); ok {
		t.Errorf("removed key still present")
	}
}

func TestSourceLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.json")
	if err := os.WriteFile(path, []byte(`{"eggs": {"count": 3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := settings.NewSource("app.json")
	if _, err := src.LoadFile(path); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if got := src.Get("eggs.count"); got != "3" {
		t.Errorf("eggs.count = %q, want 3", got)
	}
	if _, err := src.LoadFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Errorf("LoadFile of a missing file succeeded")
	}
}

// TestSourceOverrideOutlivesLoad checks that loading again, as a program reloading its config does,
// keeps a test's override on top, and that the override's restore shows the newly loaded value.
func TestSourceOverrideOutlivesLoad(t *testing.T) {
	src := settings.NewSource("reload.json")
	src.Load(map[string]string{"k": "loaded"})
	t.Run("override", func(t *testing.T) {
		settings.SetValue(t, src, "k", "test")
		src.Load(map[string]string{"k": "reloaded"})
		if got := src.Get("k"); got != "test" {
			t.Errorf("k = %q after a reload, want the test's override", got)
		}
	})
	if got := src.Get("k"); got != "reloaded" {
		t.Errorf("k = %q after the test, want the reloaded value", got)
	}
}
