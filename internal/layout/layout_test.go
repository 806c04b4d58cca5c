package layout

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestDependencyRules(t *testing.T) {
	tests := []struct {
		name, pkg string
		// forbidden reports why a dependency may not be there, or "".
		forbidden func(dep string) string
	}{
		{"assertq needs no server machinery", "./assertq", func(dep string) string {
			if strings.HasPrefix(dep, "github.com/dbsuite/dbsuite/containers") || strings.Contains(dep, "testcontainers") || strings.Contains(dep, "docker") {
				return "a user with a mock or an existing database must not compile it"
			}
			return ""
		}},
		{"fixtures needs no server machinery", "./fixtures", func(dep string) string {
			if strings.HasPrefix(dep, "github.com/dbsuite/dbsuite/containers") || strings.Contains(dep, "testcontainers") || strings.Contains(dep, "docker") {
				return "a user who wants factories and COPY must not compile a process supervisor; a DataSet reaches containers through containers.WithTemplate's interface"
			}
			return ""
		}},
		{"settings is standard library only", "./settings", func(dep string) string {
			// -deps lists everything underneath, so dbsuite's own internal
			// packages pass only if they too are standard library only.
			own := dep == "github.com/dbsuite/dbsuite/settings" || strings.HasPrefix(dep, "github.com/dbsuite/dbsuite/internal/")
			if first, _, _ := strings.Cut(dep, "/"); strings.Contains(first, ".") && !own {
				return "production code imports settings; it must cost nothing but the standard library"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, dep := range deps(t, tt.pkg) {
				if why := tt.forbidden(dep); why != "" {
					t.Errorf("%s depends on %s: %s", tt.pkg, dep, why)
				}
			}
		})
	}
}

// TestNoFlagsRegistered runs a test package that declares the conventional
// -update flag, as many projects do, and imports every dbsuite package: a
// library that registers a flag of its own makes such a test binary panic
// at start-up ("flag redefined").
func TestNoFlagsRegistered(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src := `package flagprobe

import (
	"flag"
	"testing"

	_ "github.com/dbsuite/dbsuite/assertq"
	_ "github.com/dbsuite/dbsuite/containers"
	_ "github.com/dbsuite/dbsuite/fixtures"
	_ "github.com/dbsuite/dbsuite/settings"
)

var update = flag.Bool("update", false, "the user's own golden files")

func TestStarts(t *testing.T) { _ = *update }
`
	tmp := t.TempDir()
	file := filepath.Join(tmp, "probe_test.go")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(root, "internal/layout/flagprobe/probe_test.go"): file,
	}})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	// The package exists only in the overlay: build its test binary, and
	// run it from a directory that does exist.
	bin := filepath.Join(tmp, "flagprobe.test")
	build := exec.Command("go", "test", "-c", "-vet=off", "-o", bin, "-overlay", overlayFile, "./internal/layout/flagprobe/")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	run := exec.Command(bin, "-test.count=1", "-update")
	run.Dir = tmp
	if out, err := run.CombinedOutput(); err != nil {
		t.Errorf("a test package with its own -update flag does not run with dbsuite imported: %v\n%s", err, out)
	}
}
