package containers

import "syscall"

// removeSharedMemory marks a System V segment for removal (IPC_RMID).
func removeSharedMemory(shmid int) {
	const ipcRMID = 0
	_, _, _ = syscall.Syscall(syscall.SYS_SHMCTL, uintptr(shmid), ipcRMID, 0)
}
