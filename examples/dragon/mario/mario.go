// Package mario is the second half of the seed story: a package that takes a copy of a value another
// package built at start-up. Mario's loot is copied from the dragon's hoard when the package is imported,
// so rebuilding the hoard is not enough: the copy must be taken again too. Registering the copy with
// [settings.WithAfter]("dragon") does that, in the right order.
package mario

import (
	"fmt"
	"maps"
	"slices"

	"github.com/dbsuite/dbsuite/examples/dragon/dragon"
	"github.com/dbsuite/dbsuite/settings"
)

// Loot is what Mario carries out of the lair: one line per item of the dragon's hoard, copied at start-up.
var Loot = carry(dragon.Hoard)

func init() {
	// Package init order runs dragon's init first, so "dragon" is registered and rebuilt before "mario".
	settings.Register("mario", func() { Loot = carry(dragon.Hoard) }, settings.WithAfter("dragon"))
}

// carry lists the hoard as "3 × egg" lines, in alphabetical order of item.
func carry(hoard map[string]int) []string {
	var loot []string
	for _, item := range slices.Sorted(maps.Keys(hoard)) {
		loot = append(loot, fmt.Sprintf("%d × %s", hoard[item], item))
	}
	return loot
}

// HasEggs reports whether Mario carries eggs.
func HasEggs() bool { return slices.Contains(Loot, "3 × egg") }
