//go:build unix

package pamauth

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the helper in a process group of its own and
// makes cancelling kill the whole group, so that a child it runs
// (unix_chkpwd, a slow module's helper) dies with it. A setuid-root
// helper keeps the server's real uid, so the server may signal it.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
