//go:build !unix

package config

import "os/exec"

func killGroup(cmd *exec.Cmd) {}
