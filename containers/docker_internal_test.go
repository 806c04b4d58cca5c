//go:build unix

package containers

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbsuite/dbsuite/internal/golden"
)

// TestDockerFailureMessages pins every kind of Docker provider failure:
// what happened, the image, the Docker error, the container's log tail,
// and what to do.
func TestDockerFailureMessages(t *testing.T) {
	e := &engine{host: "unix:///var/run/docker.sock"}
	logs := []byte("2026-11-26 12:00:00.000 UTC [1] FATAL:  could not create lock file \"/var/run/postgresql/.s.PGSQL.5432.lock\": Permission denied\n" +
		"2026-11-26 12:00:00.001 UTC [1] LOG:  database system is shut down\n")
	tests := []struct {
		name string
		err  error
	}{
		{"no engine", e.noEngine(errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"))},
		{"image absent and no registry", pullFailure("postgres:18", errors.New(`Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host`))},
		{"port in use", e.fail("postgres:18", "", "starting the container failed",
			errors.New("Error response from daemon: driver failed programming external connectivity: Bind for 127.0.0.1:5432 failed: port is already allocated"), nil)},
		{"container exits while starting", e.fail("dbsuite/postgres:15", "0123456789abcdef0123", "the container did not become ready",
			errors.New("the container exited (code 1) before answering SELECT 1"), logs)},
		{"not ready in time", e.fail("dbsuite/postgres:15", "0123456789abcdef0123", "the container did not become ready",
			errors.New("no answer to SELECT 1 after 1m0s: failed to connect to `user=postgres database=postgres`: 127.0.0.1:32768: server closed the connection"), logs)},
		{"reaper cannot start", e.fail("postgres:18", "", "starting the container failed",
			errors.New("create container: reaper: run container: pull image testcontainers/ryuk:0.14.0: no such host"), nil)},
	}
	var b strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.err.Error()
			if !strings.HasPrefix(msg, "containers: docker: ") || !strings.Contains(msg, "\nfix: ") {
				t.Errorf("not in the failure grammar (containers: docker: ..., fix: ...):\n%s", msg)
			}
			b.WriteString("== " + tt.name + "\n" + msg + "\n\n")
		})
	}
	golden.Check(t, filepath.Join("testdata", "docker_failures.golden"), b.String())
}

// TestDockerVerifySettings checks that what a container runs with is
// compared with what was asked, as PostgreSQL reads values, and that a
// difference names the setting, the value SHOW gives and its source.
func TestDockerVerifySettings(t *testing.T) {
	requireDocker(t)
	srv := Postgres(t, WithImage(dockerTestImage()))
	tests := []struct {
		name string
		want Settings
		bad  []string // settings the error must name; none: no error
	}{
		{"the preset, as given", ThrowawaySettings(), nil},
		{"the same values in other units", Settings{"max_wal_size": "8192MB", "checkpoint_timeout": "24h", "fsync": "false"}, nil},
		{"values it does not run with", Settings{"work_mem": "64MB", "fsync": "on", "jit": "off"}, []string{"work_mem = 64MB: SHOW says 4MB (source: default)", "fsync = on: SHOW says off (source: command line)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifySettings(t.Context(), srv.dsn, tt.want)
			if len(tt.bad) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error, want one naming " + strings.Join(tt.bad, "; "))
			}
			for _, b := range tt.bad {
				if !strings.Contains(err.Error(), b) {
					t.Errorf("error does not say %q:\n%v", b, err)
				}
			}
			if strings.Contains(err.Error(), "jit") {
				t.Errorf("error names jit, which is in effect:\n%v", err)
			}
		})
	}
}
