package runtime_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestDashboardYear runs examples/dashboard.step, which declares a
// watermark, on a fake clock through a simulated year: an hour a step,
// events arriving up to a day and a half late, and now and then up to
// ten days late (later than the watermark allows), and changes and deletions of recent and old events.
// Every week its views must equal recomputation over the events the
// watermark let in, at that time; and the state it keeps, and the events
// it keeps, must stay those of about a week, not grow with the year.
func TestDashboardYear(t *testing.T) {
	src, err := os.ReadFile("../examples/dashboard.step")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prog, err := compile.Compile(ctx, "dashboard.step", string(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	store := runtime.NewMemoryStore()
	eng := prog.NewEngine(store)
	rng := rand.New(rand.NewPCG(3, 4))
	categories := []string{"books", "music", "films", "games", "toys"}
	amounts := []decimal.Decimal{decimal.RequireFromString("1.00"), decimal.RequireFromString("9.99"), decimal.RequireFromString("12.50")}

	// The model: the events table (by id), and the rows the program
	// takes, each row of a change judged alone against the watermark.
	table := map[int64]zset.Row{}
	accepted := zset.New()
	var latest time.Time
	// late counts the late rows of changes; lateInserts the late
	// insertions. A change to an event the runtime has already forgotten
	// is ignored as one to an absent event is, so the runtime counts at
	// least the late insertions and at most every late row.
	late, lateInserts := int64(0), int64(0)
	isLate := func(at time.Time) bool { return !latest.IsZero() && at.Before(latest.Add(-7*24*time.Hour)) }
	var nextID int64

	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const hours = 365 * 24
	var stateAtQuarter, rowsAtQuarter, maxState int
	for hour := range hours {
		clock = clock.Add(time.Hour)
		var changes []runtime.Change
		step := zset.New()
		judge := func(row zset.Row, w int64) {
			if isLate(row[2].(time.Time)) {
				late++
				if w > 0 {
					lateInserts++
				}
				return
			}
			accepted.Add(row, w)
			step.Add(row, w)
		}
		for range rng.IntN(4) {
			at := clock.Add(-time.Duration(rng.IntN(36*60)) * time.Minute)
			if rng.IntN(10) == 0 {
				at = clock.Add(-time.Duration(rng.IntN(10*24*60)) * time.Minute)
			}
			row := zset.Row{nextID, categories[rng.IntN(len(categories))], at, amounts[rng.IntN(len(amounts))]}
			nextID++
			changes = append(changes, runtime.Change{Op: runtime.Insert, Row: row})
			table[row[0].(int64)] = row
			judge(row, 1)
		}
		if nextID > 0 && rng.IntN(3) == 0 {
			// A change to a recent event, or to one long gone; an update
			// only of an event on time (of one late, the runtime may
			// have forgotten it).
			id := nextID - 1 - int64(rng.IntN(int(min(nextID, 30))))
			if rng.IntN(5) == 0 {
				id = int64(rng.IntN(int(nextID)))
			}
			row := zset.Row{id, categories[rng.IntN(len(categories))], clock.Add(-time.Duration(rng.IntN(600)) * time.Minute), amounts[0]}
			old := table[id]
			switch {
			case old == nil:
			case rng.IntN(2) == 0:
				changes = append(changes, runtime.Change{Op: runtime.Delete, Row: zset.Row{id, nil, nil, nil}})
				delete(table, id)
				judge(old, -1)
			case !isLate(old[2].(time.Time)):
				changes = append(changes, runtime.Change{Op: runtime.Update, Row: row})
				table[id] = row
				judge(old, -1)
				judge(row, 1)
			}
		}
		if _, err := eng.StepAt(ctx, clock, map[string][]runtime.Change{"events": changes}); err != nil {
			t.Fatalf("hour %d: %v", hour, err)
		}
		step.Each(func(row zset.Row, w int64) {
			if at := row[2].(time.Time); w > 0 && at.After(latest) {
				latest = at
			}
		})
		maxState = max(maxState, store.Entries())
		if hour == hours/4 {
			kept, _ := eng.Contents("events")
			stateAtQuarter, rowsAtQuarter = store.Entries(), kept.Len()
		}
		if hour%(7*24) != 0 && hour != hours-1 {
			continue
		}
		want, err := oracle.EvalAt(prog.Checked, map[string]*zset.ZSet{"events": accepted}, clock)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range prog.Circuit.Views {
			got, _ := eng.Contents(v.Name)
			if !got.Equal(want[v.Name]) {
				t.Fatalf("hour %d: view %s differs from recomputation\nengine - oracle:\n%s\noracle - engine:\n%s",
					hour, v.Name, dump(got.Minus(want[v.Name])), dump(want[v.Name].Minus(got)))
			}
		}
	}
	kept, _ := eng.Contents("events")
	marks := eng.Watermarks()
	t.Logf("%d events in a year, %d late; state: %d entries at three months, %d at a year (at most %d); events kept: %d at three months, %d at a year",
		nextID, late, stateAtQuarter, store.Entries(), maxState, rowsAtQuarter, kept.Len())
	if len(marks) != 1 || marks[0].Late < lateInserts || marks[0].Late > late || lateInserts == 0 || late == lateInserts {
		t.Errorf("watermarks %+v, want between %d and %d late changes", marks, lateInserts, late)
	}
	// A fortnight holds about 14*24*1.5 = 500 events; the sweeps let a
	// state reach twice what is live, and wait for 1,024 changes.
	if limit := 4 * 1024; maxState > limit || kept.Len() > limit {
		t.Errorf("the state grew with the year: %d entries at most, %d events kept (limit %d)", maxState, kept.Len(), limit)
	}
}
