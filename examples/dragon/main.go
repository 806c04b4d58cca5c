// Command dragon tells the seed story in one run: the dragon's hoard and Mario's loot are built when the
// program starts, from PUT_EGGS; os.Setenv afterwards changes nothing; settings.Reload rebuilds both.
//
//	go run ./examples/dragon
//	PUT_EGGS=true go run ./examples/dragon
//
// The tests in package mario tell the same story as tests: the trap with t.Setenv, the fix with
// settings.Setenv, and settings.Subprocess for the start-up path itself.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/dbsuite/dbsuite/examples/dragon/mario"
	"github.com/dbsuite/dbsuite/settings"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run flips PUT_EGGS, shows that the loot built at start-up ignores it until settings.Reload runs, and
// puts everything back.
func run(w io.Writer) error {
	start, wasSet := os.LookupEnv("PUT_EGGS")
	flipped := "true"
	if eggs, _ := strconv.ParseBool(start); eggs {
		flipped = "false"
	}
	show := func(what string) {
		fmt.Fprintf(w, "%-32s Mario carries %s\n", what+":", strings.Join(mario.Loot, ", "))
	}

	show(fmt.Sprintf("start-up (PUT_EGGS=%q)", start))
	if err := os.Setenv("PUT_EGGS", flipped); err != nil {
		return err
	}
	show(fmt.Sprintf("os.Setenv(PUT_EGGS, %q)", flipped))
	if err := settings.Reload("PUT_EGGS"); err != nil {
		return err
	}
	show(`settings.Reload("PUT_EGGS")`)

	if wasSet {
		os.Setenv("PUT_EGGS", start)
	} else {
		os.Unsetenv("PUT_EGGS")
	}
	return settings.Reload("PUT_EGGS")
}
