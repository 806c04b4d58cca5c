package ci

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// serviceCommand returns the `command:` of the service container of the
// workflow's command job, as one line.
func serviceCommand(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("workflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "command: >-"):
			in = true
		case in && strings.HasSuffix(trimmed, ":"):
			return strings.Join(words, " ")
		case in:
			words = append(words, strings.Fields(trimmed)...)
		}
	}
	t.Fatal("workflow.yml has no service command: >- block")
	return ""
}

// TestWorkflowServiceCommand runs the service container of workflow.yml's
// command job the way the runner does (its command: as the container's
// command, a tmpfs data directory) and checks that pgtune, as the job
// runs it, passes on it, and fails on a command that leaves out a setting
// that needs a restart.
func TestWorkflowServiceCommand(t *testing.T) {
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no Docker engine answers: %v\n%s", err, out)
		}
		t.Skipf("skipped: no Docker engine answers: %v", err)
	}
	image := os.Getenv("DBSUITE_POSTGRES_IMAGE") // the workflow pulls postgres:17; nothing can be pulled here
	if image == "" {
		image = "dbsuite/postgres:15"
	}
	command := serviceCommand(t)
	tests := []struct {
		name    string
		command string
		wantOK  bool
	}{
		{"the workflow's command", command, true},
		{"max_connections left out", strings.Replace(command, "-c max_connections=300", "", 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "-d", "-p", "127.0.0.1::5432", "-e", "POSTGRES_PASSWORD=postgres",
				"--mount", "type=tmpfs,destination=/var/lib/postgresql/data", image}, strings.Fields(tt.command)...)
			out, err := exec.Command("docker", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("docker run: %v\n%s", err, out)
			}
			id := strings.TrimSpace(string(out))
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", "-v", id).Run() })
			port, err := exec.Command("docker", "port", id, "5432/tcp").Output()
			if err != nil {
				t.Fatal(err)
			}
			_, p, _ := strings.Cut(strings.TrimSpace(strings.Split(string(port), "\n")[0]), ":")
			dsn := "postgres://postgres:postgres@127.0.0.1:" + p + "/postgres?sslmode=disable"
			waitAnswers(t, dsn)
			cmd := exec.Command("go", "run", "github.com/dbsuite/dbsuite/containers/cmd/pgtune", "-dsn", dsn)
			report, err := cmd.CombinedOutput()
			t.Logf("pgtune:\n%s", report)
			if tt.wantOK && err != nil {
				t.Errorf("pgtune failed on the workflow's service container: %v", err)
			}
			if !tt.wantOK && err == nil {
				t.Errorf("pgtune passed, want it to fail: max_connections needs a restart the job does not do")
			}
		})
	}
}

func waitAnswers(t *testing.T, dsn string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			var one int
			err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service container does not answer SELECT 1: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
