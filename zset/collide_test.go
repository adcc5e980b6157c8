package zset

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// TestCollidingHashes cuts every hash to two bits, so that most rows
// share their hash with others, and checks Z-sets against a map keyed by
// the rows' identities through random additions, removals, merges and
// negations, of Z-sets made by Add and by Consolidated: a row must never
// be taken for another of its hash, and a
// row spilled behind another must be found again once that one goes.
func TestCollidingHashes(t *testing.T) {
	old := hashMask
	hashMask = 3
	t.Cleanup(func() { hashMask = old })

	rows := []Row{{nil}, {int64(1)}, {int64(2)}, {"a"}, {"b"}, {1.5}, {decimal.RequireFromString("1.5")},
		{decimal.RequireFromString("1.50")}, {int64(1), "a"}, {int64(1), "b"}, {true}, {false}, {[]any{int64(1)}}}
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			z, want := New(), map[string]int64{}
			byKey := map[string]Row{}
			for _, row := range rows {
				byKey[types.RowKey(row)] = row
			}
			check := func(step int, z *ZSet, want map[string]int64) {
				t.Helper()
				n := 0
				for k, w := range want {
					if w != 0 {
						n++
					}
					if got := z.Weight(byKey[k]); got != w {
						t.Fatalf("step %d: weight of %v = %d, want %d", step, byKey[k], got, w)
					}
				}
				if z.Len() != n {
					t.Fatalf("step %d: Len = %d, want %d", step, z.Len(), n)
				}
				z.Each(func(row Row, w int64) {
					if w == 0 || want[types.RowKey(row)] != w {
						t.Fatalf("step %d: Each gives %v x%d, want x%d", step, row, w, want[types.RowKey(row)])
					}
				})
			}
			for step := range 400 {
				switch op := r.IntN(10); {
				case op < 7:
					row := rows[r.IntN(len(rows))]
					w := int64(r.IntN(5) - 2)
					z.Add(row, w)
					want[types.RowKey(row)] += w
				case op < 9:
					other, ws := New(), map[string]int64{}
					for range r.IntN(12) {
						row := rows[r.IntN(len(rows))]
						w := int64(r.IntN(5) - 2)
						other.Add(row, w)
						ws[types.RowKey(row)] += w
					}
					if r.IntN(2) == 0 {
						// Listed, each row once: added from the list.
						var es []Entry
						other.Each(func(row Row, w int64) { es = append(es, Entry{Row: row, Weight: w}) })
						other = Consolidated(es)
					}
					factor := int64(r.IntN(3) - 1)
					z.AddAll(other, factor)
					for k, w := range ws {
						want[k] += w * factor
					}
				default:
					neg := z.Negate()
					wantNeg := map[string]int64{}
					for k, w := range want {
						wantNeg[k] = -w
					}
					check(step, neg, wantNeg)
					if !neg.Negate().Equal(z) || !z.Plus(neg).IsEmpty() {
						t.Fatalf("step %d: -(-z) != z or z + -z is not empty", step)
					}
				}
				check(step, z, want)
				if c := z.Clone(); !c.Equal(z) || !z.Equal(c) {
					t.Fatalf("step %d: a clone is not equal", step)
				}
			}
		})
	}
}

// TestSameRow checks SameRowKey, by which Z-sets find rows, on rows
// that are one slice, parts of one array of different lengths, and
// copies: one slice is one row, and a shorter slice of its array, whose
// first value is at the same address, is another row.
func TestSameRow(t *testing.T) {
	a := Row{int64(1), decimal.RequireFromString("1.50"), "x"}
	b := Row{int64(1), decimal.RequireFromString("1.5"), "x"}
	for _, tc := range []struct {
		name string
		x, y Row
		same bool
	}{
		{"one slice", a, a, true},
		{"a copy", a, append(Row{}, a...), true},
		{"a shorter part", a, a[:2], false},
		{"an empty part", a, a[:0], false},
		{"both empty", a[:0], Row{}, true},
		{"equal, spelled apart", a, b, false},
		{"a later part", a[1:], a[1:], true},
	} {
		if got := types.SameRowKey(tc.x, tc.y); got != tc.same {
			t.Errorf("%s: SameRowKey is %v, want %v", tc.name, got, tc.same)
		}
		if got := types.SameRowKey(tc.x, tc.y); got != (types.RowKey(tc.x) == types.RowKey(tc.y)) {
			t.Errorf("%s: SameRowKey is %v, the row keys' equality %v", tc.name, got, !got)
		}
	}
	// Through a Z-set, with every hash cut to two bits: the parts
	// collide with the whole and must stay apart from it.
	old := hashMask
	hashMask = 3
	t.Cleanup(func() { hashMask = old })
	for _, z := range []*ZSet{New(), NewSized(100)} {
		z.Add(a, 1)
		z.Add(a[:2], 1)
		z.Add(a[:1], 1)
		z.Add(a, -1)
		if z.Len() != 2 || z.Weight(a) != 0 || z.Weight(a[:2]) != 1 || z.Weight(a[:1]) != 1 {
			t.Errorf("after adding a and two parts and taking a away: %v", z.Entries())
		}
	}
}
