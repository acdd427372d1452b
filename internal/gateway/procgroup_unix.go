//go:build unix

package gateway

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ownGroup runs cmd in a process group of its own, which then holds what
// it starts (a wrapper's children, like npx's): the group is what is
// signalled when the session ends.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup ends p's process group at once.
func killGroup(p *os.Process) {
	if syscall.Kill(-p.Pid, syscall.SIGKILL) != nil {
		p.Kill()
	}
}

// groupGrace bounds how long endGroup waits for a group to be gone.
const groupGrace = time.Second

// endGroup, once the group's leader (pgid) was reaped, ends what is left
// of its group and reaps those of them that became tmcp's children (as
// its subreaper, or as process 1): nothing the server started is left
// running or a zombie.
func endGroup(pgid int) {
	deadline := time.Now().Add(groupGrace)
	for {
		if syscall.Kill(-pgid, syscall.SIGKILL) == syscall.ESRCH {
			return
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
		if syscall.Kill(-pgid, 0) == syscall.ESRCH || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
