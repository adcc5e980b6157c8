package runtime

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestMemBucketCollisions drives one index bucket and a map side by side
// with hashes cut to a few values, so that most rows share a hash with
// others, through the forms of a bucket: one row, rows scanned by their
// tags, and rows found by a map, which it makes and drops as it grows
// past bucketScan rows and shrinks back.
func TestMemBucketCollisions(t *testing.T) {
	for _, spread := range []int64{1, 3, 1 << 40} {
		cutRowHashes(t, spread)
		r := rand.New(rand.NewPCG(5, uint64(spread)))
		b := &memBucket{}
		model := map[string]int64{}
		sawMap, sawUnmapped := false, false
		for step := range 12000 {
			// Rows drawn from a range past bucketScan, for a while
			// only taken out, so that the bucket grows past
			// bucketScan and shrinks back.
			k := int64(r.IntN(2 * bucketScan))
			row := zset.Row{k}
			rk := types.RowKey(row)
			h := uint64(k % spread)
			w := int64(r.IntN(3) - 1)
			if w == 0 {
				w = 2
			}
			if (step/2000)%2 == 1 {
				w = -model[rk]
			}
			mapped := b.more != nil && b.more.at != nil
			b.addHashed(h, row, w)
			if model[rk] += w; model[rk] == 0 {
				delete(model, rk)
			}
			if b.len() != len(model) {
				t.Fatalf("spread %d step %d: %d rows, want %d", spread, step, b.len(), len(model))
			}
			now := b.more != nil && b.more.at != nil
			sawMap = sawMap || now
			sawUnmapped = sawUnmapped || mapped && !now
			if step%50 != 0 {
				continue
			}
			for j := range int64(2 * bucketScan) {
				jk := types.RowKey(zset.Row{j})
				i, _ := b.find(uint64(j%spread), zset.Row{j})
				want, in := model[jk]
				if in != (i >= 0) || in && (b.weight(i) != want || b.row(i)[0] != j) {
					t.Fatalf("spread %d step %d: row %d at %d, want weight %d (present %v)", spread, step, j, i, want, in)
				}
			}
		}
		if !sawMap || !sawUnmapped {
			t.Errorf("spread %d: the bucket made a map %v, dropped one %v; want both", spread, sawMap, sawUnmapped)
		}
	}
}

// TestMemIndexLookup drives a memory index and a model side by side with
// random changes to a few keys, rows of a given number of columns and
// weights 1 only (a table's rows) or any, and checks each lookup: the
// rows under each key with their weights, each row's capacity its
// length, and each key's entries' too.
func TestMemIndexLookup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width int
		rows  int  // distinct rows
		ones  bool // weights 1 only
		many  bool // a bucket grows past bucketScan
	}{
		{"no columns", 0, 1, false, false},
		{"one column, weights 1, past bucketScan", 1, 1200, true, true},
		{"three columns, past bucketScan", 3, 300, false, true},
		{"few rows", 2, 3, false, false},
		{"few rows, weights 1", 2, 3, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, uint64(tc.width)))
			ix := &memIndex{buckets: map[string]*memBucket{}}
			keys := []string{"a", "b", "c", "none"}
			rowOf := func(k int) zset.Row {
				row := make(zset.Row, tc.width, tc.width+r.IntN(2)) // some with room to spare
				for c := range row {
					row[c] = int64(k*10 + c)
				}
				return row
			}
			model := map[string]map[int]int64{"a": {}, "b": {}, "c": {}}
			update := func(key string, k int, w int64) {
				if err := ix.Update(t.Context(), []KeyedChange{{Key: key, Row: rowOf(k), Weight: w}}); err != nil {
					t.Fatal(err)
				}
				if model[key][k] += w; model[key][k] == 0 {
					delete(model[key], k)
				}
			}
			sawMap := false
			for step := range 3000 {
				key, k := keys[r.IntN(3)], r.IntN(tc.rows)
				w := int64(r.IntN(5) - 2)
				if tc.ones {
					w = 1 - 2*model[key][k] // in, or out
				}
				update(key, k, w)
				if b := ix.buckets[key]; b != nil && b.more != nil && b.more.at != nil {
					sawMap = true
				}
				if step%1000 == 799 {
					for k, w := range model["a"] { // emptied
						update("a", k, -w)
					}
				} else if step%5 != 0 {
					continue
				}
				found, err := ix.Lookup(t.Context(), keys)
				if err != nil {
					t.Fatal(err)
				}
				for i, key := range keys {
					got := map[string]int64{}
					for _, e := range found[i] {
						if len(e.Row) != tc.width || cap(e.Row) != tc.width {
							t.Fatalf("step %d: key %s: row %v of len %d cap %d, want %d", step, key, e.Row, len(e.Row), cap(e.Row), tc.width)
						}
						got[types.RowKey(e.Row)] += e.Weight
					}
					want := map[string]int64{}
					for k, w := range model[key] {
						want[types.RowKey(rowOf(k))] = w
					}
					if cap(found[i]) != len(found[i]) || len(got) != len(found[i]) || !maps.Equal(got, want) {
						t.Fatalf("step %d: key %s holds %v, want %v", step, key, found[i], want)
					}
				}
			}
			if sawMap != tc.many {
				t.Errorf("a bucket made a map: %v, want %v", sawMap, tc.many)
			}
		})
	}
}

// TestMemBucketShrinks checks that a bucket that held many rows and lost
// most gives back their room, its map included.
func TestMemBucketShrinks(t *testing.T) {
	b := &memBucket{}
	var tmp [64]byte
	for k := range int64(1000) {
		row := zset.Row{k}
		h, _ := hashRowKey(tmp[:0], "", row)
		b.addHashed(h, row, 2)
	}
	if b.more == nil || b.more.at == nil || len(b.more.weights) != 1000 {
		t.Fatalf("a bucket of 1000 rows of weight 2 has no map or no weights: %+v", b.more)
	}
	for k := range int64(990) {
		row := zset.Row{k}
		h, _ := hashRowKey(tmp[:0], "", row)
		b.addHashed(h, row, -2)
	}
	if b.len() != 10 || cap(b.rows) > 16 || b.more.at != nil || cap(b.more.weights) > 32 {
		t.Fatalf("a bucket down to %d rows keeps room for %d and weights for %d, map %v", b.len(), 2*cap(b.rows), cap(b.more.weights), b.more.at != nil)
	}
	for k := int64(990); k < 1000; k++ {
		if i, _ := b.find(bucketRowHash(zset.Row{k}), zset.Row{k}); i < 0 || b.weight(i) != 2 {
			t.Fatalf("row %d lost", k)
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
				byKeys.updateKeyed(keys, ends, d, false)
			}
			if len(byKeys.buckets) != len(byChanges.buckets) {
				t.Fatalf("%d keys, want %d", len(byKeys.buckets), len(byChanges.buckets))
			}
			for k, want := range byChanges.buckets {
				got := byKeys.buckets[k]
				if got == nil || fmt.Sprint(got.appendEntries(nil)) != fmt.Sprint(want.appendEntries(nil)) {
					t.Fatalf("key %q holds %v, want %v", k, got.appendEntries(nil), want.appendEntries(nil))
				}
			}
		})
	}
}

// TestUpdateKeyedFresh files random batches of a set's changes (a row
// inserted only when absent, as a keyed table's are) into an index as
// fresh and into another as not, and checks that both hold the same
// rows after each: through buckets growing past bucketScan, finding
// rows by a map, and shrinking back to scanning. A retraction is of the
// row filed itself, as a table's is, or of an equal row of its own,
// which a fresh index, whose rows are filed unhashed, must find too.
func TestUpdateKeyedFresh(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fresh := &memIndex{buckets: map[string]*memBucket{}}
	plain := &memIndex{buckets: map[string]*memBucket{}}
	held := map[int64]zset.Row{} // the row filed, by value
	retracted := map[bool]int{}  // retractions, by whether of the row filed
	biggest := 0
	keyOf := func(row int64) string { return fmt.Sprint("k", row%3) }
	for step := range 200 {
		var keys string
		var ends []int32
		var d []zset.Entry
		// Early steps mostly insert, later ones mostly delete, so that
		// buckets grow to hundreds of rows and shrink again.
		insertShare := 80
		if step >= 100 {
			insertShare = 20
		}
		seen := map[int64]bool{}
		for range 1 + r.IntN(40) {
			row := int64(r.IntN(1000))
			if seen[row] {
				continue
			}
			seen[row] = true
			filed := held[row]
			e := zset.Entry{Row: zset.Row{row, fmt.Sprint("r", row)}, Weight: 1}
			switch {
			case filed == nil && r.IntN(100) < insertShare:
				held[row] = e.Row
			case filed != nil && r.IntN(100) >= insertShare:
				e.Weight = -1
				if itself := r.IntN(2) == 0; itself {
					e.Row = filed
					retracted[true]++
				} else {
					retracted[false]++
				}
				delete(held, row)
			default:
				continue
			}
			keys += keyOf(row)
			ends = append(ends, int32(len(keys)))
			d = append(d, e)
		}
		fresh.updateKeyed(keys, ends, d, true)
		plain.updateKeyed(keys, ends, d, false)
		for _, b := range fresh.buckets {
			biggest = max(biggest, int(b.n))
		}
		if len(fresh.buckets) != len(plain.buckets) {
			t.Fatalf("step %d: %d keys, want %d", step, len(fresh.buckets), len(plain.buckets))
		}
		for k, want := range plain.buckets {
			got := fresh.buckets[k]
			if got == nil {
				t.Fatalf("step %d: key %q missing", step, k)
			}
			g, w := got.appendEntries(nil), want.appendEntries(nil)
			sortEntries(g)
			sortEntries(w)
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Fatalf("step %d: key %q holds %v, want %v", step, k, g, w)
			}
			// Each row is found where it is, as itself and as an
			// equal row, as a later retraction needs.
			for _, e := range g {
				h, _ := hashRowKey(nil, "", e.Row)
				for _, row := range []zset.Row{e.Row, slices.Clone(e.Row)} {
					if i, _ := got.find(h, row); i < 0 || got.row(i)[0] != row[0] {
						t.Fatalf("step %d: key %q: row %v held but found at %d", step, k, row, i)
					}
				}
			}
		}
	}
	if biggest < bucketScan {
		t.Fatalf("the biggest bucket held %d rows, fewer than bucketScan: the map was never made", biggest)
	}
	if retracted[true] == 0 || retracted[false] == 0 {
		t.Fatalf("retractions of the row filed, and of an equal one: %d and %d; want some of each", retracted[true], retracted[false])
	}
}

// cutRowHashes makes a bucket hash a row of int64 first column k as
// k % spread, until the test ends, so that rows share hashes.
func cutRowHashes(t *testing.T, spread int64) {
	old := bucketRowHash
	t.Cleanup(func() { bucketRowHash = old })
	bucketRowHash = func(row zset.Row) uint64 { return uint64(row[0].(int64) % spread) }
}

func sortEntries(es []zset.Entry) {
	slices.SortFunc(es, func(a, b zset.Entry) int { return cmp.Compare(a.Row[0].(int64), b.Row[0].(int64)) })
}

// TestMemBucketAddNew drives a bucket by addNew, for rows it does not
// hold, beside one driven by addHashed alone, with hashes cut to a few
// values so that rows share them, through a bucket's forms: the two must
// hold the same rows, each found by its hash.
func TestMemBucketAddNew(t *testing.T) {
	for _, spread := range []int64{1, 3, 1 << 40} {
		cutRowHashes(t, spread)
		r := rand.New(rand.NewPCG(6, uint64(spread)))
		fresh, plain := &memBucket{}, &memBucket{}
		held := map[int64]bool{}
		for step := range 6000 {
			k := int64(r.IntN(2 * bucketScan))
			h := uint64(k % spread)
			row := zset.Row{k}
			// A while of mostly inserts, then one of mostly deletes.
			inserting := r.IntN(10) < 8 == ((step/1500)%2 == 0)
			switch {
			case !held[k] && inserting:
				fresh.addNew(h, row)
				plain.addHashed(h, row, 1)
			case held[k] && !inserting:
				fresh.addHashed(h, row, -1)
				plain.addHashed(h, row, -1)
			default:
				continue
			}
			held[k] = !held[k]
			if fresh.len() != plain.len() {
				t.Fatalf("spread %d step %d: %d rows, want %d", spread, step, fresh.len(), plain.len())
			}
			for j := range int64(2 * bucketScan) {
				i, _ := fresh.find(uint64(j%spread), zset.Row{j})
				if (i >= 0) != held[j] || i >= 0 && fresh.weight(i) != 1 {
					t.Fatalf("spread %d step %d: row %d found at %d, want held %v", spread, step, j, i, held[j])
				}
			}
		}
	}
}
