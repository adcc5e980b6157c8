package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestOverlayIndex checks an overlay against a plain model: committed
// rows under a few keys (some with many rows, past the scan's limit; none
// at all for some seeds), random changes in rounds, filed at once or
// given as updates with or without their row keys or as keyed updates
// (the keys of a batch in one string, runs of one key in some, the
// hashes of their row keys given in some), with
// lookups between them, and the flush, which must leave the underlying
// index, whole or split, as the model says. So it must with every key's
// hash alike.
func TestOverlayIndex(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprint("collide=", collide), func(t *testing.T) {
			withCollidingKeys(t, collide, func() { checkOverlayIndex(t) })
		})
	}
}

func checkOverlayIndex(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 1))
		store := NewMemoryStore()
		if seed%3 == 2 {
			store.split(3) // flushed in chunks
		}
		base := store.Index(1)
		model := map[string]map[string]int64{} // key -> row key -> weight
		rows := map[string]zset.Row{}
		change := func(k string, id int, w int64) KeyedChange {
			row := zset.Row{k, int64(id)}
			rk := types.RowKey(row)
			rows[rk] = row
			if model[k] == nil {
				model[k] = map[string]int64{}
			}
			model[k][rk] += w
			if model[k][rk] == 0 {
				delete(model[k], rk)
			}
			return KeyedChange{Key: k, RowKey: rk, Row: row, Weight: w}
		}
		keys := []string{"a", "b", "c", "d"}
		sizes := map[string]int{"a": 3, "b": 40, "c": 0, "d": 20}
		var committed []KeyedChange
		for _, k := range keys {
			if seed%4 == 3 {
				break // an empty index
			}
			for id := range sizes[k] {
				committed = append(committed, change(k, id, int64(1+r.IntN(2))))
			}
		}
		if err := base.Update(ctx, committed); err != nil {
			t.Fatal(err)
		}
		var over Store = store
		var given *recordedIndex
		if seed%2 == 1 {
			// A store not in memory, given each row's net change once.
			given = &recordedIndex{Index: base}
			over = recordingStore{store, given}
		}
		ov := newOverlayStore(over).index(1)
		for round := range 30 {
			var cs []KeyedChange
			for range r.IntN(30) {
				k := keys[r.IntN(len(keys))]
				cs = append(cs, change(k, r.IntN(sizes[k]+25), int64(r.IntN(5)-2)))
			}
			kind := r.IntN(4)
			if round >= 25 && kind == 0 {
				kind = 3 // the last rounds' changes all wait for the flush
			}
			switch kind {
			case 3:
				if r.IntN(2) == 0 {
					slices.SortStableFunc(cs, func(a, b KeyedChange) int { return strings.Compare(a.Key, b.Key) })
				}
				var all strings.Builder
				var ends []int32
				var d batch
				for _, c := range cs {
					all.WriteString(c.Key)
					ends = append(ends, int32(all.Len()))
					d = append(d, zset.Entry{Row: c.Row, Weight: c.Weight})
				}
				if r.IntN(2) == 0 {
					// The batch a fixpoint fed, its rows' hashes known.
					var hashes []uint64
					for _, e := range d {
						hashes = append(hashes, hashKey(types.RowKey(e.Row)))
					}
					ov.store.fed, ov.store.fedHashes = d, hashes
				}
				ov.updateKeyed(all.String(), ends, d)
			case 0:
				ov.add(cs)
			case 1:
				if err := ov.Update(ctx, cs); err != nil {
					t.Fatal(err)
				}
			default:
				for i := range cs {
					cs[i].RowKey = "" // as an integral over memory gives them
				}
				if err := ov.Update(ctx, cs); err != nil {
					t.Fatal(err)
				}
			}
			if r.IntN(4) == 0 || round >= 25 {
				continue // no lookup: the next round's changes pile up, the last rounds' until the flush
			}
			look := slices.Clone(keys)
			r.Shuffle(len(look), func(i, j int) { look[i], look[j] = look[j], look[i] })
			look = look[:1+r.IntN(len(look))]
			got, err := ov.Lookup(ctx, look)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range look {
				if g, w := entriesText(got[i]), modelText(model[k], rows); g != w {
					t.Fatalf("seed %d: key %s: overlay has %s, want %s", seed, k, g, w)
				}
			}
		}
		if err := ov.flush(ctx); err != nil {
			t.Fatal(err)
		}
		if given != nil {
			if err := given.check(); err != nil {
				t.Fatalf("seed %d: flush: %v", seed, err)
			}
		}
		got, err := base.Lookup(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if g, w := entriesText(got[i]), modelText(model[k], rows); g != w {
				t.Fatalf("seed %d: key %s after flush: index has %s, want %s", seed, k, g, w)
			}
		}
	}
}

func entriesText(es []zset.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%v:%d", e.Row, e.Weight))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

func modelText(m map[string]int64, rows map[string]zset.Row) string {
	var out []string
	for rk, w := range m {
		out = append(out, fmt.Sprintf("%v:%d", rows[rk], w))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

// recordingStore is a store whose index 1 is recorded, and not a memory
// store's as an overlay sees it.
type recordingStore struct {
	Store
	ix *recordedIndex
}

func (s recordingStore) Index(id int) Index { return s.ix }

// recordedIndex keeps the changes it is given.
type recordedIndex struct {
	Index
	given []KeyedChange
}

func (ix *recordedIndex) Update(ctx context.Context, changes []KeyedChange) error {
	ix.given = append(ix.given, changes...)
	return ix.Index.Update(ctx, changes)
}

// check reports a change without its row key, of weight zero, or of a
// row given twice, which a database's index must not be given.
func (ix *recordedIndex) check() error {
	seen := map[[2]string]bool{}
	for _, c := range ix.given {
		id := [2]string{c.Key, c.RowKey}
		switch {
		case c.RowKey != types.RowKey(c.Row):
			return fmt.Errorf("change %v has row key %q", c.Row, c.RowKey)
		case c.Weight == 0:
			return fmt.Errorf("change %v of weight zero", c.Row)
		case seen[id]:
			return fmt.Errorf("row %v of key %s given twice", c.Row, c.Key)
		}
		seen[id] = true
	}
	return nil
}

// TestOverlayOfOverlay flushes an overlay of an overlay of a memory
// store, with more changes than one flush chunk: the outer overlay keeps
// the slices it is given, which must not be reused under it.
func TestOverlayOfOverlay(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	outer := newOverlayStore(store)
	inner := newOverlayStore(outer)
	n := 2*flushChunk + 10
	var cs []KeyedChange
	for i := range n {
		row := zset.Row{int64(i % 7), int64(i)}
		cs = append(cs, KeyedChange{Key: fmt.Sprint(i % 7), RowKey: types.RowKey(row), Row: row, Weight: 1})
	}
	inner.index(1).add(cs)
	if err := inner.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := outer.flush(ctx); err != nil {
		t.Fatal(err)
	}
	keys := []string{"0", "1", "2", "3", "4", "5", "6"}
	got, err := store.Index(1).Lookup(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, k := range keys {
		for _, e := range got[i] {
			if fmt.Sprint(e.Row[0]) != k || e.Weight != 1 {
				t.Fatalf("key %s holds %v of weight %d", k, e.Row, e.Weight)
			}
			total++
		}
	}
	if total != n {
		t.Fatalf("the index holds %d rows, want %d", total, n)
	}
}
