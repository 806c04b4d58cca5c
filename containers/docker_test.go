//go:build unix

package containers_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// dockerGrace is how long after its last user a container, its volumes,
// its supervisor and its directory may take to go: the supervisor checks
// twice a second, and docker rm -f -v takes a moment.
const dockerGrace = 10 * time.Second

// dockerOpts are the options of a Docker test server.
func dockerOpts(extra ...containers.Option) []containers.Option {
	return append([]containers.Option{containers.WithProvider(containers.ProviderDocker), containers.WithImage(containers.DockerTestImage())}, extra...)
}

// containerID returns the short id of the container a server runs in (its
// hostname).
func containerID(t *testing.T, srv *containers.Server) string {
	t.Helper()
	return strings.TrimSpace(query[string](t, srv.DSN(), "SELECT pg_read_file('/etc/hostname')"))
}

// docker runs the docker command and returns its trimmed output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := osexec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

func TestDockerProvider(t *testing.T) {
	containers.RequireDocker(t)
	srv := containers.Postgres(t, dockerOpts()...)
	assert.Equal(t, containers.ProviderDocker, srv.Provider())
	assert.NotEmpty(t, srv.Version())
	id := containerID(t, srv)

	t.Run("the data directory is on a tmpfs and no volume is made", func(t *testing.T) {
		dataDir := query[string](t, srv.DSN(), "SHOW data_directory")
		mounts := docker(t, "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Destination}};{{end}}{{range $k, $v := .HostConfig.Tmpfs}}{{$k}};{{end}}", id)
		assert.NotContains(t, mounts, "volume", "no anonymous volume")
		tmpfs := docker(t, "inspect", "-f", "{{range .HostConfig.Mounts}}{{.Type}}={{.Target}};{{end}}", id)
		assert.Contains(t, tmpfs, "tmpfs="+dataDir, "PGDATA %s on a tmpfs", dataDir)
	})
	t.Run("settings are postgres -c arguments, verified with SHOW", func(t *testing.T) {
		for name, want := range containers.ThrowawaySettings() {
			t.Run(name, func(t *testing.T) {
				source := query[string](t, srv.DSN(), "SELECT source FROM pg_settings WHERE name = $1", name)
				assert.Equal(t, "command line", source)
				got := query[string](t, srv.DSN(), "SELECT current_setting($1)", name)
				assert.Equal(t, normalizeSetting(want), normalizeSetting(got))
			})
		}
	})
	t.Run("published on loopback only", func(t *testing.T) {
		ports := docker(t, "port", id, "5432/tcp")
		assert.True(t, strings.HasPrefix(ports, "127.0.0.1:"), "docker port: %s", ports)
	})
	t.Run("labelled with its owner", func(t *testing.T) {
		labels := docker(t, "inspect", "-f", `{{index .Config.Labels "io.dbsuite.host"}} {{index .Config.Labels "io.dbsuite.pid"}} {{index .Config.Labels "io.dbsuite.config"}}`, id)
		host, _ := os.Hostname()
		f := strings.Fields(labels)
		require.Len(t, f, 3, labels)
		assert.Equal(t, host, f[0])
		assert.NotEmpty(t, f[2])
	})
}

// normalizeSetting makes SHOW's and TestSettings' spellings comparable
// ("1d" and "1d", "8GB" and "8GB": SHOW keeps the unit the value was
// given in when it divides evenly).
func normalizeSetting(v string) string { return strings.ToLower(strings.TrimSpace(v)) }

func TestDockerCustomSettings(t *testing.T) {
	containers.RequireDocker(t)
	srv := containers.Postgres(t, dockerOpts(containers.WithSettings(containers.Settings{"work_mem": "13MB", "max_connections": "120"}))...)
	assert.Equal(t, "13MB", query[string](t, srv.DSN(), "SHOW work_mem"))
	assert.Equal(t, "120", query[string](t, srv.DSN(), "SHOW max_connections"))
	assert.Equal(t, "off", query[string](t, srv.DSN(), "SHOW fsync"), "the ThrowawaySettings preset applies too")
}

func TestDockerDatabases(t *testing.T) {
	containers.RequireDocker(t)
	srv := containers.Postgres(t, dockerOpts()...)
	t.Run("isolated", func(t *testing.T) {
		for i := range 4 {
			t.Run(fmt.Sprint("test", i), func(t *testing.T) {
				t.Parallel()
				pool := srv.Database(t).Pool(t)
				_, err := pool.Exec(t.Context(), "CREATE TABLE account (id int PRIMARY KEY)")
				require.NoError(t, err)
				_, err = pool.Exec(t.Context(), "INSERT INTO account VALUES ($1)", i)
				require.NoError(t, err)
				var n int
				require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM account").Scan(&n))
				assert.Equal(t, 1, n, "each test sees only its own rows")
			})
		}
	})
	t.Run("template1 without catalog maps", func(t *testing.T) {
		checkWithoutCatalogMaps(t, srv)
	})
	t.Run("templates with their relation cache", func(t *testing.T) {
		checkRelcacheInit(t, srv)
	})
	t.Run("over TCP", func(t *testing.T) {
		db := srv.Database(t)
		assert.Contains(t, db.DSN(), "host=127.0.0.1")
	})
	t.Run("cloned from a template", func(t *testing.T) {
		tpl := containers.NewTemplate("docker_accounts", "v1", func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "CREATE TABLE account (id int PRIMARY KEY); INSERT INTO account SELECT generate_series(1, 50)")
			return err
		})
		for i := range 3 {
			t.Run(fmt.Sprint("test", i), func(t *testing.T) {
				t.Parallel()
				pool := srv.Database(t, containers.WithTemplate(tpl)).Pool(t)
				_, err := pool.Exec(t.Context(), "DELETE FROM account WHERE id > $1", 10*i)
				require.NoError(t, err)
				var n int
				require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM account").Scan(&n))
				assert.Equal(t, 10*i, n, "each clone starts with the template's 50 rows")
			})
		}
	})
	t.Run("in a transaction rolled back at cleanup", func(t *testing.T) {
		var table string
		t.Run("writes", func(t *testing.T) {
			tx := srv.Tx(t)
			table = fmt.Sprintf("tx_%d", time.Now().UnixNano())
			_, err := tx.Exec(t.Context(), "CREATE TABLE "+table+" (id int)")
			require.NoError(t, err)
		})
		tx := srv.Tx(t)
		var exists bool
		require.NoError(t, tx.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists))
		assert.False(t, exists, "the earlier test's table was rolled back")
	})
}

const dockerHelperEnv = "DBSUITE_DOCKER_HELPER"

// TestDockerHelperProcess is not a test: the Docker tests run the test
// binary again with only this function selected and dockerHelperEnv set,
// and it then plays a test binary that uses a Docker server and ends in
// some way. It prints "DOCKER-HELPER <container> <database> <run directory>
// <volumes mounted>".
func TestDockerHelperProcess(t *testing.T) {
	mode := os.Getenv(dockerHelperEnv)
	if mode == "" {
		return
	}
	var extra []containers.Option
	switch {
	case strings.HasSuffix(mode, "-private"):
		extra = append(extra, containers.WithPrivate(true))
	case strings.HasSuffix(mode, "-alone"):
		// Settings no other test uses: a shared container of its own.
		extra = append(extra, containers.WithSettings(containers.Settings{"work_mem": "7MB"}))
	}
	srv := containers.Postgres(t, dockerOpts(extra...)...)
	db := srv.Database(t)
	id := containerID(t, srv)
	// What the parent checks of the container is read here, while it
	// certainly runs: a helper that panics or fails may be gone, with its
	// container, before the parent could look.
	runDir := docker(t, "inspect", "-f", `{{index .Config.Labels "io.dbsuite.run"}}`, id)
	if _, err := os.Stat(runDir); err != nil {
		t.Fatalf("the container's run directory: %v", err)
	}
	fmt.Printf("DOCKER-HELPER %s %s %s %d\n", id, db.Name(), runDir, len(volumesOf(t, id)))
	switch {
	case strings.HasPrefix(mode, "kill") || strings.HasPrefix(mode, "hold"):
		time.Sleep(time.Minute) // until killed
	case strings.HasPrefix(mode, "panic"):
		panic("the helper test panics")
	case strings.HasPrefix(mode, "fail"):
		t.Fatal("the helper test fails")
	}
}

type dockerHelper struct {
	container, db, runDir string
	volumes               int // Docker volumes its container mounts
	cmd                   *osexec.Cmd
}

// startDockerHelper runs TestDockerHelperProcess in a child test binary and
// waits for it to report its container.
func startDockerHelper(t *testing.T, mode string) *dockerHelper {
	t.Helper()
	h := &dockerHelper{}
	h.cmd = containers.StartChild(t, "TestDockerHelperProcess", dockerHelperEnv, mode, "its container", func(line string) bool {
		_, err := fmt.Sscanf(line, "DOCKER-HELPER %s %s %s %d", &h.container, &h.db, &h.runDir, &h.volumes)
		return err == nil
	})
	return h
}

// leftovers lists what a container left behind: the container itself, its
// volumes, its supervisor process and its run directory.
func leftovers(t *testing.T, id, runDir string) []string {
	t.Helper()
	var left []string
	if out, _ := osexec.Command("docker", "ps", "-aq", "--filter", "id="+id).Output(); len(strings.TrimSpace(string(out))) > 0 {
		left = append(left, "container "+id)
	}
	if out, _ := osexec.Command("pgrep", "-f", runDir).Output(); len(strings.TrimSpace(string(out))) > 0 {
		left = append(left, "process "+strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(runDir); err == nil {
		left = append(left, "directory "+runDir)
	}
	return left
}

// volumesOf lists the Docker volumes mounted in a container: none for a
// dbsuite container, whose PGDATA and image VOLUMEs are tmpfs mounts.
// (Comparing the engine's whole volume list before and after failed
// when something else on the machine made a volume meanwhile.)
func volumesOf(t *testing.T, id string) []string {
	t.Helper()
	return strings.Fields(docker(t, "inspect", "-f", `{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}`, id))
}

func TestDockerNothingOutlivesTheTests(t *testing.T) {
	containers.RequireDocker(t)
	containers.Postgres(t, dockerOpts()...) // the seed image exists before the helpers race for it
	tests := []struct {
		name string
		mode string
		kill bool
	}{
		{"killed, private container", "kill-private", true},
		{"killed, shared container used by no one else", "kill-alone", true},
		{"panics, private container", "panic-private", false},
		{"panics, shared container used by no one else", "panic-alone", false},
		{"fails, private container", "fail-private", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startDockerHelper(t, tt.mode)
			runDir := h.runDir
			assert.Zero(t, h.volumes, "no volume made: the data is on tmpfs")
			if tt.kill {
				require.DirExists(t, runDir, "the helper waits to be killed: its directory is there")
				require.NoError(t, h.cmd.Process.Kill())
			}
			require.Error(t, h.cmd.Wait(), "the helper must die or fail")
			deadline := time.Now().Add(dockerGrace)
			for left := leftovers(t, h.container, runDir); len(left) > 0; left = leftovers(t, h.container, runDir) {
				if time.Now().After(deadline) {
					t.Fatalf("still there %v after the helper ended: %s", dockerGrace, strings.Join(left, ", "))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestDockerSharedAcrossBinaries checks that two test binaries with the
// same configuration use one container, and that a killed one does not
// take it down.
func TestDockerSharedAcrossBinaries(t *testing.T) {
	containers.RequireDocker(t)
	srv := containers.Postgres(t, dockerOpts()...)
	srv.Database(t)
	mine := containerID(t, srv)
	h := startDockerHelper(t, "hold-shared")
	assert.Equal(t, mine, h.container, "the second test binary joins the first one's container")
	require.NoError(t, h.cmd.Process.Kill())
	_ = h.cmd.Wait()
	time.Sleep(time.Second) // two supervisor checks
	assert.Equal(t, "true", docker(t, "inspect", "-f", "{{.State.Running}}", mine), "a killed binary does not take the shared container down")
	db := srv.Database(t)
	assert.Contains(t, db.DSN(), "port=")
}

// TestDockerSweepsDeadOwners checks that a container whose owner died
// without its supervisor (its run directory gone) is removed by the next
// test binary that uses the Docker provider.
func TestDockerSweepsDeadOwners(t *testing.T) {
	containers.RequireDocker(t)
	host, _ := os.Hostname()
	orphan := docker(t, "run", "-d", "--entrypoint", "sleep",
		"--label", "io.dbsuite.role=server", "--label", "io.dbsuite.host="+host,
		"--label", "io.dbsuite.pid=999999999", "--label", "io.dbsuite.session=0",
		"--label", "io.dbsuite.run="+filepath.Join(t.TempDir(), "gone"),
		containers.DockerTestImage(), "300")
	t.Cleanup(func() { _ = osexec.Command("docker", "rm", "-f", "-v", orphan).Run() })
	h := startDockerHelper(t, "fail-private") // a new binary sweeps when it first starts a container
	_ = h.cmd.Wait()
	out, err := osexec.Command("docker", "ps", "-aq", "--filter", "id="+orphan).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(out)), "the orphan container is swept")
}

func TestDockerFailures(t *testing.T) {
	containers.RequireDocker(t)
	tests := []struct {
		name  string
		image string
		want  []string
	}{
		{
			name:  "image absent, no registry",
			image: "dbsuite/no-such-image:0",
			want: []string{"docker: image dbsuite/no-such-image:0 is not on this machine and pulling it failed",
				"fix: docker pull dbsuite/no-such-image:0", "scripts/build-postgres-image.sh"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := runFake(t, false, func(tb testing.TB) {
				containers.Postgres(tb, containers.WithProvider(containers.ProviderDocker), containers.WithImage(tt.image), containers.WithPrivate(true))
			})
			for _, w := range tt.want {
				assert.Contains(t, f.fatal, w)
			}
		})
	}
}

// TestDockerKeepFailed checks DBSUITE_KEEP_FAILED=1 on a container: the
// failed test's database and its container stay after the binary exits,
// and the log says how to reach it (docker exec ... psql) and remove it.
func TestDockerKeepFailed(t *testing.T) {
	containers.RequireDocker(t)
	cmd := osexec.Command(os.Args[0], "-test.run=^TestDockerHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), dockerHelperEnv+"=fail-alone", containers.EnvKeepFailed+"=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the helper test fails")
	var id, db string
	for _, line := range strings.Split(string(out), "\n") {
		fmt.Sscanf(strings.TrimSpace(line), "DOCKER-HELPER %s %s", &id, &db)
	}
	require.NotEmpty(t, id, "%s", out)
	remove := ""
	for _, line := range strings.Split(string(out), "\n") {
		if _, after, ok := strings.Cut(line, "remove it with: "); ok {
			remove = strings.TrimSpace(after)
		}
	}
	require.NotEmpty(t, remove, "the log says how to remove the container:\n%s", out)
	t.Cleanup(func() { _ = osexec.Command("/bin/sh", "-c", remove).Run() })
	assert.Contains(t, string(out), fmt.Sprintf("docker exec -it %s psql -U postgres -d %s", id, db))
	time.Sleep(time.Second) // two supervisor checks
	assert.Equal(t, "true", docker(t, "inspect", "-f", "{{.State.Running}}", id), "a kept database keeps its container")
	assert.Equal(t, "1", docker(t, "exec", id, "psql", "-U", "postgres", "-d", db, "-Atc", "SELECT 1"), "the printed command reaches the database")
	require.NoError(t, osexec.Command("/bin/sh", "-c", remove).Run(), remove)
	out2, _ := osexec.Command("docker", "ps", "-aq", "--filter", "id="+id).Output()
	assert.Empty(t, strings.TrimSpace(string(out2)), "the printed command removes the container")
}
