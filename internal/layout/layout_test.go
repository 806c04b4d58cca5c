package layout

import (
	"os/exec"
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
		{"settings is standard library only", "./settings", func(dep string) string {
			if first, _, _ := strings.Cut(dep, "/"); strings.Contains(first, ".") && dep != "github.com/dbsuite/dbsuite/settings" {
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
