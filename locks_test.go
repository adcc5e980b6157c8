package stepping_test

import (
	"path/filepath"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/ir/lockfile"
)

// TestExampleLocks checks that every examples/NAME.step has an up-to-date
// lock file, examples/NAME.step.lock, as stepq lock writes it, so that a
// change to an example's circuit fails until its lock is regenerated and
// the difference reviewed. go test -run TestExampleLocks -update (or
// make locks) rewrites them.
func TestExampleLocks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("examples", "*.step"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			prog := compileExample(t, file)
			golden.Check(t, file+".lock", lockfile.Render(prog.Circuit))
		})
	}
}
