package containers

import "syscall"

// removeSharedMemory marks a System V segment for removal (IPC_RMID).
func removeSharedMemory(shmid int) {
	const ipcRMID = 0
	_, _, _ = syscall.Syscall(syscall.SYS_SHMCTL, uintptr(shmid), ipcRMID, 0)
}

// dieWithParent has the child killed when the thread that starts it
// exits (the caller keeps that thread locked while the child runs).
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
