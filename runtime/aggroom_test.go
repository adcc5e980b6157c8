package runtime

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

// TestAggRoomRelease checks that a room given back after a batch keeps
// nothing of it alive and hands the next batch, bigger or smaller,
// arrays as zeroed as new ones: an argument or coefficient left from an
// earlier batch would be taken for the next one's.
func TestAggRoomRelease(t *testing.T) {
	tests := []struct {
		name         string
		first, after int // changes in the first batch and the next
	}{
		{"smaller after", 6, 2},
		{"same after", 4, 4},
		{"bigger after", 2, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &aggRoom{}
			args, small, of := r.fit(tt.first, 2, true)
			for i := range args {
				args[i] = decimal.New(int64(i), -2)
				small[i] = smallArg{coef: int64(i), exp: -2, ok: true}
			}
			for i := range of {
				of[i] = int32(i)
			}
			g := newGroupStateOf(2)
			g.Key, g.Count = []any{int64(7)}, 3
			g.Accs[0] = Accumulator{NonNull: 3, Sum: decimal.New(150, -2), Scales: []int64{0, 0, 3}}
			n, accs, scales := slabSizes([]*GroupState{g, nil})
			r.slab.fit(n, accs, scales)
			c := r.slab.clone(g)
			c.row = []any{int64(7), decimal.New(150, -2)}

			r.release()
			for i, s := range r.slab.states[:cap(r.slab.states)] {
				if s.Key != nil || s.Accs != nil || s.row != nil {
					t.Fatalf("released slab's state %d still refers to %+v", i, s)
				}
			}
			for i, a := range r.slab.accs[:cap(r.slab.accs)] {
				if a.Sum != nil || a.Scales != nil {
					t.Fatalf("released slab's accumulator %d still refers to %+v", i, a)
				}
			}
			for i, v := range r.args[:cap(r.args)] {
				if v != nil {
					t.Fatalf("released room's argument %d is %v", i, v)
				}
			}

			args, small, of = r.fit(tt.after, 2, true)
			if len(args) != 2*tt.after || len(small) != 2*tt.after || len(of) != tt.after {
				t.Fatalf("fit(%d) gave %d args, %d coefficients, %d groups", tt.after, len(args), len(small), len(of))
			}
			if slices.ContainsFunc(args, func(v any) bool { return v != nil }) || slices.ContainsFunc(small, func(x smallArg) bool { return x != smallArg{} }) {
				t.Fatalf("the next batch's room is not zeroed: %v %v", args, small)
			}
			if _, small, _ := r.fit(tt.after, 2, false); len(small) != 0 {
				t.Fatalf("a batch of no coefficients has %d", len(small))
			}
		})
	}
}
