// Package dragon is the first half of the seed story: a package that builds a table from the
// environment when it is imported. With PUT_EGGS=true the dragon's hoard has eggs in it.
//
// Building at import time is the trap: a test that sets PUT_EGGS afterwards, with os.Setenv or
// t.Setenv, changes the environment but not the hoard, which was built already. The one line in init
// that registers the rebuild with [settings.Register] is what lets tests override PUT_EGGS with
// [settings.Setenv] and see the hoard follow.
package dragon

import (
	"os"
	"strconv"

	"github.com/dbsuite/dbsuite/settings"
)

// Hoard is what the dragon guards, by item: how many of each. It is built when the package is imported,
// from PUT_EGGS.
var Hoard = build()

func init() {
	// The fix: tell settings how to rebuild Hoard, and that it depends on PUT_EGGS.
	settings.Register("dragon", func() { Hoard = build() }, settings.WithKeys("PUT_EGGS"))
}

// build makes the hoard from the environment.
func build() map[string]int {
	hoard := map[string]int{"gold coin": 1000, "crown": 1}
	if eggs, _ := strconv.ParseBool(os.Getenv("PUT_EGGS")); eggs {
		hoard["egg"] = 3
	}
	return hoard
}
