package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/stepping-io/stepping/zset"
)

// TestViewsKeptFromStart checks how an engine holds each view's contents
// before anything reads them: kept, as the outputs' are, and every view's
// in the programs whose views a pass over the tables could not compute (a
// clock, a watermark, recursion); read from an aggregate's state, as a
// grouped view's are, a top-k's, and a map's or a filter's of one, but
// in a program that reads the clock; read from a fixpoint's state, as a
// recursive view's are where its rows hold no float; none from state
// where a watermark frees state; or else computed when first read.
func TestViewsKeptFromStart(t *testing.T) {
	const tables = "table s (u int8, at timestamp, n int8)\ntable e (a int8, b int8)\n"
	for _, tc := range []struct {
		name, src string
		how       map[string]string // "kept", "state" or "read"
	}{
		{"plain", "view a = s | where n > 1\nview b = a | group by u { c = count() }\noutput b\n",
			map[string]string{"a": "read", "b": "state"}},
		{"no outputs", "view a = s | where n > 1\n", map[string]string{"a": "read"}},
		{"output", "view a = s | where n > 1\noutput a\n", map[string]string{"a": "kept"}},
		{"over a group", "view a = s | group by u { c = count() } | where c > 0 | select { u, d = c * 2 }\noutput a\n",
			map[string]string{"a": "state"}},
		{"top", "view a = s | top 2 by n desc per u\noutput a\n", map[string]string{"a": "state"}},
		{"over a top", "view a = s | top 2 by n desc per u | select { u, n }\n", map[string]string{"a": "state"}},
		{"clock", "view a = s | where at > now() - interval \"1 day\"\nview b = a | group by u { c = count() }\noutput b\n",
			map[string]string{"a": "kept", "b": "kept"}},
		{"recursive", "view a = s | where n > 1\nview r = e | select { a, b } | union (r | join e on r.b == e.a | select { a = r.a, b = e.b })\n" +
			"view loops = r | where a == b | select { a }\nview g = s | group by u { c = count() }\noutput r\n",
			map[string]string{"a": "kept", "r": "state", "loops": "state", "g": "state"}},
		{"recursive floats", "view a = s | where n > 1\nview r = e | select { a, x = 0.5::float8 } | union (r | join e on r.a == e.b | select { a = e.a, x = r.x })\noutput r\n",
			map[string]string{"a": "kept", "r": "kept"}},
		{"recursive, watermark", "table w (a int8, at timestamp) watermark at - interval \"1 hour\"\nview a = s | where n > 1\n" +
			"view r = e | select { a, b } | union (r | join e on r.b == e.a | select { a = r.a, b = e.b })\noutput r\n",
			map[string]string{"a": "kept", "r": "kept"}},
		{"stamp", "view a = s | where n > 1\nview b = e | stamp at\noutput b\n", map[string]string{"a": "kept", "b": "kept"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := NewWithOptions(lower(t, tables+tc.src), NewMemoryStore(), Options{})
			for name, want := range tc.how {
				v := eng.views[name]
				got := "read"
				if v.kept {
					got = "kept"
				} else if v.derived != nil {
					got = "state"
				}
				if got != want {
					t.Errorf("view %s: %s, want %s", name, got, want)
				}
			}
			// A step adds nothing to a view not kept; reading it computes
			// it, and keeps it unless it is read from the state.
			z := zset.New()
			z.Add(zset.Row{int64(1), time.Now().UTC().Round(time.Microsecond), int64(5)}, 1)
			if _, err := eng.StepDelta(context.Background(), map[string]*zset.ZSet{"s": z}); err != nil {
				t.Fatal(err)
			}
			a := eng.views["a"]
			if !a.kept && a.contents != nil && !a.contents.IsEmpty() {
				t.Errorf("view a, not kept, holds %v", a.contents)
			}
			got, ok := eng.Contents("a")
			if !ok || got.Len() != 1 || a.kept == (a.derived != nil) {
				t.Errorf("view a, read: %v, %v, kept %v, from the state %v; want its one row, and kept unless from the state", got, ok, a.kept, a.derived != nil)
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
