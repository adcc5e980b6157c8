package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestEmptyStepAllocations checks what a step with no changes makes, on
// one worker and on two: its Result and the Result's map, nothing else
// (no map of the tables' changes, no overlays, no object for the run).
func TestEmptyStepAllocations(t *testing.T) {
	const src = `
table products (name text, price int8, primary key (name))
table items (basket int8, product text, qty int8, primary key (basket, product))
view totals = items | join products on items.product == products.name
  | group by items.basket { total = sum(products.price * items.qty), n = count() }
view labels = totals | select { label = format("%s: %s", basket, total) }
`
	for _, workers := range []int{1, 2} {
		prog, err := compile.Compile(context.Background(), "shop.step", src, nil)
		if err != nil {
			t.Fatal(err)
		}
		eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{Workers: workers})
		ctx := context.Background()
		if _, err := eng.Step(ctx, map[string][]runtime.Change{
			"products": {{Op: runtime.Insert, Row: zset.Row{"p", int64(3)}}},
			"items":    {{Op: runtime.Insert, Row: zset.Row{int64(1), "p", int64(2)}}},
		}); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := eng.Step(ctx, nil); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 2 {
			t.Errorf("workers %d: an empty step made %v allocations, want 2 at most", workers, allocs)
		}
		// And the engine steps on as it did.
		res, err := eng.Step(ctx, map[string][]runtime.Change{"items": {{Op: runtime.Update, Row: zset.Row{int64(1), "p", int64(5)}}}})
		if err != nil {
			t.Fatal(err)
		}
		want := zset.FromEntries(zset.Entry{Row: zset.Row{"1: 6"}, Weight: -1}, zset.Entry{Row: zset.Row{"1: 15"}, Weight: 1})
		if got := res.Changes["labels"]; got == nil || !got.Equal(want) || res.Changes["totals"].Len() != 2 {
			t.Errorf("workers %d: labels changed by %v, want %v", workers, got.Entries(), want.Entries())
		}
	}
}

// TestStepReadsClockOnlyWhenTimed counts the engine clock's readings: a
// program with no operator reading the time of a step never reads it;
// one reading it through now(), a temporal filter or a stamp, once a
// step.
func TestStepReadsClockOnlyWhenTimed(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		reads     bool
	}{
		{"join and group", `
table t (id int4, g int4, primary key (id))
table u (g int4, label text, primary key (g))
view v = t | join u on t.g == u.g | group by label { n = count() }
`, false},
		{"select of now", `
table t (id int4, g int4, primary key (id))
view v = t | select { id, at = now() }
`, true},
		{"temporal filter", `
table t (id int4, g int4, at timestamp, primary key (id))
view v = t | where at > now() - interval "1 day" | select { id }
`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := compile.Compile(context.Background(), "p.step", tc.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			reads := 0
			clock := func() time.Time { reads++; return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) }
			eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{Clock: clock})
			ctx := context.Background()
			for range 3 {
				if _, err := eng.Step(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			if want := map[bool]int{false: 0, true: 3}[tc.reads]; reads != want {
				t.Errorf("3 steps read the clock %d times, want %d", reads, want)
			}
		})
	}
}
