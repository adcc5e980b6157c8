package runtime

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
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
				parts, err := splitItems(items, nw, key, 0)
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
	if _, err := splitItems(items, 4, failing, 0); !errors.Is(err, bad) {
		t.Fatalf("a key's error: got %v", err)
	}
}

func head(xs []int) []int { return xs[:min(len(xs), 5)] }
