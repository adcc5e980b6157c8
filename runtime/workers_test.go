package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// workerEngines returns an engine of src on one worker and one on each of
// the options given.
func workerEngines(t *testing.T, src string, opts ...runtime.Options) (*compile.Program, *runtime.Engine, []*runtime.Engine) {
	t.Helper()
	prog, err := compile.Compile(context.Background(), "w.step", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var several []*runtime.Engine
	for _, o := range opts {
		several = append(several, runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), o))
	}
	return prog, runtime.New(prog.Circuit, runtime.NewMemoryStore()), several
}

// sameContents fails unless every table and view of the engines holds
// the same rows.
func sameContents(t *testing.T, step int, prog *compile.Program, one, several *runtime.Engine) {
	t.Helper()
	var names []string
	for _, in := range prog.Circuit.Inputs {
		names = append(names, in.Name)
	}
	for _, v := range prog.Circuit.Views {
		names = append(names, v.Name)
	}
	for _, name := range names {
		a, _ := one.Contents(name)
		b, _ := several.Contents(name)
		if !a.Equal(b) {
			t.Fatalf("step %d: %s holds %d rows on one worker and %d on several; differing:\n%v", step, name, a.Len(), b.Len(), a.Minus(b).Entries())
		}
	}
}

// TestWorkersBigBatches runs the shop program on one worker and on two
// and four, with batches big enough that every stateful operator and the
// tables split theirs in chunks over the workers, and checks that every
// step changes the views alike and leaves the same contents.
func TestWorkersBigBatches(t *testing.T) {
	src, err := os.ReadFile("../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	prog, one, several := workerEngines(t, string(src), runtime.Options{Workers: 2}, runtime.Options{Workers: 4})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	const products, baskets = 300, 2000
	product := func(i int) string { return fmt.Sprintf("p%03d", i) }
	var steps []map[string][]runtime.Change
	var ps []runtime.Change
	for i := range products {
		ps = append(ps, runtime.Change{Op: runtime.Insert, Row: zset.Row{product(i), decimal.New(int64(100+i), -2)}})
	}
	steps = append(steps, map[string][]runtime.Change{"products": ps})
	held := map[[2]int64]bool{}
	for range 6 {
		var items, prices []runtime.Change
		for range 5000 {
			k := [2]int64{rng.Int64N(baskets), rng.Int64N(products)}
			row := zset.Row{k[0], product(int(k[1])), int64(1 + rng.IntN(4))}
			switch {
			case held[k] && rng.IntN(3) == 0:
				items = append(items, runtime.Change{Op: runtime.Delete, Row: row})
				delete(held, k)
			case held[k]:
				items = append(items, runtime.Change{Op: runtime.Update, Row: row})
			default:
				items = append(items, runtime.Change{Op: runtime.Insert, Row: row})
				held[k] = true
			}
		}
		for range 400 {
			i := rng.IntN(products)
			prices = append(prices, runtime.Change{Op: runtime.Update, Row: zset.Row{product(i), decimal.New(rng.Int64N(10_000), -2)}})
		}
		steps = append(steps, map[string][]runtime.Change{"line_items": items, "products": prices})
		// and a small step, on one worker whatever the engine's number
		steps = append(steps, map[string][]runtime.Change{"products": prices[:1]})
	}
	for i, st := range steps {
		want, err := one.Step(ctx, st)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		for _, eng := range several {
			got, err := eng.Step(ctx, st)
			if err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
			for _, v := range prog.Circuit.Views {
				a, b := want.Changes[v.Name], got.Changes[v.Name]
				if (a == nil) != (b == nil) || a != nil && !a.Equal(b) {
					t.Fatalf("step %d: view %s changes differ between one worker and several", i+1, v.Name)
				}
			}
			sameContents(t, i+1, prog, one, eng)
		}
	}
}

// TestWorkersFailingStep checks that a step failing on several workers
// commits nothing, though most workers' shares of the operator that
// fails succeed, and fails with the error it fails with on one worker;
// and that the engines go on alike.
func TestWorkersFailingStep(t *testing.T) {
	const src = `
table t (id int4, g int4, d int4, primary key (id))
view per = t | group by g { s = sum(100 / d), n = count() }
table u (g int4, label text, primary key (g))
view joined = t | join u on t.g == u.g | group by label { rows = count(), total = sum(d) }
`
	for _, opts := range []runtime.Options{{Workers: 4}, {Workers: 4, ParallelBatch: 1}, {Workers: 3}} {
		t.Run(fmt.Sprintf("workers=%d,batch=%d", opts.Workers, opts.ParallelBatch), func(t *testing.T) {
			prog, one, several := workerEngines(t, src, opts)
			eng := several[0]
			ctx := context.Background()
			var load, bad, labels []runtime.Change
			for g := range 50 {
				labels = append(labels, runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(g), fmt.Sprint("g", g%7)}})
			}
			for i := range 3000 {
				load = append(load, runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(i), int64(i % 50), int64(1 + i%7)}})
			}
			for i := range 3000 {
				d := int64(1 + i%5)
				if i == 1234 || i == 2345 {
					d = 0 // two bad rows, in different groups
				}
				bad = append(bad, runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(10_000 + i), int64(i % 50), d}})
			}
			for _, e := range []*runtime.Engine{one, eng} {
				if _, err := e.Step(ctx, map[string][]runtime.Change{"t": load, "u": labels}); err != nil {
					t.Fatal(err)
				}
			}
			before := map[string]*zset.ZSet{}
			for _, name := range []string{"t", "u", "per", "joined"} {
				z, _ := eng.Contents(name)
				before[name] = z.Clone()
			}
			_, errOne := one.Step(ctx, map[string][]runtime.Change{"t": bad})
			_, err := eng.Step(ctx, map[string][]runtime.Change{"t": bad})
			if err == nil || errOne == nil || err.Error() != errOne.Error() {
				t.Fatalf("the bad step failed with\n%v\non several workers, and with\n%v\non one", err, errOne)
			}
			for name, z := range before {
				if after, _ := eng.Contents(name); !after.Equal(z) {
					t.Fatalf("the failed step changed %s", name)
				}
			}
			if eng.Steps() != 1 {
				t.Fatalf("the failed step was counted: %d steps", eng.Steps())
			}
			// The state is as it was: the same rows without the bad
			// ones step alike on both.
			good := append(append([]runtime.Change{}, bad[:1234]...), bad[1235:2345]...)
			for _, e := range []*runtime.Engine{one, eng} {
				if _, err := e.Step(ctx, map[string][]runtime.Change{"t": good}); err != nil {
					t.Fatal(err)
				}
			}
			sameContents(t, 3, prog, one, eng)
		})
	}
}

// TestResultsOutliveSteps keeps every step's Result of an engine on
// workers, whose operators join up changes in arenas reused from step
// to step, and checks after the last step that each still reads as it
// did when its step returned: no view's changes may live in an arena.
// The program has an aggregate view that another aggregate alone reads,
// a join only an aggregate reads, and a view that is a table.
func TestResultsOutliveSteps(t *testing.T) {
	const src = `
table items (id int8, basket int8, product int8, qty int8, primary key (id))
table prices (product int8, price int8, primary key (product))
view totals = items | join prices on items.product == prices.product | group by basket { total = sum(price * qty), n = count() }
view sizes = totals | group by n { baskets = count(), spent = sum(total) }
view listed = items
`
	prog, err := compile.Compile(context.Background(), "w.step", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{Workers: 2, ParallelBatch: 1})
	one := runtime.New(prog.Circuit, runtime.NewMemoryStore())
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	type kept struct {
		res, want *runtime.Result // on two workers, and on one
		listed    []string        // the table's changes, from the step's
	}
	var results []kept
	held := map[int64]zset.Row{}
	for step := range 30 {
		changes := map[string][]runtime.Change{}
		if step == 0 {
			for p := range int64(20) {
				changes["prices"] = append(changes["prices"], runtime.Change{Op: runtime.Insert, Row: zset.Row{p, 1 + p}})
			}
		} else {
			p := rng.Int64N(20)
			changes["prices"] = []runtime.Change{{Op: runtime.Update, Row: zset.Row{p, 1 + rng.Int64N(50)}}}
		}
		var listed []string
		for range 200 {
			id := rng.Int64N(1000)
			if slices.ContainsFunc(changes["items"], func(c runtime.Change) bool { return c.Row[0] == id }) {
				continue
			}
			if old, ok := held[id]; ok {
				changes["items"] = append(changes["items"], runtime.Change{Op: runtime.Delete, Row: old})
				listed = append(listed, fmt.Sprint(old, -1))
				delete(held, id)
				continue
			}
			row := zset.Row{id, rng.Int64N(100), rng.Int64N(20), 1 + rng.Int64N(3)}
			changes["items"] = append(changes["items"], runtime.Change{Op: runtime.Insert, Row: row})
			listed = append(listed, fmt.Sprint(row, 1))
			held[id] = row
		}
		slices.Sort(listed)
		res, err := eng.Step(ctx, changes)
		if err != nil {
			t.Fatalf("step %d: %v", step+1, err)
		}
		want, err := one.Step(ctx, changes)
		if err != nil {
			t.Fatalf("step %d: %v", step+1, err)
		}
		results = append(results, kept{res, want, listed})
		// Each step's changes as they are now: this one's as it
		// returned, the earlier ones' after later steps.
		for i, k := range results {
			// The engines' changes to a view that is a table are
			// checked against the step's changes themselves, as on one
			// worker too the table's changes may live in an arena.
			for _, r := range []*runtime.Result{k.res, k.want} {
				if got := sorted(r.Changes["listed"]); !slices.Equal(got, k.listed) {
					t.Fatalf("after step %d, step %d's changes to listed read %v, want %v", step+1, i+1, got, k.listed)
				}
			}
			for _, v := range prog.Circuit.Views {
				a, b := k.want.Changes[v.Name], k.res.Changes[v.Name]
				if (a == nil) != (b == nil) || a != nil && fmt.Sprint(sorted(a)) != fmt.Sprint(sorted(b)) {
					t.Fatalf("after step %d, step %d's changes to %s read %v, want %v", step+1, i+1, v.Name, sorted(b), sorted(a))
				}
			}
		}
	}
}

// sorted returns z's entries as text, in order, without changing z (a
// Z-set's entries may be read straight from the changes that made it).
func sorted(z *zset.ZSet) []string {
	var out []string
	for _, e := range z.Entries() {
		out = append(out, fmt.Sprint(e.Row, e.Weight))
	}
	slices.Sort(out)
	return out
}
