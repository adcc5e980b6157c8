package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestOverlayIndex checks an overlay against a plain model: committed
// rows under a few keys (some with many rows, past the scan's limit),
// random changes in rounds with lookups between them, and the flush,
// which must leave the underlying index as the model says.
func TestOverlayIndex(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		store := NewMemoryStore()
		base := store.Index(1)
		model := map[string]map[string]int64{} // key -> row key -> weight
		rows := map[string]zset.Row{}
		change := func(k string, id int, w int64) KeyedChange {
			row := zset.Row{k, int64(id)}
			rk := types.RowKey(row)
			rows[rk] = row
			if model[k] == nil {
				model[k] = map[string]int64{}
			}
			model[k][rk] += w
			if model[k][rk] == 0 {
				delete(model[k], rk)
			}
			return KeyedChange{Key: k, RowKey: rk, Row: row, Weight: w}
		}
		keys := []string{"a", "b", "c", "d"}
		sizes := map[string]int{"a": 3, "b": 40, "c": 0, "d": 20}
		var committed []KeyedChange
		for _, k := range keys {
			for id := range sizes[k] {
				committed = append(committed, change(k, id, int64(1+r.IntN(2))))
			}
		}
		if err := base.Update(ctx, committed); err != nil {
			t.Fatal(err)
		}
		ov := newOverlayStore(store, r.IntN(4)).index(1)
		for range 30 {
			var cs []KeyedChange
			for range r.IntN(30) {
				k := keys[r.IntN(len(keys))]
				cs = append(cs, change(k, r.IntN(sizes[k]+25), int64(r.IntN(5)-2)))
			}
			ov.add(cs)
			look := slices.Clone(keys)
			r.Shuffle(len(look), func(i, j int) { look[i], look[j] = look[j], look[i] })
			look = look[:1+r.IntN(len(look))]
			got, err := ov.Lookup(ctx, look)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range look {
				if g, w := entriesText(got[i]), modelText(model[k], rows); g != w {
					t.Fatalf("seed %d: key %s: overlay has %s, want %s", seed, k, g, w)
				}
			}
		}
		if err := ov.flush(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := base.Lookup(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if g, w := entriesText(got[i]), modelText(model[k], rows); g != w {
				t.Fatalf("seed %d: key %s after flush: index has %s, want %s", seed, k, g, w)
			}
		}
	}
}

func entriesText(es []zset.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%v:%d", e.Row, e.Weight))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

func modelText(m map[string]int64, rows map[string]zset.Row) string {
	var out []string
	for rk, w := range m {
		out = append(out, fmt.Sprintf("%v:%d", rows[rk], w))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
