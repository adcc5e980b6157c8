package runtime

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/zset"
)

// TestSplitItems checks that splitting items over partitions gives each
// partition exactly the items whose key falls in it, in their order,
// whether the items are read in one chunk or several side by side; and
// that a key's error is the split's.
func TestSplitItems(t *testing.T) {
	key := func(buf []byte, _ []any, it int) ([]byte, error) {
		return strconv.AppendInt(buf, int64(it%97), 10), nil
	}
	for _, nw := range []int{1, 2, 3, 16} {
		for _, n := range []int{0, 1, 10, parallelWork, 3*parallelWork + 7, 40 * parallelWork} {
			t.Run(fmt.Sprintf("nw=%d/n=%d", nw, n), func(t *testing.T) {
				items := make([]int, n)
				for i := range items {
					items[i] = (i * 7919) % 100_003
				}
				parts, err := splitItems(nil, items, nw, key, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(parts) != nw {
					t.Fatalf("%d partitions, want %d", len(parts), nw)
				}
				want := make([][]int, nw)
				for _, it := range items {
					k, _ := key(nil, nil, it)
					p := partOf(k, nw)
					want[p] = append(want[p], it)
				}
				for p := range nw {
					if !slices.Equal(parts[p], want[p]) {
						t.Fatalf("partition %d holds %d items %v..., want %d", p, len(parts[p]), head(parts[p]), len(want[p]))
					}
				}
			})
		}
	}
	bad := errors.New("bad")
	failing := func(buf []byte, _ []any, it int) ([]byte, error) {
		if it == 5000 {
			return buf, bad
		}
		return key(buf, nil, it)
	}
	items := make([]int, 8*parallelWork)
	for i := range items {
		items[i] = i
	}
	if _, err := splitItems(nil, items, 4, failing, 0, nil); !errors.Is(err, bad) {
		t.Fatalf("a key's error: got %v", err)
	}
}

func head(xs []int) []int { return xs[:min(len(xs), 5)] }

// TestSplitKeyed checks that splitting a batch by key expressions gives
// each partition exactly the changes whose key falls in it, in their
// order, with the keys encodeKeys gives that partition's changes (NULLs
// marked), in one chunk or several; that a split is found again for the
// same batch and key, and not for another; and that a key's error is the
// split's.
func TestSplitKeyed(t *testing.T) {
	key := []ir.Scalar{{Eval: func(r zset.Row) (any, error) { return r[0], nil }}}
	for _, nw := range []int{1, 2, 3, 16} {
		for _, n := range []int{0, 1, 10, parallelWork, 3*parallelWork + 7, 40 * parallelWork} {
			t.Run(fmt.Sprintf("nw=%d/n=%d", nw, n), func(t *testing.T) {
				d := make(batch, n)
				for i := range d {
					var v any = fmt.Sprint("k", (i*7919)%97)
					if i%11 == 3 {
						v = nil
					}
					d[i] = zset.Entry{Row: zset.Row{v, int64(i)}, Weight: int64(1 + i%3)}
				}
				ks, err := splitKeyed(nil, d, key, nw, nil)
				if err != nil {
					t.Fatal(err)
				}
				var vals [1]any
				want := make([]batch, nw)
				for _, e := range d {
					k, _, _ := appendKeyOf(nil, vals[:], key, e.Row)
					p := partOf(k, nw)
					want[p] = append(want[p], e)
				}
				for p := range nw {
					if !slices.EqualFunc(ks.parts[p], want[p], func(a, b zset.Entry) bool { return a.Row[1] == b.Row[1] && a.Weight == b.Weight }) {
						t.Fatalf("partition %d holds %d changes, want %d", p, len(ks.parts[p]), len(want[p]))
					}
					ek := ks.keys[p]
					exp, err := encodeKeys(ks.parts[p], key)
					if err != nil {
						t.Fatal(err)
					}
					if len(ek.d) != len(ks.parts[p]) || len(ek.d) > 0 && &ek.d[0] != &ks.parts[p][0] {
						t.Fatalf("partition %d's keys are not of its changes", p)
					}
					for i := range ks.parts[p] {
						if ek.of(i) != exp.of(i) {
							t.Fatalf("partition %d, change %d: key %q, want %q", p, i, ek.of(i), exp.of(i))
						}
						if (ek.nulls != nil && ek.nulls[i]) != (exp.nulls != nil && exp.nulls[i]) {
							t.Fatalf("partition %d, change %d: NULL marked %v", p, i, ek.nulls != nil && ek.nulls[i])
						}
					}
				}
			})
		}
	}
	s := &stepRun{engine: &Engine{}}
	d := batch{{Row: zset.Row{"a"}, Weight: 1}, {Row: zset.Row{"b"}, Weight: 1}}
	first, err := s.splitByKey(1, d, key, 2)
	if err != nil {
		t.Fatal(err)
	}
	other := slices.Clone(d)
	if again, _ := s.splitByKey(1, d, key, 2); again != first {
		t.Fatal("the same batch by the same key was split again")
	}
	if again, _ := s.splitByKey(1, other, key, 2); again == first {
		t.Fatal("another batch was given the first's split")
	}
	if again, _ := s.splitByKey(2, d, key, 2); again == first {
		t.Fatal("another node's batch was given the first's split")
	}
	bad := errors.New("bad")
	failing := []ir.Scalar{{Eval: func(r zset.Row) (any, error) {
		if r[0] == int64(5000) {
			return nil, bad
		}
		return r[0], nil
	}}}
	many := make(batch, 8*parallelWork)
	for i := range many {
		many[i] = zset.Entry{Row: zset.Row{int64(i)}, Weight: 1}
	}
	if _, err := splitKeyed(nil, many, failing, 4, nil); !errors.Is(err, bad) {
		t.Fatalf("a key's error: got %v", err)
	}
}

// TestSpread checks when an exchange runs its partitions side by side:
// only when two or more of them have enough changes, over every input
// split, an input not split (nil) counting for none.
func TestSpread(t *testing.T) {
	of := func(sizes ...int) []batch {
		parts := make([]batch, len(sizes))
		for p, n := range sizes {
			parts[p] = make(batch, n)
		}
		return parts
	}
	tests := []struct {
		name  string
		split [][]batch
		least int
		want  bool
	}{
		{"even", [][]batch{of(100, 100)}, 64, true},
		{"skewed", [][]batch{of(1000, 3)}, 64, false},
		{"all in one", [][]batch{of(0, 500)}, 64, false},
		{"enough over two inputs", [][]batch{of(40, 300), of(30, 0)}, 64, true},
		{"input not split", [][]batch{nil, of(70, 70)}, 64, true},
		{"two of four", [][]batch{of(0, 64, 0, 64)}, 64, true},
		{"one of four", [][]batch{of(10, 640, 10, 10)}, 64, false},
		{"least zero: any change", [][]batch{of(1, 1)}, 0, true},
		{"least zero: empty partition", [][]batch{of(0, 5)}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := 0
			for _, parts := range tt.split {
				nw = max(nw, len(parts))
			}
			if got := spread(tt.split, nw, tt.least); got != tt.want {
				t.Errorf("spread = %v, want %v", got, tt.want)
			}
		})
	}
}
