package runtime

import (
	"fmt"
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

// TestMemIndexUpdateKeyed files batches by keys given in one string as
// Update files them given as KeyedChanges: runs of one key and keys that
// alternate, rows that cancel, within a batch or across two, emptying
// their key, and keys that are parts of one string.
func TestMemIndexUpdateKeyed(t *testing.T) {
	type change struct {
		key string
		row int
		w   int64
	}
	for _, tc := range []struct {
		name    string
		batches [][]change
	}{
		{"one key", [][]change{{{"a", 1, 1}, {"a", 2, 1}, {"a", 1, 2}}}},
		{"alternating", [][]change{{{"a", 1, 1}, {"b", 1, 1}, {"a", 2, 1}, {"b", 1, 1}}}},
		{"cancelled in a batch", [][]change{{{"a", 1, 1}, {"a", 1, -1}, {"b", 2, 1}, {"a", 3, 1}}}},
		{"cancelled across", [][]change{{{"a", 1, 1}, {"b", 2, 1}}, {{"a", 1, -1}, {"b", 2, -1}, {"b", 2, 1}}}},
		{"empty key", [][]change{{{"", 1, 1}, {"a", 1, 1}, {"", 2, 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			byChanges := &memIndex{buckets: map[string]*memBucket{}}
			byKeys := &memIndex{buckets: map[string]*memBucket{}}
			for _, cs := range tc.batches {
				var changes []KeyedChange
				var keys string
				var ends []int32
				var d []zset.Entry
				for _, c := range cs {
					e := zset.Entry{Row: zset.Row{int64(c.row)}, Weight: c.w}
					changes = append(changes, KeyedChange{Key: c.key, Row: e.Row, Weight: e.Weight})
					keys += c.key
					ends = append(ends, int32(len(keys)))
					d = append(d, e)
				}
				if err := byChanges.Update(t.Context(), changes); err != nil {
					t.Fatal(err)
				}
				byKeys.updateKeyed(keys, ends, d)
			}
			if len(byKeys.buckets) != len(byChanges.buckets) {
				t.Fatalf("%d keys, want %d", len(byKeys.buckets), len(byChanges.buckets))
			}
			for k, want := range byChanges.buckets {
				got := byKeys.buckets[k]
				if got == nil || fmt.Sprint(got.entries) != fmt.Sprint(want.entries) {
					t.Fatalf("key %q holds %v, want %v", k, got, want.entries)
				}
			}
		})
	}
}
