package settings_test

import (
	"os"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/settings"
)

// The code between the readme markers is the snippet in the settings section of ../README.md;
// TestReadmeSnippet keeps the two identical, so the README's code compiles and passes.

// readme:begin
// dragon.go: a value built at start-up, and how to rebuild it
var Hoard = build() // reads PUT_EGGS

func build() map[string]int {
	if os.Getenv("PUT_EGGS") == "true" {
		return map[string]int{"egg": 3}
	}
	return map[string]int{}
}

func init() {
	settings.Register("dragon", func() { Hoard = build() }, settings.Keys("PUT_EGGS"))
}

// dragon_test.go
func TestEggs(t *testing.T) {
	settings.Setenv(t, "PUT_EGGS", "true") // re-runs "dragon", then what is registered After it
	if Hoard["egg"] != 3 {
		t.Errorf("hoard = %v, want 3 eggs", Hoard)
	}
} // here PUT_EGGS is restored and "dragon" runs again

// readme:end

func TestReadmeSnippet(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section, ok := between(string(readme), "<!-- section: settings -->", "<!-- /section: settings -->")
	if !ok {
		t.Fatal("README.md has no settings section (<!-- section: settings --> … <!-- /section: settings -->)")
	}
	snippet, ok := between(section, "```go\n", "```")
	if !ok {
		t.Fatal("the settings section of README.md has no ```go block")
	}
	self, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := between(string(self), "// readme:begin\n", "// readme:end")
	if strings.TrimSpace(snippet) != strings.TrimSpace(code) {
		t.Errorf("the README snippet differs from the code in readme_test.go\n--- README:\n%s\n--- readme_test.go:\n%s\n(copy the code into README.md)", snippet, code)
	}
	if Hoard["egg"] != 0 {
		t.Errorf("Hoard = %v after TestEggs, want it rebuilt without eggs", Hoard)
	}
}

// between returns the text between the first start and the next end.
func between(s, start, end string) (string, bool) {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return "", false
	}
	in, _, ok := strings.Cut(after, end)
	return in, ok
}
