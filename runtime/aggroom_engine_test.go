package runtime_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestAggregateRoomKeepsNoKey checks that the groups a batch of several
// changes makes keep keys of their own, not the room the batch worked
// in, which the next batches reuse: after batches of new groups, every
// group's state is filed under the encoding of its own key, and a later
// change to a group shows its key.
func TestAggregateRoomKeepsNoKey(t *testing.T) {
	const src = `
table t (id int8, g text, b int8, v numeric, primary key (id))
view by_text = t | group by g { n = count(), total = sum(v) }
view by_int = t | group by b { n = count() }
`
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx := context.Background()
			prog, err := compile.Compile(ctx, "room.step", src, nil)
			if err != nil {
				t.Fatal(err)
			}
			store := runtime.NewMemoryStore()
			eng := runtime.NewWithOptions(prog.Circuit, store, runtime.Options{Workers: workers})
			id := int64(0)
			insert := func(groups ...int) []runtime.Change {
				var cs []runtime.Change
				for _, g := range groups {
					id++
					cs = append(cs, runtime.Change{Op: runtime.Insert, Row: zset.Row{id, fmt.Sprintf("g%d", g), int64(100 + g), decimal.New(id, -1)}})
				}
				return cs
			}
			// Batches of new groups, each reusing the last one's room,
			// then one changing groups of the first batch.
			for _, batch := range [][]int{{1, 2, 3, 1}, {4, 5}, {6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {1, 2}} {
				if _, err := eng.Step(ctx, map[string][]runtime.Change{"t": insert(batch...)}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := eng.Step(ctx, map[string][]runtime.Change{"t": {{Op: runtime.Delete, Row: zset.Row{int64(1), "g1", int64(101), decimal.New(1, -1)}}, {Op: runtime.Delete, Row: zset.Row{int64(2), "g2", int64(102), decimal.New(2, -1)}}}})
			if err != nil {
				t.Fatal(err)
			}
			want := zset.FromEntries(
				zset.Entry{Row: zset.Row{"g1", int64(3), decimal.New(22, -1)}, Weight: -1},
				zset.Entry{Row: zset.Row{"g1", int64(2), decimal.New(21, -1)}, Weight: 1},
				zset.Entry{Row: zset.Row{"g2", int64(2), decimal.New(20, -1)}, Weight: -1},
				zset.Entry{Row: zset.Row{"g2", int64(1), decimal.New(18, -1)}, Weight: 1},
			)
			if got := res.Changes["by_text"]; !got.Equal(want) {
				t.Errorf("by_text changed by %v, want %v", got.Entries(), want.Entries())
			}
			seen := 0
			for _, n := range prog.Circuit.Nodes {
				if _, ok := n.Op.(*ir.Aggregate); !ok {
					continue
				}
				for key, st := range store.GroupStates(n.ID) {
					seen++
					var enc []byte
					for _, v := range st.Key {
						enc = types.AppendKey(enc, v)
					}
					if string(enc) != key {
						t.Errorf("node n%d: group filed under %q has key %v", n.ID, key, st.Key)
					}
				}
			}
			if seen != 30 {
				t.Errorf("%d groups, want 30", seen)
			}
		})
	}
}
