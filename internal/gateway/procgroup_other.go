//go:build !unix

package gateway

import (
	"os"
	"os/exec"
)

// Without process groups a session's process is stopped alone.
func ownGroup(*exec.Cmd)      {}
func killGroup(p *os.Process) { p.Kill() }
func endGroup(int)            {}
func becomeSubreaper()        {}
