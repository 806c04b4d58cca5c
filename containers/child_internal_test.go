package containers

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// StartChild runs the test named test in a child test binary with
// env=mode, until a line of its output satisfies reported (what names what
// it reports, for the failure); the rest of its output is drained. It is in
// a _test file of the package so that the tests of both packages use it.
func StartChild(t *testing.T, test, env, mode, what string, reported func(line string) bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+mode)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if reported(sc.Text()) {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd
		}
	}
	_ = cmd.Wait()
	t.Fatalf("helper %s did not report %s; output:\n%s", mode, what, strings.Join(lines, "\n"))
	return nil
}
