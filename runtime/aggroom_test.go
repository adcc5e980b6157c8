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
				of[i] = int32(i % 2)
			}
			g := newGroupStateOf(2)
			g.Key, g.Count = []any{int64(7)}, 3
			g.Accs[0] = Accumulator{NonNull: 3, Sum: decimal.New(150, -2), Scales: []int64{0, 0, 3}}
			n, accs, scales := slabSizes([]*GroupState{g, nil})
			r.slab.fit(n, accs, scales)
			c := r.slab.clone(g)
			c.cacheRow([]any{int64(7), decimal.New(150, -2)})
			r.sortByGroup(of, 2)
			r.news = fitLen(r.news, 2)
			r.news[0], r.news[1] = c, g
			r.olds = fitLen(r.olds, 2)
			r.olds[0], r.olds[1] = g, nil
			r.keyList = []string{"batch's keys"}

			r.release()
			if r.keyList[:1][0] != "" {
				t.Fatalf("released room's key list holds %q", r.keyList[:1][0])
			}
			for i, p := range r.parts[:cap(r.parts)] {
				if p != nil {
					t.Fatalf("released room's group %d is %v", i, p)
				}
			}
			for i, st := range r.news[:cap(r.news)] {
				if st != nil {
					t.Fatalf("released room's new state %d is %v", i, st)
				}
			}
			for i, st := range r.olds[:cap(r.olds)] {
				if st != nil {
					t.Fatalf("released room's old state %d is %v", i, st)
				}
			}
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

// TestRoomSortByGroup checks that a room sorts a batch's changes by
// group as sortByGroup does, batch after batch in the same arrays, each
// group's changes in their order in the batch.
func TestRoomSortByGroup(t *testing.T) {
	batches := []struct {
		of []int32
		n  int
	}{
		{[]int32{0, 1, 0, 2, 1, 0}, 3},
		{[]int32{1, 0}, 2},
		{[]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 9}, 10},
		{[]int32{2, 2, 1, 0, 1}, 3},
	}
	r := &aggRoom{}
	for i, b := range batches {
		got := r.sortByGroup(b.of, b.n)
		want := make([][]int32, b.n)
		for c, g := range b.of {
			want[g] = append(want[g], int32(c))
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("batch %d: groups %v, want %v", i, got, want)
		}
		if !slices.EqualFunc(got, sortByGroup(b.of, b.n, nil), slices.Equal) {
			t.Fatalf("batch %d: groups %v, sortByGroup gives %v", i, got, sortByGroup(b.of, b.n, nil))
		}
		r.release()
	}
}

// TestKeySlotsIn checks that a table made in an earlier one's arrays
// (newKeySlotsIn) is empty and finds what it is given, whether the
// arrays were big enough or not.
func TestKeySlotsIn(t *testing.T) {
	var spare keySlots
	for i, n := range []int{40, 5, 100, 40} {
		tab := newKeySlotsIn(spare.hashes, spare.slots, n)
		for k := range n {
			h := uint64(k) * 0x9e3779b97f4a7c15
			if _, _, found := tab.find(h, func(int32) bool { return true }); found {
				t.Fatalf("table %d: key %d found before it was added", i, k)
			}
			_, at, _ := tab.find(h, func(int32) bool { return false })
			if got := tab.add(h, at); got != int32(k) {
				t.Fatalf("table %d: key %d added as %d", i, k, got)
			}
		}
		for k := range n {
			h := uint64(k) * 0x9e3779b97f4a7c15
			if got, _, found := tab.find(h, func(g int32) bool { return g == int32(k) }); !found || got != int32(k) {
				t.Fatalf("table %d: key %d found as %d, %v", i, k, got, found)
			}
		}
		spare = tab
	}
}

// TestAggRoomKeep checks that only a room of a batch of up to
// roomChanges changes and groups is kept for the next batch, so that a
// load's big batches do not keep their arrays alive between steps.
func TestAggRoomKeep(t *testing.T) {
	tests := []struct {
		name            string
		changes, groups int
		keep            bool
	}{
		{"one group", 0, 1, true},
		{"a price change", 200, 100, true},
		{"at the bound", roomChanges, roomChanges, true},
		{"many changes", roomChanges + 1, 10, false},
		{"many groups", 0, roomChanges + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &aggRoom{}
			if tt.changes > 0 {
				r.fit(tt.changes, 2, true)
			}
			r.slab.fit(tt.groups, 2*tt.groups, 0)
			if got := r.keep(); got != tt.keep {
				t.Errorf("keep() = %v, want %v", got, tt.keep)
			}
		})
	}
}
