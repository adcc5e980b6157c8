package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/stepping-io/stepping/zset"
)

// TestViewsKeptFromStart checks which views' contents an engine keeps
// before anything reads them: the outputs' always, every view's in the
// programs whose views a pass over the tables could not compute (a clock,
// a watermark, recursion), and no other.
func TestViewsKeptFromStart(t *testing.T) {
	const tables = "table s (u int8, at timestamp, n int8)\ntable e (a int8, b int8)\n"
	for _, tc := range []struct {
		name, src string
		kept      map[string]bool
	}{
		{"plain", "view a = s | where n > 1\nview b = a | group by u { c = count() }\noutput b\n",
			map[string]bool{"a": false, "b": true}},
		{"no outputs", "view a = s | where n > 1\n", map[string]bool{"a": false}},
		{"clock", "view a = s | where at > now() - interval \"1 day\"\nview b = a | group by u { c = count() }\noutput b\n",
			map[string]bool{"a": true, "b": true}},
		{"recursive", "view a = s | where n > 1\nview r = e | select { a, b } | union (r | join e on r.b == e.a | select { a = r.a, b = e.b })\noutput r\n",
			map[string]bool{"a": true, "r": true}},
		{"stamp", "view a = s | where n > 1\nview b = e | stamp at\noutput b\n", map[string]bool{"a": true, "b": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := NewWithOptions(lower(t, tables+tc.src), NewMemoryStore(), Options{})
			for name, want := range tc.kept {
				if got := eng.views[name].kept; got != want {
					t.Errorf("view %s kept from the start: %v, want %v", name, got, want)
				}
			}
			// A step adds nothing to a view not kept; reading it computes
			// and keeps it.
			z := zset.New()
			z.Add(zset.Row{int64(1), time.Now().UTC().Round(time.Microsecond), int64(5)}, 1)
			if _, err := eng.StepDelta(context.Background(), map[string]*zset.ZSet{"s": z}); err != nil {
				t.Fatal(err)
			}
			if a := eng.views["a"]; !a.kept && !a.contents.IsEmpty() {
				t.Errorf("view a, not kept, holds %v", a.contents)
			}
			got, ok := eng.Contents("a")
			if !ok || !eng.views["a"].kept || got.Len() != 1 {
				t.Errorf("view a, read: %v, %v, kept %v; want its one row, kept", got, ok, eng.views["a"].kept)
			}
		})
	}
}

// TestViewReadBeforeFirstStep reads a view of a constant before any step
// (empty: a constant's rows enter in the first step) and after the first
// step (its rows, once).
func TestViewReadBeforeFirstStep(t *testing.T) {
	eng := NewWithOptions(lower(t, "table s (n int8)\nview a = values [{k = 1}, {k = 2}]\n"), NewMemoryStore(), Options{})
	if z, ok := eng.Contents("a"); !ok || !z.IsEmpty() {
		t.Fatalf("before the first step: %v, %v; want it empty", z, ok)
	}
	if _, err := eng.StepDelta(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want := zset.New()
	want.Add(zset.Row{int64(1)}, 1)
	want.Add(zset.Row{int64(2)}, 1)
	if z, _ := eng.Contents("a"); !z.Equal(want) {
		t.Fatalf("after the first step: %v, want %v", z, want)
	}
}
