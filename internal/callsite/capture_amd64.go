package callsite

import "unsafe"

// physicalPCs: Capture records the return addresses of physical frames, found by following frame pointers (as
// the runtime's execution tracer does): 35 ns for 32 frames against 605 ns for runtime.Callers, 17 times faster
// (BenchmarkCapture, README). Frames inlined into them are expanded when resolved.
const physicalPCs = true

func callerFP() unsafe.Pointer

// Capture records the calling goroutine's stack into pcs, leaving out skip frames above Capture's caller, and
// returns how many it recorded. It does not allocate.
//
//go:noinline
func Capture(skip int, pcs *PCs) int {
	fp := callerFP() // Capture's own frame: its return address is in the caller
	n := 0
	for fp != nil && n < len(pcs) {
		pc := *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
		fp = *(*unsafe.Pointer)(fp)
		if skip > 0 {
			skip--
			continue
		}
		pcs[n] = pc
		n++
	}
	return n
}
