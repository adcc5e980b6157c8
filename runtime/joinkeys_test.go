package runtime

import (
	"fmt"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestKeyAll groups batches by key on both sides of the switch from
// scanning keys to a table, with their hashes distinct and with every
// hash alike (so that each key is told from the others only by its
// bytes): each change must be under its own key, every distinct key once
// in order of first appearance, rows with a NULL key dropped, and find
// must find every key and no other.
func TestKeyAll(t *testing.T) {
	col := []ir.Scalar{{Eval: func(r zset.Row) (any, error) { return r[0], nil }}}
	for _, tc := range []struct {
		name    string
		rows    int
		spread  int // rows i and i+spread have one key
		collide bool
	}{
		{"one row", 1, 1, false},
		{"small distinct", smallBatch, smallBatch, false},
		{"small repeated", smallBatch, 3, false},
		{"small colliding", smallBatch, 3, true},
		{"large distinct", smallBatch + 1, smallBatch + 1, false},
		{"large repeated", 200, 7, false},
		{"large colliding", 200, 7, true},
		{"large colliding distinct", 100, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withCollidingKeys(t, tc.collide, func() {
				var d batch
				for i := range tc.rows {
					var v any = int64(i % tc.spread)
					if i%5 == 4 {
						v = nil
					}
					d = append(d, zset.Entry{Row: zset.Row{v, i}, Weight: 1})
				}
				kr, err := keyAll(d, col)
				if err != nil {
					t.Fatal(err)
				}
				if small := len(d) <= smallBatch; small != (kr.slots == nil) {
					t.Fatalf("%d rows: scanned %v, want %v", len(d), kr.slots == nil, small)
				}
				var want []string
				at := map[string]int32{}
				n := 0
				for _, e := range d {
					if e.Row[0] == nil {
						continue
					}
					k := types.KeyOf([]any{e.Row[0]})
					if _, ok := at[k]; !ok {
						at[k] = int32(len(want))
						want = append(want, k)
					}
					r := kr.rows[n]
					if kr.keys[r.k] != k || kr.entry(r).Row[1] != e.Row[1] {
						t.Fatalf("change %d: key %q, row %v; want %q, %v", n, kr.keys[r.k], kr.entry(r).Row, k, e.Row)
					}
					n++
				}
				if n != len(kr.rows) || fmt.Sprint(kr.keys) != fmt.Sprint(want) {
					t.Fatalf("%d changes under keys %q, want %d under %q", len(kr.rows), kr.keys, n, want)
				}
				for k, key := range want {
					if got, ok := kr.find(hashKey(key), key); !ok || got != int32(k) {
						t.Fatalf("find(%q) = %d, %v; want %d", key, got, ok, k)
					}
				}
				for _, v := range []any{int64(-1), int64(tc.spread), "0"} {
					key := types.KeyOf([]any{v})
					if k, ok := kr.find(hashKey(key), key); ok {
						t.Fatalf("find(%q) = %d, never keyed", key, k)
					}
				}
			})
		})
	}
}
