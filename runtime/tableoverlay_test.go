package runtime

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/stepping-io/stepping/zset"
)

// TestTableOverlayReused runs batches of random inserts, updates and
// deletes, several to one key in a batch, through a keyed table whose
// overlays are reused from batch to batch (sizes alternate between
// those that scan for a key and those that index their keys): after each step
// the table holds what a map of the same changes holds.
func TestTableOverlayReused(t *testing.T) {
	c := lower(t, `
table kv (k int8, v int8, primary key (k))
view s = kv | group by v { n = count() }
output s
`)
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx := context.Background()
			e := NewWithOptions(c, NewMemoryStore(), Options{Workers: workers, ParallelBatch: 16})
			r := rand.New(rand.NewPCG(uint64(workers), 5))
			want := map[int64]int64{}
			for step := range 60 {
				n := []int{3, 40, 9, 200}[step%4]
				var changes []Change
				for range n {
					k, v := r.Int64N(50), r.Int64N(5)
					switch op := Op(r.IntN(3)); op {
					case Insert:
						if _, ok := want[k]; ok {
							op = Update
						}
						want[k] = v
						changes = append(changes, Change{Op: op, Row: []any{k, v}})
					case Update:
						if _, ok := want[k]; ok {
							want[k] = v
						}
						changes = append(changes, Change{Op: op, Row: []any{k, v}})
					case Delete:
						delete(want, k)
						changes = append(changes, Change{Op: op, Row: []any{k, v}})
					}
				}
				if _, err := e.Step(ctx, map[string][]Change{"kv": changes}); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				got := map[int64]int64{}
				e.tables["kv"].contents().Each(func(row zset.Row, w int64) {
					if w != 1 {
						t.Fatalf("step %d: row %v of weight %d", step, row, w)
					}
					got[row[0].(int64)] = row[1].(int64)
				})
				if !maps.Equal(got, want) {
					t.Fatalf("step %d: the table holds %v, want %v", step, got, want)
				}
			}
		})
	}
}
