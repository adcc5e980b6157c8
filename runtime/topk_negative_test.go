package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestTopKRefusesNegativeCopies deletes from a top-k group rows it does
// not hold, ranked above its first rows, among them and below them
// (where the step reads nothing of the group): each step fails, and
// leaves the group as it was for the next.
func TestTopKRefusesNegativeCopies(t *testing.T) {
	prog, err := compile.Compile(context.Background(), "neg.step", "table s (u int8, score int8)\nview v = s | top 2 by score desc per u\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{NoContents: true})
	step := func(changes map[int64]int64) (*runtime.Result, error) {
		z := zset.New()
		for score, w := range changes {
			z.Add(zset.Row{int64(0), score}, w)
		}
		return eng.StepDelta(context.Background(), map[string]*zset.ZSet{"s": z})
	}
	if _, err := step(map[int64]int64{10: 1, 9: 1, 8: 1, 7: 1}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[int64]int64{
		{11: -1},       // above the first rows
		{9: -2},        // among them
		{5: -1},        // below them
		{8: -2, 12: 1}, // below them, with a new first row
		{10: -2},       // a first row, twice
	} {
		if _, err := step(bad); err == nil || !strings.Contains(err.Error(), "negative weight") {
			t.Errorf("deleting %v: got error %v, want one about a negative weight", bad, err)
		}
	}
	res, err := step(map[int64]int64{10: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := zset.New()
	want.Add(zset.Row{int64(0), int64(10)}, -1)
	want.Add(zset.Row{int64(0), int64(8)}, 1)
	if got := res.Changes["v"]; got == nil || !got.Equal(want) {
		t.Errorf("after the failed steps, deleting the first row changed v by %v, want %v", got, want)
	}
}
