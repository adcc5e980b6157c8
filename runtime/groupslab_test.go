package runtime

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

// TestGroupSlabTakeFrom checks that a state changed through a slab copy
// takes the copy's values but keeps its own arrays, so that the slab,
// dropped after the step, is not kept alive by the states it changed;
// and that the state is untouched until takeFrom, as a failed step
// leaves it.
func TestGroupSlabTakeFrom(t *testing.T) {
	for _, tc := range []struct {
		name           string
		scales, change []int64
	}{
		{"same length", []int64{0, 0, 3}, []int64{0, 0, 4}},
		{"grows", []int64{1}, []int64{1, 0, 2}},
		{"to none", []int64{0, 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroupStateOf(2)
			g.Key, g.Count = []any{int64(7)}, 3
			g.Accs[0] = Accumulator{NonNull: 3, Sum: decimal.New(150, -2), Scales: slices.Clone(tc.scales)}
			accs, scales := &g.Accs[0], g.Accs[0].Scales

			slab := &groupSlab{}
			slab.fit(slabSizes([]*GroupState{nil, g}))
			c := slab.clone(g)
			c.Count = 5
			c.Accs[0].NonNull, c.Accs[0].Sum, c.Accs[0].Scales = 5, decimal.New(275, -2), tc.change
			if g.Count != 3 || g.Accs[0].NonNull != 3 || !slices.Equal(g.Accs[0].Scales, tc.scales) {
				t.Fatalf("the slab's copy changed the state before takeFrom: %+v", g.Accs[0])
			}

			g.takeFrom(c)
			if g.Count != 5 || g.Accs[0].NonNull != 5 || g.Accs[0].Sum.(decimal.Decimal).String() != "2.75" || !slices.Equal(g.Accs[0].Scales, tc.change) {
				t.Fatalf("after takeFrom: count %d, %+v", g.Count, g.Accs[0])
			}
			if tc.change == nil && g.Accs[0].Scales != nil {
				t.Errorf("no scale counts became %v", g.Accs[0].Scales)
			}
			if &g.Accs[0] != accs {
				t.Errorf("the state's accumulators moved into the slab")
			}
			if len(tc.change) > 0 && len(tc.change) <= cap(scales) && &g.Accs[0].Scales[0] != &scales[0] {
				t.Errorf("the state's scale counts moved")
			}
			for _, a := range g.Accs {
				for i := range a.Scales {
					for j := range slab.scales[:cap(slab.scales)] {
						if &a.Scales[i] == &slab.scales[:cap(slab.scales)][j] {
							t.Fatalf("the state's scale counts are the slab's")
						}
					}
				}
			}
		})
	}
}
