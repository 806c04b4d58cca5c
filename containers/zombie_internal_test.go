//go:build linux

package containers

import (
	"errors"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestZombieIsNotRunning makes a zombie (a child that exited and that this
// process has not waited for yet: what a postmaster is whose test binary
// exited, until PID 1 reaps it) and checks that neither pidAlive nor the
// supervisors' running() take it for a running process, while both find
// a process that runs.
func TestZombieIsNotRunning(t *testing.T) {
	t.Parallel()
	child := exec.Command("true")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Wait() }()
	pid := child.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for !zombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d: not a zombie after 5 s", pid)
		}
		time.Sleep(time.Millisecond)
	}
	if pidAlive(pid) {
		t.Errorf("pidAlive(%d) = true for a zombie, want false", pid)
	}
	running := func(pid int) bool {
		err := exec.Command("/bin/sh", "-c", shRunning+"\nrunning "+strconv.Itoa(pid)).Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return err == nil
	}
	if running(pid) {
		t.Errorf("running %d succeeded for a zombie, want it to fail", pid)
	}

	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	if !pidAlive(sleeper.Process.Pid) || !running(sleeper.Process.Pid) {
		t.Errorf("pidAlive or running says a sleeping process (pid %d) does not run", sleeper.Process.Pid)
	}
}
