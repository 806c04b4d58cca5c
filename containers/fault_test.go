//go:build unix

package containers_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dbsuite/dbsuite/containers"
)

// The fault suite kills a test binary at each stage of getting and using
// a server, in each way a run ends early, and checks that within the
// grace period nothing it made remains: no process, no directory, no
// shared-memory segment, no database.
//
// A child test binary (TestFaultChild) stops at the stage named by
// DBSUITE_TEST_FAULT_STAGE: inside the library (initdb, tuning, start,
// created: a clone made and not yet handed out; through a hook the internal
// test file sets) or in its own test (template
// build, clone, mid-test); it prints "STAGE <stage> <dir>" and blocks, and
// the parent kills it: SIGKILL to the binary, SIGINT to its process group
// (Ctrl-C), or -test.timeout.

const (
	envFaultStage = "DBSUITE_TEST_FAULT_STAGE"
	envFaultChild = "DBSUITE_TEST_FAULT_CHILD"
	faultGrace    = 15 * time.Second
)

// TestFaultChild is not a test: the fault suite runs it in a child binary.
func TestFaultChild(t *testing.T) {
	if os.Getenv(envFaultChild) == "" {
		t.Skip("run by TestFaultSuite in a child test binary")
	}
	stage := os.Getenv(envFaultStage)
	block := func(stage, dir string) {
		fmt.Printf("STAGE %s %s\n", stage, dir)
		select {}
	}
	srv := containers.Postgres(t, containers.WithPrivate(os.Getenv(containers.EnvURL) == ""), containers.WithWarmDatabases(0))
	dataDir := query[string](t, srv.DSN(), "SHOW data_directory")
	fmt.Printf("SERVER %s\n", filepath.Dir(dataDir))
	switch stage {
	case "template":
		tpl := containers.NewTemplate("fault", strconv.Itoa(os.Getpid()), func(ctx context.Context, conn *pgx.Conn) error {
			block(stage, conn.Config().Database)
			return nil
		})
		srv.Database(t, containers.WithTemplate(tpl))
	case "created": // the library's hook blocks once the database is made
		srv.Database(t)
	case "clone":
		fmt.Printf("STAGE clone -\n")
		for {
			srv.Database(t)
		}
	case "mid-test":
		db := srv.Database(t)
		block(stage, db.Name())
	}
	fmt.Println("DONE")
}

type faultCase struct {
	stage    string
	kill     string // "SIGKILL", "SIGINT" (to the process group), "timeout"
	cold     bool   // an empty cache: the one-time build runs
	existing bool   // against a server the parent runs (DBSUITE_POSTGRES_URL)
}

func (c faultCase) name() string {
	cache := "warm"
	if c.cold {
		cache = "cold"
	}
	if c.existing {
		cache = "existing server"
	}
	return fmt.Sprintf("%s/%s/%s", c.stage, c.kill, cache)
}

// TestFaultSuite: every case must leave nothing within faultGrace.
func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite kills child test binaries (about a minute)")
	}
	t.Parallel()
	warm := t.TempDir()
	// Build the warm cache once, with a child that runs to the end.
	out, err := faultChild(t, faultCase{stage: "none"}, warm, "", "").CombinedOutput()
	require.NoError(t, err, "%s", out)
	host := containers.Postgres(t, containers.WithPrivate(true))

	cases := []faultCase{
		{stage: "initdb", kill: "SIGKILL", cold: true},
		{stage: "initdb", kill: "SIGINT", cold: true},
		{stage: "tuning", kill: "SIGKILL", cold: true},
		{stage: "tuning", kill: "SIGINT", cold: true},
		{stage: "start", kill: "SIGKILL", cold: true},
		{stage: "start", kill: "SIGKILL"},
		{stage: "start", kill: "SIGINT"},
		{stage: "template", kill: "SIGKILL"},
		{stage: "template", kill: "timeout"},
		{stage: "clone", kill: "SIGKILL"},
		{stage: "clone", kill: "SIGINT"},
		{stage: "mid-test", kill: "SIGKILL"},
		{stage: "mid-test", kill: "SIGINT"},
		{stage: "mid-test", kill: "timeout"},
		{stage: "clone", kill: "SIGKILL", existing: true},
		{stage: "created", kill: "SIGKILL", existing: true},
		{stage: "mid-test", kill: "SIGINT", existing: true},
	}
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			cache := warm
			if c.cold {
				cache = t.TempDir()
			}
			url := ""
			if c.existing {
				url = host.DSN()
			}
			timeout := ""
			if c.kill == "timeout" {
				timeout = "6s"
			}
			cmd := faultChild(t, c, cache, url, timeout)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = cmd.Stdout
			require.NoError(t, cmd.Start())
			var lines []string
			var serverDir, stageDir string
			reached, eof := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(eof)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					line := sc.Text()
					lines = append(lines, line)
					if dir, ok := strings.CutPrefix(line, "SERVER "); ok {
						serverDir = dir
					}
					if rest, ok := strings.CutPrefix(line, "STAGE "); ok {
						stageDir = strings.TrimPrefix(rest, c.stage+" ")
						close(reached)
					}
				}
			}()
			select {
			case <-reached:
			case <-eof:
				if c.kill != "timeout" {
					t.Fatalf("the child exited before stage %s:\n%s", c.stage, strings.Join(lines, "\n"))
				}
				// -test.timeout fired before the stage (a slow machine):
				// still a run ended early, still checked.
				t.Logf("the timeout came before stage %s", c.stage)
			case <-time.After(90 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("the child never reached stage %s:\n%s", c.stage, strings.Join(lines, "\n"))
			}
			var dirs []string
			if !c.existing { // the parent's server is not the child's to remove
				dirs = append(dirs, serverDir)
			}
			if filepath.IsAbs(stageDir) {
				dirs = append(dirs, stageDir)
			}
			var pids []int
			for _, d := range dirs {
				if pid := postmasterPID(d); pid > 0 {
					pids = append(pids, pid)
				}
			}
			switch c.kill {
			case "SIGKILL":
				require.NoError(t, cmd.Process.Kill())
			case "SIGINT":
				require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
			}
			_ = cmd.Wait()
			childPID := cmd.Process.Pid
			t0 := time.Now()
			eventuallyWithin(t, faultGrace, "nothing left", func() []string {
				return faultLeftovers(t, dirs, pids, childPID, c.existing, host)
			})
			t.Logf("clean %v after the kill", time.Since(t0).Round(10*time.Millisecond))
		})
	}
}

// faultChild is the command of a child test binary for c.
func faultChild(t *testing.T, c faultCase, cache, url, timeout string) *osexec.Cmd {
	args := []string{"-test.run=^TestFaultChild$", "-test.v", "-test.count=1"}
	if timeout != "" {
		args = append(args, "-test.timeout="+timeout)
	}
	cmd := osexec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envFaultChild+"=1", envFaultStage+"="+c.stage,
		containers.EnvCacheDir+"="+cache, containers.EnvURL+"="+url, containers.EnvProvider+"=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, for SIGINT
	return cmd
}

// postmasterPID reads the postmaster's pid in a run directory, or 0.
func postmasterPID(runDir string) int {
	if runDir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(runDir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// faultLeftovers lists what a killed child left: directories, postmasters,
// processes naming its directories, shared-memory segments its
// postmasters created (System V; the dynamic ones are files in their data
// directories), and, on a server the parent runs, its databases.
func faultLeftovers(t *testing.T, dirs []string, pids []int, child int, existing bool, host *containers.Server) []string {
	var left []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(d); err == nil {
			left = append(left, "directory "+d)
		}
		if p := processNaming(d); p != "" {
			left = append(left, "process "+p)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			left = append(left, fmt.Sprintf("postmaster %d", pid))
		}
		if b, err := os.ReadFile("/proc/sysvipc/shm"); err == nil {
			for _, line := range strings.Split(string(b), "\n")[1:] {
				if f := strings.Fields(line); len(f) > 4 && f[4] == strconv.Itoa(pid) {
					left = append(left, "shared memory segment "+f[1]+" of postmaster "+f[4])
				}
			}
		}
	}
	if existing {
		names := query[[]string](t, host.DSN(), `SELECT coalesce(array_agg(datname), '{}') FROM pg_database WHERE datname LIKE $1`,
			fmt.Sprintf("dbsuite\\_%%\\_%d\\_%%", child))
		for _, n := range names {
			left = append(left, "database "+n)
		}
	}
	return left
}

// processNaming returns a process whose command line names dir, or "".
func processNaming(dir string) string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir) {
			return filepath.Base(filepath.Dir(p)) + ": " + strings.ReplaceAll(string(b), "\x00", " ")
		}
	}
	return ""
}

// eventuallyWithin waits until what returns nothing, failing with what
// remains after grace.
func eventuallyWithin(t *testing.T, grace time.Duration, what string, remaining func() []string) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		left := remaining()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after %v these remain:\n  %s", what, grace, strings.Join(left, "\n  "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
