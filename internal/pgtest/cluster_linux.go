package pgtest

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// stopSignal asks a postmaster for an immediate shutdown: it kills its
// backends and exits without a checkpoint.
const stopSignal = syscall.SIGQUIT

// serverAttr returns how initdb and postgres are started: as owner when
// one is given (the test runs as root), and in any case so that the
// postmaster shuts down should the test process die without stopping it,
// rather than outlive it holding a port and a directory.
func serverAttr(owner *user.User) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: stopSignal}
	if owner != nil {
		uid, err := strconv.ParseUint(owner.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("user %s: uid %q: %w", owner.Username, owner.Uid, err)
		}
		gid, err := strconv.ParseUint(owner.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("user %s: gid %q: %w", owner.Username, owner.Gid, err)
		}
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return attr, nil
}
