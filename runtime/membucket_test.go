package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestMemBucketCollisions drives one index bucket and a map side by side
// with hashes cut to a few values, so that most rows share a hash with
// others, through both the scanned and the mapped forms of a bucket.
func TestMemBucketCollisions(t *testing.T) {
	for _, spread := range []int64{1, 3, 1 << 40} {
		r := rand.New(rand.NewPCG(5, uint64(spread)))
		b := &memBucket{}
		model := map[string]int64{}
		sawMap := false
		for step := range 6000 {
			k := int64(r.IntN(2 * bucketScan)) // past bucketScan: both forms
			row := zset.Row{k}
			rk := types.RowKey(row)
			h := uint64(k % spread)
			w := int64(r.IntN(3) - 1)
			if w == 0 {
				w = 2
			}
			if i, taken := b.find(h, row); i < 0 {
				b.insert(h, zset.Entry{Row: row, Weight: w}, taken)
			} else if b.entries[i].Weight += w; b.entries[i].Weight == 0 {
				b.remove(i)
			}
			if model[rk] += w; model[rk] == 0 {
				delete(model, rk)
			}
			if len(b.entries) != len(model) {
				t.Fatalf("spread %d step %d: %d rows, want %d", spread, step, len(b.entries), len(model))
			}
			sawMap = sawMap || b.byHash != nil
			if step%50 != 0 {
				continue
			}
			for j := range int64(2 * bucketScan) {
				jk := types.RowKey(zset.Row{j})
				i, _ := b.find(uint64(j%spread), zset.Row{j})
				want, in := model[jk]
				if in != (i >= 0) || in && b.entries[i].Weight != want {
					t.Fatalf("spread %d step %d: row %d at %d, want weight %d (present %v)", spread, step, j, i, want, in)
				}
			}
		}
		if !sawMap {
			t.Errorf("spread %d: the bucket never grew a map", spread)
		}
	}
}

// TestMemIndexRowKeyOptional checks that a change with its row key and
// one without it (the index encodes the row) find the same entry.
func TestMemIndexRowKeyOptional(t *testing.T) {
	ix := NewMemoryStore().Index(1)
	ctx := t.Context()
	for k := range int64(20) {
		row := zset.Row{k, "x"}
		if err := ix.Update(ctx, []KeyedChange{{Key: "k", RowKey: types.RowKey(row), Row: row, Weight: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	for k := range int64(20) {
		row := zset.Row{k, "x"}
		if err := ix.Update(ctx, []KeyedChange{{Key: "k", Row: row, Weight: -1}}); err != nil {
			t.Fatal(err)
		}
	}
	found, err := ix.Lookup(ctx, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found[0]) != 20 {
		t.Fatalf("%d rows, want 20", len(found[0]))
	}
	for _, e := range found[0] {
		if e.Weight != 1 {
			t.Fatalf("row %v has weight %d, want 1", e.Row, e.Weight)
		}
	}
}
