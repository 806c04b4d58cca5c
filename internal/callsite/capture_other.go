//go:build !amd64

package callsite

import "runtime"

// physicalPCs: Capture records runtime.Callers's program counters, one per logical frame.
const physicalPCs = false

// Capture records the calling goroutine's stack into pcs, leaving out skip frames above Capture's caller, and
// returns how many it recorded. It does not allocate.
func Capture(skip int, pcs *PCs) int {
	return runtime.Callers(skip+2, pcs[:])
}
