package suitebench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// busyCPU returns the CPU time the machine has spent busy since boot, all
// cores together (/proc/stat: user, nice, system, irq and softirq; not
// idle, iowait or the time a hypervisor stole), and true; false where it
// cannot be read.
func busyCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	// /proc/stat counts in USER_HZ, 100 on every Linux architecture.
	return time.Duration(ticks) * (time.Second / 100), true
}
