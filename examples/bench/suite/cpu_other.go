//go:build !linux

package suitebench

import "time"

// busyCPU reports false: the machine's busy CPU time is read from Linux's
// /proc/stat only.
func busyCPU() (time.Duration, bool) { return 0, false }
