package runtime

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestPKRows drives pkRows and a map side by side with random sets and
// deletes, with the full hash over enough keys to fill several chunks of
// slots, and with hashes cut to two bits, so that most keys collide.
func TestPKRows(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 3} {
		r := rand.New(rand.NewPCG(3, uint64(mask)))
		p := newPKRows([]int{0})
		p.mask = mask
		model := map[string]zset.Row{}
		keys := 200
		if mask == ^uint64(0) {
			keys = 3000 // past the first chunks of slots
		}
		for step := range 10000 {
			k := int64(r.IntN(keys))
			row := zset.Row{k, int64(step)}
			key := string(p.appendKey(nil, row))
			if r.IntN(3) == 0 {
				p.del(key)
				delete(model, key)
			} else {
				p.set(key, row)
				model[key] = row
			}
			if p.len() != len(model) {
				t.Fatalf("mask %x step %d: %d rows, want %d", mask, step, p.len(), len(model))
			}
		}
		for k, want := range model {
			if got := p.get(k); got == nil || got[1] != want[1] {
				t.Fatalf("mask %x: row of %q is %v, want %v", mask, k, got, want)
			}
		}
		n := 0
		p.each(func(zset.Row) { n++ })
		if n != len(model) {
			t.Fatalf("mask %x: each gave %d rows, want %d", mask, n, len(model))
		}
		for k := range keys {
			key := string(p.appendKey(nil, zset.Row{int64(k)}))
			if _, in := model[key]; !in && p.get(key) != nil {
				t.Fatalf("mask %x: key %d found, not in the model", mask, k)
			}
		}
	}
}

// TestTableResolveCollisions resolves and applies random batches of
// inserts, updates and deletes, several to one key in a batch, against a
// keyed table whose key hashes are cut to two bits, so that keys of one
// batch and of the table collide; the table must hold what a map of the
// same changes holds, and each batch's Z-set must be the difference.
func TestTableResolveCollisions(t *testing.T) {
	in := &ir.Input{Name: "t", PrimaryKey: []int{0}, Columns: []ir.Column{
		{Name: "k", Type: types.Type{Kind: types.Int8}},
		{Name: "v", Type: types.Type{Kind: types.Int8}},
	}}
	for _, parts := range []int{1, 3} {
		tab := newTableState(in, false)
		tab.split(parts)
		for _, p := range tab.byKey {
			p.mask = 3
		}
		model := map[int64]int64{}
		r := rand.New(rand.NewPCG(5, uint64(parts)))
		for step := range 300 {
			next := maps.Clone(model)
			var changes []Change
			for range 1 + r.IntN(20) {
				k, v := int64(r.IntN(40)), int64(step*100+len(changes))
				row := zset.Row{k, v}
				_, in := next[k]
				switch {
				case r.IntN(3) == 0:
					changes = append(changes, Change{Op: Delete, Row: row})
					delete(next, k)
				case in:
					changes = append(changes, Change{Op: Update, Row: row})
					next[k] = v
				default:
					changes = append(changes, Change{Op: Insert, Row: row})
					next[k] = v
				}
			}
			d, ovs, err := tab.resolveSplit(nil, changes, 1, nil)
			if err != nil {
				t.Fatalf("parts %d step %d: %v", parts, step, err)
			}
			want := zset.New()
			for k, v := range model {
				want.Add(zset.Row{k, v}, -1)
			}
			for k, v := range next {
				want.Add(zset.Row{k, v}, 1)
			}
			got := zset.FromEntries(d...)
			got.AddAll(want, -1)
			if !got.IsEmpty() {
				t.Fatalf("parts %d step %d: the batch's Z-set is off by %v", parts, step, got.Entries())
			}
			applyOverlays(tab, ovs)
			model = next
			if tab.byKey.len() != len(model) {
				t.Fatalf("parts %d step %d: %d rows, want %d", parts, step, tab.byKey.len(), len(model))
			}
			for k, v := range model {
				if row := tab.byKey.get(string(tab.appendPK(nil, zset.Row{k}))); row == nil || row[1] != v {
					t.Fatalf("parts %d step %d: row of %d is %v, want %d", parts, step, k, row, v)
				}
			}
		}
	}
}

// TestTableResolveOne resolves batches of a single change, which resolve
// files in one object with its entries' room, against a table holding
// keys 1 to 9, whole or split, resolved whole (a batch below minBatch)
// or by partition: the batch must be the change's difference, full (an
// operator appending to it makes a new array), and the table after it
// as a map of the same change says.
func TestTableResolveOne(t *testing.T) {
	in := &ir.Input{Name: "t", PrimaryKey: []int{0}, Columns: []ir.Column{
		{Name: "k", Type: types.Type{Kind: types.Int8}},
		{Name: "v", Type: types.Type{Kind: types.Int8}},
	}}
	row := func(k, v int64) zset.Row { return zset.Row{k, v} }
	for _, tc := range []struct {
		name   string
		change Change
		want   []zset.Entry
		after  map[int64]int64 // the rows that differ from the load's
		gone   int64           // a key the change deletes
		fails  bool
	}{
		{"insert", Change{Op: Insert, Row: row(12, 20)}, []zset.Entry{{Row: row(12, 20), Weight: 1}}, map[int64]int64{12: 20}, 0, false},
		{"insert taken", Change{Op: Insert, Row: row(1, 11)}, nil, nil, 0, true},
		{"update", Change{Op: Update, Row: row(1, 11)}, []zset.Entry{{Row: row(1, 10), Weight: -1}, {Row: row(1, 11), Weight: 1}}, map[int64]int64{1: 11}, 0, false},
		{"update absent", Change{Op: Update, Row: row(12, 20)}, nil, nil, 0, false},
		{"delete", Change{Op: Delete, Row: row(7, 0)}, []zset.Entry{{Row: row(7, 70), Weight: -1}}, nil, 7, false},
		{"delete absent", Change{Op: Delete, Row: row(12, 0)}, nil, nil, 0, false},
	} {
		for _, parts := range []int{1, 2, 3} {
			for _, minBatch := range []int{1, 100} {
				t.Run(fmt.Sprintf("%s/parts=%d/min=%d", tc.name, parts, minBatch), func(t *testing.T) {
					tab := newTableState(in, false)
					tab.split(parts)
					want := map[int64]int64{}
					var load []Change
					for k := int64(1); k <= 9; k++ {
						load = append(load, Change{Op: Insert, Row: row(k, 10*k)})
						want[k] = 10 * k
					}
					_, ovs, err := tab.resolveSplit(nil, load, minBatch, nil)
					if err != nil {
						t.Fatal(err)
					}
					applyOverlays(tab, ovs)
					d, ovs, err := tab.resolveSplit(nil, []Change{tc.change}, minBatch, nil)
					if (err != nil) != tc.fails {
						t.Fatalf("error %v, want one: %v", err, tc.fails)
					}
					if tc.fails {
						return
					}
					if !zset.FromEntries(d...).Equal(zset.FromEntries(tc.want...)) || len(d) != len(tc.want) {
						t.Fatalf("batch %v, want %v", d, tc.want)
					}
					if cap(d) != len(d) {
						t.Fatalf("batch of %d has room for %d", len(d), cap(d))
					}
					applyOverlays(tab, ovs)
					maps.Copy(want, tc.after)
					delete(want, tc.gone)
					if tab.byKey.len() != len(want) {
						t.Fatalf("%d rows, want %d", tab.byKey.len(), len(want))
					}
					for k, v := range want {
						if got := tab.byKey.get(string(tab.appendPK(nil, zset.Row{k}))); got == nil || got[1] != v {
							t.Fatalf("row of %d is %v, want %d", k, got, v)
						}
					}
				})
			}
		}
	}
	// One allocation for the batch, its overlay and its key's change.
	tab := newTableState(in, false)
	changes := []Change{{Op: Insert, Row: row(3, 30)}}
	if allocs := testing.AllocsPerRun(100, func() { _, _, _ = tab.resolve(changes) }); allocs != 1 {
		t.Errorf("resolving one insert: %v allocations, want 1", allocs)
	}
}

// TestPKRowsKeepsRows checks that pkRows, which keeps a pointer to each
// row's first column, hands back the row it was given (its columns, in
// place, of its length, whatever its capacity), nil for a key it lost,
// and refuses a row of other columns than the table's rows.
func TestPKRowsKeepsRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows []zset.Row
	}{
		{"one column", []zset.Row{{int64(1)}, {int64(2)}}},
		{"three columns", []zset.Row{{int64(1), "a", nil}, {int64(2), "b", 1.5}}},
		{"room to spare", []zset.Row{append(make(zset.Row, 0, 8), int64(1), "a"), {int64(2), "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKRows([]int{0})
			for _, row := range tc.rows {
				p.set(string(p.appendKey(nil, row)), row)
			}
			for _, row := range tc.rows {
				key := string(p.appendKey(nil, row))
				got := p.get(key)
				if len(got) != len(row) || cap(got) != len(row) || &got[0] != &row[0] {
					t.Fatalf("row of %q: %v (len %d, cap %d), want %v itself", key, got, len(got), cap(got), row)
				}
				p.del(key)
				if got := p.get(key); got != nil {
					t.Fatalf("row of %q after its delete: %v", key, got)
				}
			}
			defer func() {
				if recover() == nil {
					t.Fatal("a row of other columns was taken")
				}
			}()
			p.set("x", append(slices.Clone(tc.rows[0]), "more"))
		})
	}
}

// TestPKRowsFill checks that a table of keys only added stays from a
// half to three quarters full as it grows (past its first 8 entries).
func TestPKRowsFill(t *testing.T) {
	p := newPKRows([]int{0})
	for k := range int64(100_000) {
		row := zset.Row{k}
		p.set(string(p.appendKey(nil, row)), row)
		if n := len(p.table); 4*p.used > 3*n || n > 8 && 2*p.used <= n {
			t.Fatalf("%d keys in a table of %d entries", p.used, n)
		}
	}
}

// applyOverlays applies the overlays resolveSplit returned, each
// partition's in turn, as a step's commit does side by side.
func applyOverlays(tab *tableState, o tableOverlays) {
	if tab.applyWhole(o) {
		for p := range o.split {
			tab.applyPart(o, p)
		}
	}
}
