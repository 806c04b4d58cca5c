// Package faket runs a function as a test would run, with a stand-in for *testing.T that prints the
// test's outcome, so that runnable examples can show failure messages in their output. The stand-in is
// dbsuite's one fake testing.TB (internal/faketb); this package only prints what it records.
package faket

import (
	"fmt"
	"testing"

	"github.com/dbsuite/dbsuite/internal/faketb"
)

// Run runs body with a fake test named name, then its cleanups, last registered first, and prints
// "--- PASS: name" or the failures. With parallel, the fake behaves as a test that called t.Parallel:
// its Setenv refuses.
func Run(name string, parallel bool, body func(t testing.TB)) {
	t := faketb.New(nil, name)
	t.Parallel = parallel
	failed := false
	t.OnError = func(msg string) {
		if !failed {
			fmt.Printf("--- FAIL: %s\n", name)
		}
		failed = true
		fmt.Println(msg)
	}
	t.Run(body)
	t.Finish()
	if !failed {
		fmt.Printf("--- PASS: %s\n", name)
	}
}
