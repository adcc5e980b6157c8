package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestEngineClock drives a window with a fake clock through
// Options.Clock: a step with no changes, at a later time, retracts the
// row the clock passed, and a step at the same time changes nothing.
func TestEngineClock(t *testing.T) {
	prog, err := compile.Compile(context.Background(), "window.step", `
table e (id int4, at timestamp, primary key (id))
view day = e | where at > now() - interval "1 day" | select { id }
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{Clock: func() time.Time { return now }})
	if !eng.UsesClock() {
		t.Fatal("UsesClock is false for a program that reads now()")
	}
	ctx := context.Background()
	at := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }
	res, err := eng.Step(ctx, map[string][]runtime.Change{"e": {
		{Op: runtime.Insert, Row: zset.Row{int64(1), at("2024-03-01 00:00")}},
		{Op: runtime.Insert, Row: zset.Row{int64(2), at("2024-03-01 11:00")}},
		{Op: runtime.Insert, Row: zset.Row{int64(3), at("2024-02-28 00:00")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := zset.New()
	want.Add(zset.Row{int64(1)}, 1)
	want.Add(zset.Row{int64(2)}, 1)
	if !res.Changes["day"].Equal(want) {
		t.Fatalf("step 1 changed day by %v, want %v", res.Changes["day"].Entries(), want.Entries())
	}
	if res, err = eng.Step(ctx, nil); err != nil || len(res.Changes) != 0 {
		t.Fatalf("a step at the same time changed %v (%v), want nothing", res.Changes, err)
	}
	now = now.Add(13 * time.Hour) // the window now starts at 2024-03-01 01:00
	if res, err = eng.Step(ctx, nil); err != nil {
		t.Fatal(err)
	}
	want = zset.New()
	want.Add(zset.Row{int64(1)}, -1)
	if !res.Changes["day"].Equal(want) {
		t.Fatalf("moving the clock changed day by %v, want %v", res.Changes["day"].Entries(), want.Entries())
	}
	// StepAt gives the time explicitly; going back brings the row back.
	if res, err = eng.StepAt(ctx, now.Add(-13*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	want = zset.New()
	want.Add(zset.Row{int64(1)}, 1)
	if !res.Changes["day"].Equal(want) {
		t.Fatalf("moving the clock back changed day by %v, want %v", res.Changes["day"].Entries(), want.Entries())
	}
}
