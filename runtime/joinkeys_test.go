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
// must find every key and no other. The large batches are grouped in one
// scratch, reused from case to case as a join's next batch reuses it.
func TestKeyAll(t *testing.T) {
	col := []ir.Scalar{{Eval: func(r zset.Row) (any, error) { return r[0], nil }}}
	sc := &keyScratch{}
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
		{"large distinct, after", 150, 150, false},
		{"large repeated, after", 40, 3, false},
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
				kr, err := keyAll(d, col, nil, sc)
				if err != nil {
					t.Fatal(err)
				}
				if small := len(d) <= smallBatch; small != !kr.needsHash() {
					t.Fatalf("%d rows: scanned %v, want %v", len(d), !kr.needsHash(), small)
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

// TestMatchKeys pairs the keys of two batches, each small (its keys
// scanned) or large (found by hash), with hashes distinct and alike: a
// key is paired when and only when both batches have it.
func TestMatchKeys(t *testing.T) {
	col := []ir.Scalar{{Eval: func(r zset.Row) (any, error) { return r[0], nil }}}
	keyed := func(from, to int) keyedRows {
		var d batch
		for i := from; i < to; i++ {
			d = append(d, zset.Entry{Row: zset.Row{int64(i)}, Weight: 1})
		}
		kr, err := keyAll(d, col, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	for _, tc := range []struct {
		name           string
		left, right    [2]int // the keys of each side, from and to
		collide, anyOf bool
	}{
		{"small small", [2]int{0, 4}, [2]int{2, 6}, false, true},
		{"small large", [2]int{0, 4}, [2]int{2, 40}, false, true},
		{"large small", [2]int{0, 40}, [2]int{38, 42}, false, true},
		{"large large", [2]int{0, 40}, [2]int{20, 60}, false, true},
		{"large large colliding", [2]int{0, 40}, [2]int{20, 60}, true, true},
		{"small large colliding", [2]int{0, 4}, [2]int{2, 40}, true, true},
		{"disjoint colliding", [2]int{0, 40}, [2]int{40, 80}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withCollidingKeys(t, tc.collide, func() {
				dl, dr := keyed(tc.left[0], tc.left[1]), keyed(tc.right[0], tc.right[1])
				m := matchKeys(&dl, &dr)
				if m.any != tc.anyOf {
					t.Fatalf("any = %v, want %v", m.any, tc.anyOf)
				}
				for lk := range dl.keys {
					v := tc.left[0] + lk
					both := v >= tc.right[0] && v < tc.right[1]
					if both != !m.leftOnly(int32(lk)) {
						t.Fatalf("left key %d: on both sides %v, want %v", v, !m.leftOnly(int32(lk)), both)
					}
					if both && dr.keys[m.right[lk]] != dl.keys[lk] {
						t.Fatalf("left key %d paired with right key %q", v, dr.keys[m.right[lk]])
					}
				}
				for rk := range dr.keys {
					v := tc.right[0] + rk
					both := v >= tc.left[0] && v < tc.left[1]
					if both != !m.rightOnly(int32(rk)) {
						t.Fatalf("right key %d: on both sides %v, want %v", v, !m.rightOnly(int32(rk)), both)
					}
				}
			})
		})
	}
}

// TestKeysOf finds the keys integrate kept only for the very batch and
// key expressions they were encoded from: a join of another batch, even
// of the same node and length, or by other expressions, even alike, must
// encode its own, or it would file its changes under another batch's
// keys.
func TestKeysOf(t *testing.T) {
	col := func(i int) []ir.Scalar {
		return []ir.Scalar{{Eval: func(r zset.Row) (any, error) { return r[i], nil }}}
	}
	rows := func(n, off int) batch {
		var d batch
		for i := range n {
			d = append(d, zset.Entry{Row: zset.Row{int64(i + off), int64(-i)}, Weight: 1})
		}
		return d
	}
	first, second := rows(smallBatch+1, 0), rows(smallBatch+1, 100)
	k0, k0again, k1 := col(0), col(0), col(1)
	s := &stepRun{}
	keep := func(from int, d batch, key []ir.Scalar) *encodedKeys {
		ek, err := encodeKeys(d, key)
		if err != nil {
			t.Fatal(err)
		}
		s.keep(from, ek)
		return ek
	}
	byK0 := keep(1, first, k0)
	byK1 := keep(1, first, k1)
	for _, tc := range []struct {
		name string
		from int
		d    batch
		key  []ir.Scalar
		want *encodedKeys
	}{
		{"the same", 1, first, k0, byK0},
		{"another key", 1, first, k1, byK1},
		{"a key alike", 1, first, k0again, nil},
		{"another node", 2, first, k0, nil},
		{"another batch", 1, second, k0, nil},
		{"a shorter batch", 1, first[:smallBatch], k0, nil},
	} {
		if got := s.keysOf(tc.from, tc.d, tc.key); got != tc.want {
			t.Errorf("%s: keysOf is %p, want %p", tc.name, got, tc.want)
		}
	}
	next := keep(1, second, k0)
	kept := 0
	for ek := s.encoded; ek != nil; ek = ek.next {
		kept++
	}
	if s.keysOf(1, first, k0) != nil || s.keysOf(1, second, k0) != next || s.keysOf(1, first, k1) != byK1 || kept != 2 {
		t.Errorf("a node's next batch did not replace its keys: %d kept", kept)
	}
}
