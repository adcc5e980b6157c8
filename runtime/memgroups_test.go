package runtime

import (
	"context"
	"maps"
	"math"
	"testing"

	"github.com/stepping-io/stepping/types"
)

// TestMemGroupsKeys checks that memory groups find, replace, drop and
// list each group under the key it was put under, whether that key is
// an int64's encoding (filed by the int64) or any other string, nine
// bytes starting with an int64's tag included.
func TestMemGroupsKeys(t *testing.T) {
	intKeyOf := func(x int64) string { return string(types.AppendKey(nil, x)) }
	tests := []struct {
		name string
		keys []string
	}{
		{"int64s", []string{intKeyOf(0), intKeyOf(1), intKeyOf(-1), intKeyOf(math.MaxInt64), intKeyOf(math.MinInt64), intKeyOf(1 << 40)}},
		{"texts", []string{string(types.AppendKey(nil, "a")), "", "b"}},
		{"two int64s", []string{intKeyOf(1) + intKeyOf(2), intKeyOf(2) + intKeyOf(1)}},
		{"nine bytes", []string{"abcdefghi", intKeyOf(7)[:1] + "abcdefgh", intKeyOf(7)[:8]}},
		{"mixed", []string{intKeyOf(3), "x", intKeyOf(3) + "y"}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newMemGroups()
			want := map[string]*GroupState{}
			states := make([]*GroupState, len(tt.keys))
			for i, k := range tt.keys {
				states[i] = &GroupState{Count: int64(i + 1)}
				want[k] = states[i]
			}
			if err := g.Put(ctx, tt.keys, states); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				got, err := g.Get(ctx, tt.keys)
				if err != nil {
					t.Fatal(err)
				}
				for i, k := range tt.keys {
					if got[i] != want[k] {
						t.Fatalf("%s: Get(%q) = %v, want %v", when, k, got[i], want[k])
					}
				}
				listed := map[string]*GroupState{}
				for k, st := range g.all {
					listed[k] = st
				}
				wantListed := maps.Clone(want)
				maps.DeleteFunc(wantListed, func(_ string, st *GroupState) bool { return st == nil })
				if !maps.Equal(listed, wantListed) || g.len() != len(wantListed) {
					t.Fatalf("%s: all gives %v (len %d), want %v", when, listed, g.len(), wantListed)
				}
			}
			check("put")
			// Replace the first state and drop the last.
			first, last := tt.keys[0], tt.keys[len(tt.keys)-1]
			repl := []*GroupState{{Count: 9}, {Count: 0}}
			if err := g.Put(ctx, []string{first, last}, repl); err != nil {
				t.Fatal(err)
			}
			want[first], want[last] = repl[0], nil
			check("replaced and dropped")
		})
	}
}
