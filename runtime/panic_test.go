package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestStepRecoversFromPanic makes an operator panic, as a bug would: the
// step fails with an error, the caller lives on, and the engine is as it
// was before the step.
func TestStepRecoversFromPanic(t *testing.T) {
	prog, err := compile.Compile(context.Background(), "p.step", "table t (id int4, primary key (id))\nview v = t | select { id }\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := prog.NewEngine(runtime.NewMemoryStore())
	ctx := context.Background()
	if _, err := eng.Step(ctx, map[string][]runtime.Change{"t": {{Op: runtime.Insert, Row: zset.Row{int64(1)}}}}); err != nil {
		t.Fatal(err)
	}
	m := prog.View("v").Node.Op.(*ir.Map)
	saved := m.Exprs[0].Eval
	m.Exprs[0].Eval = func(zset.Row) (any, error) { panic("boom") }
	_, err = eng.Step(ctx, map[string][]runtime.Change{"t": {{Op: runtime.Insert, Row: zset.Row{int64(2)}}}})
	m.Exprs[0].Eval = saved
	if err == nil || !strings.Contains(err.Error(), "internal error: boom") {
		t.Fatalf("a panicking step gave %v, want an internal error", err)
	}
	for _, name := range []string{"t", "v"} {
		if rows, _ := eng.Contents(name); rows.Len() != 1 {
			t.Errorf("%s has %d rows after the failed step, want 1", name, rows.Len())
		}
	}
}
