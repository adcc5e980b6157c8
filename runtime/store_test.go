package runtime_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// storeKind is one Store implementation under the shared suite. step runs
// f inside whatever transaction the store needs, committing when f
// succeeds.
type storeKind struct {
	name string
	open func(t *testing.T, ids stateIDs) (runtime.Store, func(f func() error) error)
}

// stateIDs are the IDs of a circuit's stateful nodes, by kind of state.
type stateIDs struct{ index, groups, ordered []int }

func stateIDsOf(c *ir.Circuit) stateIDs {
	var ids stateIDs
	for _, n := range c.Nodes {
		switch n.Op.(type) {
		case *ir.Integrate:
			ids.index = append(ids.index, n.ID)
		case *ir.Aggregate:
			ids.groups = append(ids.groups, n.ID)
		case *ir.OrderedIntegrate:
			ids.ordered = append(ids.ordered, n.ID)
		}
	}
	return ids
}

var storeKinds = []storeKind{
	{"memory", func(t *testing.T, _ stateIDs) (runtime.Store, func(func() error) error) {
		return runtime.NewMemoryStore(), func(f func() error) error { return f() }
	}},
	{"postgres", func(t *testing.T, ids stateIDs) (runtime.Store, func(func() error) error) {
		pool, schema := pgtest.Schema(t)
		ctx := context.Background()
		s := runtime.NewPGStore(schema)
		for _, ddl := range s.StateTableDDL(ids.index, ids.groups, ids.ordered) {
			if _, err := pool.Exec(ctx, ddl); err != nil {
				t.Fatal(err)
			}
		}
		return s, func(f func() error) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				s.Begin(tx)
				return f()
			})
		}
	}},
}

func TestStoreIndex(t *testing.T) {
	ctx := context.Background()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			store, step := k.open(t, stateIDs{index: []int{1}})
			ix := store.Index(1)
			row := func(a int64, b string) zset.Row { return zset.Row{a, b, decimal.RequireFromString("1.50")} }
			change := func(key string, r zset.Row, w int64) runtime.KeyedChange {
				return runtime.KeyedChange{Key: key, RowKey: types.RowKey(r), Row: r, Weight: w}
			}
			must(t, step(func() error {
				return ix.Update(ctx, []runtime.KeyedChange{
					change("k1", row(1, "a"), 1), change("k1", row(2, "b"), 2),
					change("k2", row(3, "c"), 1), change("k1", row(1, "a"), 1),
				})
			}))
			must(t, step(func() error {
				return ix.Update(ctx, []runtime.KeyedChange{change("k2", row(3, "c"), -1), change("k1", row(2, "b"), -1)})
			}))
			var got [][]zset.Entry
			must(t, step(func() (err error) {
				got, err = ix.Lookup(ctx, []string{"k1", "k2", "absent"})
				return err
			}))
			k1 := zset.FromEntries(got[0]...)
			want := zset.FromEntries(zset.Entry{Row: row(1, "a"), Weight: 2}, zset.Entry{Row: row(2, "b"), Weight: 1})
			if !k1.Equal(want) || len(got[1]) != 0 || len(got[2]) != 0 {
				t.Fatalf("lookup gave %v, want k1=%v and nothing else", got, want.Entries())
			}
			for _, e := range got[0] {
				if s := types.FormatNumeric(e.Row[2].(decimal.Decimal)); s != "1.50" {
					t.Errorf("numeric read back as %s, want 1.50", s)
				}
			}
		})
	}
}

func TestStoreGroups(t *testing.T) {
	ctx := context.Background()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			store, step := k.open(t, stateIDs{groups: []int{4}})
			g := store.Groups(4)
			ms := runtime.NewMultiset()
			ms.ReplaceOrInsert(runtime.ValueCount{Value: int64(3), Count: 2})
			ms.ReplaceOrInsert(runtime.ValueCount{Value: int64(-1), Count: 1})
			st := &runtime.GroupState{Key: zset.Row{"x", nil}, Count: 3, Accs: []runtime.Accumulator{
				{NonNull: 3, Sum: decimal.RequireFromString("5.0"), Scales: []int64{0, 3}},
				{NonNull: 3, Values: ms},
				{NonNull: 2, Sum: 2.5},
			}}
			must(t, step(func() error {
				return g.Put(ctx, []string{"a", "b"}, []*runtime.GroupState{st, {Key: zset.Row{"y"}, Count: 0}})
			}))
			var got []*runtime.GroupState
			must(t, step(func() (err error) {
				got, err = g.Get(ctx, []string{"a", "b"})
				return err
			}))
			if got[1] != nil {
				t.Errorf("a group of count 0 was kept: %+v", got[1])
			}
			a := got[0]
			if a == nil || a.Count != 3 || types.CompareRows(a.Key, st.Key) != 0 || len(a.Accs) != 3 {
				t.Fatalf("got %+v, want %+v", a, st)
			}
			if s := types.FormatNumeric(a.Accs[0].Sum.(decimal.Decimal)); s != "5.0" || len(a.Accs[0].Scales) != 2 || a.Accs[0].Scales[1] != 3 {
				t.Errorf("sum accumulator read back as %s %v", s, a.Accs[0].Scales)
			}
			if m, _ := a.Accs[1].Values.Min(); m.Value != int64(-1) || a.Accs[1].Values.Len() != 2 {
				t.Errorf("multiset read back with min %v and %d values", m.Value, a.Accs[1].Values.Len())
			}
			if a.Accs[2].Sum != 2.5 {
				t.Errorf("float sum read back as %v", a.Accs[2].Sum)
			}
		})
	}
}

func TestStoreOrdered(t *testing.T) {
	ctx := context.Background()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			store, step := k.open(t, stateIDs{ordered: []int{7}})
			ix := store.Ordered(7)
			change := func(v int64, tag string, w int64) runtime.OrderedChange {
				r := zset.Row{v, tag}
				key, _ := types.OrderKey(v)
				return runtime.OrderedChange{Key: key, RowKey: types.RowKey(r), Row: r, Weight: w}
			}
			must(t, step(func() error {
				return ix.Update(ctx, []runtime.OrderedChange{
					change(-5, "a", 1), change(3, "b", 2), change(3, "c", 1), change(10, "d", 1), change(300, "e", 1),
				})
			}))
			must(t, step(func() error {
				return ix.Update(ctx, []runtime.OrderedChange{change(3, "c", -1), change(10, "d", 1)})
			}))
			key := func(v int64) []byte { k, _ := types.OrderKey(v); return k }
			var got []zset.Entry
			must(t, step(func() (err error) {
				got, err = ix.Range(ctx, key(-5), key(10))
				return err
			}))
			want := []zset.Entry{{Row: zset.Row{int64(-5), "a"}, Weight: 1}, {Row: zset.Row{int64(3), "b"}, Weight: 2}, {Row: zset.Row{int64(10), "d"}, Weight: 2}}
			if !zset.FromEntries(got...).Equal(zset.FromEntries(want...)) {
				t.Fatalf("range [-5, 10] gave %v, want %v", got, want)
			}
			must(t, step(func() (err error) {
				got, err = ix.Range(ctx, key(11), key(299))
				return err
			}))
			if len(got) != 0 {
				t.Fatalf("range [11, 299] gave %v, want nothing", got)
			}
		})
	}
}

// TestStoresAgreeClock drives a program that reads the clock, with a
// temporal filter and a cross join with the clock, on each store, with
// the same random changes and clock moves.
func TestStoresAgreeClock(t *testing.T) {
	prog, err := stepping.Compile("clock.step", `
table e (id int4, cat text, at timestamp, primary key (id))
view week = e | where at > now() - interval "7 days" and at <= now() | group by cat { n = count() }
view ages = e | select { id, age = now() - at }
`)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	type run struct {
		eng  *runtime.Engine
		step func(func() error) error
	}
	var runs []run
	for _, k := range storeKinds {
		store, step := k.open(t, stateIDsOf(prog.Circuit))
		runs = append(runs, run{runtime.NewWithOptions(prog.Circuit, store, runtime.Options{NoContents: true}), step})
	}
	r := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := map[int64]zset.Row{}
	for stepNo := 0; stepNo < 60; stepNo++ {
		now = now.Add(time.Duration(r.IntN(50)) * time.Hour)
		d := zset.New()
		for range r.IntN(4) {
			id := int64(r.IntN(10))
			if old, ok := rows[id]; ok {
				d.Add(old, -1)
				delete(rows, id)
				continue
			}
			row := zset.Row{id, []string{"a", "b"}[r.IntN(2)], now.Add(-time.Duration(r.IntN(200)) * time.Hour)}
			rows[id] = row
			d.Add(row, 1)
		}
		var results []*runtime.Result
		for _, rn := range runs {
			var res *runtime.Result
			must(t, rn.step(func() (err error) {
				res, err = rn.eng.StepDeltaAt(ctx, now, map[string]*zset.ZSet{"e": d})
				return err
			}))
			results = append(results, res)
		}
		for view, want := range results[0].Changes {
			if got := results[1].Changes[view]; got == nil || !got.Equal(want) {
				t.Fatalf("step %d: view %s: memory store gave %v, Postgres store %v", stepNo+1, view, want.Entries(), got)
			}
		}
		if len(results[0].Changes) != len(results[1].Changes) {
			t.Fatalf("step %d: the stores changed different views", stepNo+1)
		}
	}
}

// TestStoresAgree drives the shop program on each store with the same
// random stream of changes and requires the same view changes from both
// at every step.
func TestStoresAgree(t *testing.T) {
	src, err := os.ReadFile("../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := stepping.Compile("shop.step", string(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	type run struct {
		eng  *runtime.Engine
		step func(func() error) error
	}
	var runs []run
	for _, k := range storeKinds {
		store, step := k.open(t, stateIDsOf(prog.Circuit))
		runs = append(runs, run{runtime.NewWithOptions(prog.Circuit, store, runtime.Options{NoContents: true}), step})
	}
	r := rand.New(rand.NewPCG(1, 2))
	products := map[string]decimal.Decimal{}
	items := map[[2]any]int64{}
	names := []string{"tv", "radio", "lamp"}
	for stepNo := 0; stepNo < 60; stepNo++ {
		deltas := map[string]*zset.ZSet{"products": zset.New(), "line_items": zset.New()}
		for range 1 + r.IntN(4) {
			name := names[r.IntN(len(names))]
			if old, ok := products[name]; ok {
				deltas["products"].Add(zset.Row{name, old}, -1)
				delete(products, name)
			}
			if r.IntN(3) > 0 {
				price := decimal.New(int64(100+r.IntN(900)), -int32(1+r.IntN(2)))
				products[name] = price
				deltas["products"].Add(zset.Row{name, price}, 1)
			}
			key := [2]any{int64(r.IntN(4)), names[r.IntN(len(names))]}
			if qty, ok := items[key]; ok {
				deltas["line_items"].Add(zset.Row{key[0], key[1], qty}, -1)
				delete(items, key)
			} else {
				qty := int64(1 + r.IntN(3))
				items[key] = qty
				deltas["line_items"].Add(zset.Row{key[0], key[1], qty}, 1)
			}
		}
		var results []*runtime.Result
		for _, rn := range runs {
			var res *runtime.Result
			must(t, rn.step(func() (err error) {
				res, err = rn.eng.StepDelta(ctx, deltas)
				return err
			}))
			results = append(results, res)
		}
		for view, want := range results[0].Changes {
			if got := results[1].Changes[view]; got == nil || !got.Equal(want) {
				t.Fatalf("step %d: view %s: memory store gave %v, Postgres store %v", stepNo+1, view, want.Entries(), got)
			}
		}
		if len(results[0].Changes) != len(results[1].Changes) {
			t.Fatalf("step %d: the stores changed different views", stepNo+1)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
