package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestStamp stamps rows with the time of the step that inserted them:
// the stamp stays with a row across later steps, a deletion retracts the
// copy that arrived last, and a grouping by the stamp follows.
func TestStamp(t *testing.T) {
	prog, err := compile.Compile(context.Background(), "stamp.step", `
table bids (auction int4, price int4)
view arrived = bids | stamp at
view per_minute = arrived | group by minute = date_trunc("minute", at) { n = count() }
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	eng := runtime.New(prog.Circuit, runtime.NewMemoryStore())
	t1 := time.Date(2024, 3, 1, 12, 0, 10, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	t3 := t2.Add(time.Minute)
	bid := zset.Row{int64(1), int64(10)}
	step := func(at time.Time, changes ...runtime.Change) {
		t.Helper()
		if _, err := eng.StepAt(ctx, at, map[string][]runtime.Change{"bids": changes}); err != nil {
			t.Fatal(err)
		}
	}
	step(t1, runtime.Change{Op: runtime.Insert, Row: bid}, runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(2), int64(5)}})
	step(t2, runtime.Change{Op: runtime.Insert, Row: bid})
	step(t3, runtime.Change{Op: runtime.Delete, Row: bid})
	want := zset.New()
	want.Add(zset.Row{int64(1), int64(10), t1}, 1)
	want.Add(zset.Row{int64(2), int64(5), t1}, 1)
	got, _ := eng.Contents("arrived")
	if !got.Equal(want) {
		t.Errorf("arrived: %v, want %v (the copy of t2 retracted, the one of t1 kept)", got.Entries(), want.Entries())
	}
	per, _ := eng.Contents("per_minute")
	wantPer := zset.New()
	wantPer.Add(zset.Row{t1.Truncate(time.Minute), int64(2)}, 1)
	if !per.Equal(wantPer) {
		t.Errorf("per_minute: %v, want %v", per.Entries(), wantPer.Entries())
	}
}
