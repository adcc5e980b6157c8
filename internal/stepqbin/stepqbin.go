// Package stepqbin builds the stepq command for tests that run it as a
// process of its own (to kill it, as a user's shell would run it).
package stepqbin

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds stepq into the test's temporary directory and returns its
// path.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stepq")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stepping-io/stepping/cmd/stepq")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
