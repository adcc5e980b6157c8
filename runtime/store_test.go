package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
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
		case *ir.Aggregate, *ir.TopK:
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
		s := postgres.NewStore(schema)
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
			// array_agg(x order by k desc): items [k, x], one holding a
			// record, one a NULL key, two spelled apart (1.5, 1.50).
			items := runtime.NewItemMultiset([]bool{true})
			for _, it := range []runtime.ValueCount{
				{Value: []any{int64(2), []any{"a b", nil}}, Count: 1},
				{Value: []any{nil, []any{"z", int64(1)}}, Count: 2},
				{Value: []any{int64(1), decimal.RequireFromString("1.5")}, Count: 1},
				{Value: []any{int64(1), decimal.RequireFromString("1.50")}, Count: 1},
			} {
				items.ReplaceOrInsert(it)
			}
			st := &runtime.GroupState{Key: zset.Row{"x", nil}, Count: 3, Accs: []runtime.Accumulator{
				{NonNull: 3, Sum: decimal.RequireFromString("5.0"), Scales: []int64{0, 3}},
				{NonNull: 3, Values: ms},
				{NonNull: 2, Sum: 2.5},
				{NonNull: 3, Values: items, Order: &runtime.MultisetOrder{Ordered: true, Desc: []bool{true}}},
				{NonNull: 3, Sum: int64(1)},
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
			if a == nil || a.Count != 3 || types.CompareRows(a.Key, st.Key) != 0 || len(a.Accs) != 5 {
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
			// The items read back in the same order, in a multiset that
			// keeps ordering new items as the original does.
			o := a.Accs[3]
			if o.Order == nil || !o.Order.Ordered || !slices.Equal(o.Order.Desc, []bool{true}) {
				t.Fatalf("ordered accumulator read back with order %+v", o.Order)
			}
			o.Values.ReplaceOrInsert(runtime.ValueCount{Value: []any{int64(3), "new"}, Count: 1})
			var got3 []string
			o.Values.Ascend(func(vc runtime.ValueCount) bool {
				got3 = append(got3, fmt.Sprintf("%s x%d", types.Format(vc.Value, types.Type{}), vc.Count))
				return true
			})
			want3 := []string{`{NULL,"{z,1}"} x2`, "{3,new} x1", `{2,"{\"a b\",NULL}"} x1`, "{1,1.5} x1", "{1,1.50} x1"}
			if !slices.Equal(got3, want3) {
				t.Errorf("items read back as %v, want %v", got3, want3)
			}
			if a.Accs[4].Sum != int64(1) {
				t.Errorf("bool accumulator read back as %v", a.Accs[4].Sum)
			}
		})
	}
}

// TestStoreRanking writes a top-k group's ranking to each store and reads
// it back: its rows, their counts and its order, descending keys with
// NULLs first and rows equal but spelled differently told apart.
func TestStoreRanking(t *testing.T) {
	ctx := context.Background()
	dec := decimal.RequireFromString
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			store, step := k.open(t, stateIDs{groups: []int{2}})
			g := store.Groups(2)
			add := func(r *runtime.Ranking, sort []any, row zset.Row, n int64) {
				r.Rows.ReplaceOrInsert(runtime.RankedRow{Sort: sort, Row: row, Count: n})
			}
			r := runtime.NewRanking([]bool{true, false})
			add(r, []any{int64(3), nil}, zset.Row{"a", dec("1.50")}, 1)
			add(r, []any{int64(3), nil}, zset.Row{"a", dec("1.5")}, 2)
			add(r, []any{int64(5), "y"}, zset.Row{"c", dec("2")}, 1)
			add(r, []any{nil, "x"}, zset.Row{"b", nil}, 1)
			st := &runtime.GroupState{Key: zset.Row{int64(7)}, Count: 5, Ranked: r}
			must(t, step(func() error { return g.Put(ctx, []string{"k"}, []*runtime.GroupState{st}) }))
			var got []*runtime.GroupState
			must(t, step(func() (err error) {
				got, err = g.Get(ctx, []string{"k"})
				return err
			}))
			if got[0] == nil || got[0].Ranked == nil || got[0].Count != 5 {
				t.Fatalf("read back %+v, want a ranked group of count 5", got[0])
			}
			// A row added after the round trip must take its place.
			add(got[0].Ranked, []any{int64(4), nil}, zset.Row{"d", nil}, 1)
			var order []string
			got[0].Ranked.Rows.Ascend(func(it runtime.RankedRow) bool {
				order = append(order, fmt.Sprintf("%s x%d", types.Format(it.Row, types.Type{Kind: types.Record}), it.Count))
				return true
			})
			want := []string{"(b,) x1", "(c,2) x1", "(d,) x1", "(a,1.5) x2", "(a,1.50) x1"}
			if strings.Join(order, "; ") != strings.Join(want, "; ") {
				t.Errorf("ranking read back as\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
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
	prog, err := compile.Compile(context.Background(), "clock.step", `
table e (id int4, cat text, at timestamp, primary key (id))
view week = e | where at > now() - interval "7 days" and at <= now() | group by cat { n = count() }
view ages = e | select { id, age = now() - at }
`, nil)
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

// TestStoresAgree drives programs on each store with the same random
// stream of changes and requires the same view changes from both at every
// step: the shop, and programs keeping the multisets of ordered and
// distinct aggregates, records and nested groups.
func TestStoresAgree(t *testing.T) {
	shop, err := os.ReadFile("../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	comments, err := os.ReadFile("../examples/comments.step")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("shop", func(t *testing.T) { storesAgree(t, string(shop), shopChanges()) })
	t.Run("comments", func(t *testing.T) { storesAgree(t, string(comments), nil) })
	t.Run("numeric_keys", func(t *testing.T) {
		storesAgree(t, "table g (id int4, n numeric?, v int4, primary key (id))\nview by_n = g | group by n { c = count(), s = sum(v) }\n", nil)
	})
	t.Run("aggregates", func(t *testing.T) {
		storesAgree(t, `
table g (id int4, k int4, o int4?, v text?, n numeric?, b bool?, primary key (id))
view agg = g | group by k {
    cd = count(distinct v), cdn = count(distinct n), ba = bool_and(b), bo = bool_or(b),
    vs = array_agg(v), ns = array_agg(n order by o desc, id), s = string_agg(v, "," order by o),
    f = first(n order by o), l = last(v order by o, id desc), rows = array_agg({o, v} order by v desc)
  }
view per = agg | group by cd { ks = array_agg(k), firsts = array_agg(f) }
`, nil)
	})
}

// storesAgree runs src on every store kind. changes gives each step's
// changes; nil means random inserts, updates and deletes by primary key.
func storesAgree(t *testing.T, src string, changes func(r *rand.Rand) map[string]*zset.ZSet) {
	prog, err := compile.Compile(context.Background(), "test.step", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if changes == nil {
		changes = keyedChanges(prog)
	}
	ids := stateIDsOf(prog.Circuit)
	ctx := context.Background()
	type run struct {
		eng  *runtime.Engine
		step func(func() error) error
	}
	var runs []run
	for _, k := range storeKinds {
		store, step := k.open(t, ids)
		runs = append(runs, run{runtime.NewWithOptions(prog.Circuit, store, runtime.Options{NoContents: true}), step})
	}
	r := rand.New(rand.NewPCG(1, 2))
	changed := 0
	for stepNo := 0; stepNo < 60; stepNo++ {
		deltas := changes(r)
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
		changed += len(results[0].Changes)
	}
	if changed == 0 {
		t.Fatal("no view ever changed")
	}
}

// shopChanges changes products and line items at random.
func shopChanges() func(r *rand.Rand) map[string]*zset.ZSet {
	products := map[string]decimal.Decimal{}
	items := map[[2]any]int64{}
	names := []string{"tv", "radio", "lamp"}
	return func(r *rand.Rand) map[string]*zset.ZSet {
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
		return deltas
	}
}

// keyedChanges replaces, inserts and deletes rows of a program's tables
// by their first column, with random values from small domains (NULL now
// and then where allowed), so that groups and join keys collide.
func keyedChanges(prog *compile.Program) func(r *rand.Rand) map[string]*zset.ZSet {
	rows := map[string]map[int64]zset.Row{}
	value := func(r *rand.Rand, t types.Type) any {
		if t.Nullable && r.IntN(5) == 0 {
			return nil
		}
		switch t.Kind {
		case types.Bool:
			return r.IntN(2) == 0
		case types.Int2, types.Int4, types.Int8:
			return int64(r.IntN(4))
		case types.Numeric:
			return decimal.New(int64(r.IntN(30)), -int32(r.IntN(2)))
		case types.Text:
			return []string{"a", "b c", "d,e", `f"g`, ""}[r.IntN(5)]
		case types.Timestamp:
			return time.Date(2024, 3, 1+r.IntN(3), r.IntN(3), 0, 0, 0, time.UTC)
		}
		panic("keyedChanges: no values of type " + t.String())
	}
	return func(r *rand.Rand) map[string]*zset.ZSet {
		deltas := map[string]*zset.ZSet{}
		for _, in := range prog.Circuit.Inputs {
			if rows[in.Name] == nil {
				rows[in.Name] = map[int64]zset.Row{}
			}
			have := rows[in.Name]
			d := zset.New()
			for range r.IntN(4) {
				id := int64(r.IntN(8))
				if old, ok := have[id]; ok {
					d.Add(old, -1)
					delete(have, id)
				}
				if r.IntN(3) == 0 {
					continue
				}
				row := zset.Row{id}
				for _, c := range in.Columns[1:] {
					row = append(row, value(r, c.Type))
				}
				have[id] = row
				d.Add(row, 1)
			}
			deltas[in.Name] = d
		}
		return deltas
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
