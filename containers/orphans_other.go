//go:build unix && !linux

package containers

import "syscall"

// removeSharedMemory is not done here: /proc/sysvipc, which finds the
// segments, is Linux's.
func removeSharedMemory(int) {}

// dieWithParent cannot be had here; the supervisor still removes the
// directory once the child exits.
func dieWithParent(*syscall.SysProcAttr) {}
