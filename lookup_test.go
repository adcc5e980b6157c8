package stepping_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stepping-io/stepping"
)

// TestLookupAfterStepUsesIndex looks a group up by its key after each
// step that changes the view. The index the first lookup made, kept up
// to date by every step, answers it: the view, whose contents are read
// from the aggregate's state, is not worked out again for a lookup,
// which would allocate for every one of its groups.
func TestLookupAfterStepUsesIndex(t *testing.T) {
	ctx := context.Background()
	prog, err := stepping.Compile("groups.step", "table t (k int8, v int8, primary key (k))\nview s = t | group by k { total = sum(v) }\noutput s\n")
	if err != nil {
		t.Fatal(err)
	}
	eng := prog.OpenMemory()
	defer eng.Close()
	const groups = 20_000
	rows := make([]any, groups)
	for k := range rows {
		rows[k] = []any{int64(k), int64(1)}
	}
	if err := eng.Insert(ctx, "t", rows...); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Step(ctx); err != nil {
		t.Fatal(err)
	}
	lookup := func(k int64, want int64) {
		t.Helper()
		got, err := eng.Lookup(ctx, "s", map[string]any{"k": k})
		if err != nil || got.Len() != 1 || got.Rows[0][1] == nil {
			t.Fatalf("group %d: %v, %v", k, got, err)
		}
		if total := got.Rows[0][1].(interface{ IntPart() int64 }).IntPart(); total != want {
			t.Fatalf("group %d: total %d, want %d", k, total, want)
		}
	}
	lookup(0, 1) // makes the index
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 20
	for i := range int64(steps) {
		if err := eng.Update(ctx, "t", []any{i, i + 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Step(ctx); err != nil {
			t.Fatal(err)
		}
		lookup(i, i+2)
	}
	runtime.ReadMemStats(&after)
	// Working out the view allocates tens of bytes a group, more than a
	// megabyte here; a step of one change and a lookup, a few kilobytes.
	perStep := (after.TotalAlloc - before.TotalAlloc) / steps
	t.Logf("a step and a lookup allocate %d bytes", perStep)
	if perStep > 100_000 {
		t.Errorf("a step and a lookup allocate %d bytes: the view is worked out again for the lookup", perStep)
	}
}
