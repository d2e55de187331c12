//go:build unix

package config

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd run in its own process group and, on cancellation, kills
// the whole group, so that a child of the shell (gpg, sleep) goes too.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
