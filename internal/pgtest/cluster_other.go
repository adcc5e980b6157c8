//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"os/user"
	"syscall"
)

// stopSignal stops a postmaster where SIGQUIT may not exist.
var stopSignal = os.Kill

// serverAttr refuses: private clusters are made on Linux only, where the
// postmaster can be tied to the test process's life and run as another
// user when the test runs as root.
func serverAttr(*user.User) (*syscall.SysProcAttr, error) {
	return nil, errors.New("private clusters are made on Linux only")
}
