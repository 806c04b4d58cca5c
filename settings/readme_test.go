package settings_test

import (
	"os"
	"testing"

	"github.com/dbsuite/dbsuite/internal/readme"
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
	settings.Register("dragon", func() { Hoard = build() }, settings.WithKeys("PUT_EGGS"))
}

// dragon_test.go
func TestEggs(t *testing.T) {
	settings.Setenv(t, "PUT_EGGS", "true") // re-runs "dragon", then what is registered After it
	if Hoard["egg"] != 3 {
		t.Errorf("hoard = %v, want 3 eggs", Hoard)
	}
} // here PUT_EGGS is restored and "dragon" runs again

// readme:end

// TestReadmeSnippet checks that the Go block of the README's settings section is the code above, and that
// Hoard was rebuilt after TestEggs.
func TestReadmeSnippet(t *testing.T) {
	readme.CheckSection(t, "settings")
	if Hoard["egg"] != 0 {
		t.Errorf("Hoard = %v after TestEggs, want it rebuilt without eggs", Hoard)
	}
}
