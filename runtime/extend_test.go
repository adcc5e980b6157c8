package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// extendDecls are declarations a session adds one at a time: each new
// engine must hold, for every view, what an engine built from scratch
// over the same rows holds.
var extendDecls = []string{
	"table products (name text, price numeric, primary key (name))",
	"table items (basket int8, product text, qty int4, primary key (basket, product))",
	"view priced = items | join products on items.product == products.name | select { basket, total = price * qty }",
	"view baskets = priced | group by basket { total = sum(total), n = count() }",
	"view big = baskets | where total > 20",
	"view cheap = products | where price < 3 | select { name }",
	"view counts = items | group by product { n = count() }",
	"view cheapcounts = counts | join cheap on counts.product == cheap.name | select { product, n }",
	"view consts = values [{k = 1}, {k = 2}]",
	"view top2 = baskets | top 2 by total desc",
	"view unsold = products | anti join items on products.name == items.product",
	"view lines = items | join products on items.product == products.name | select { basket, product, qty }",
	// A top through the join of an earlier view: its nodes are its own.
	"view most = lines | top 1 by qty desc per basket",
}

func TestExtendComputesOnlyNewViews(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// On one worker, and on three splitting every batch.
	for _, opts := range []runtime.Options{{}, {Workers: 3, ParallelBatch: 1}} {
		for seed := range uint64(20) {
			r := rand.New(rand.NewPCG(seed, 7))
			var eng *runtime.Engine
			var prog *compile.Program
			for k := 2; k <= len(extendDecls); k++ {
				src := strings.Join(extendDecls[:k], "\n") + "\n"
				next, err := compile.Compile(ctx, "session.step", src, nil)
				if err != nil {
					t.Fatal(err)
				}
				if eng == nil {
					eng = runtime.NewWithOptions(next.Circuit, runtime.NewMemoryStore(), opts)
				} else {
					extended, _, ok, err := eng.Extend(ctx, next.Circuit, at)
					if err != nil {
						t.Fatalf("seed %d, extending with %q: %v", seed, extendDecls[k-1], err)
					}
					if !ok {
						t.Fatalf("seed %d: %q does not extend the program", seed, extendDecls[k-1])
					}
					eng = extended
				}
				prog = next
				for range 3 {
					if _, err := eng.StepAt(ctx, at, randomShopChanges(r)); err != nil {
						t.Fatal(err)
					}
				}
				compareWithScratch(t, ctx, fmt.Sprintf("seed %d, %d declarations, %d workers", seed, k, max(opts.Workers, 1)), prog, eng, at)
			}
		}
	}
}

// A new table, or a redefined view, changes what the old nodes are:
// Extend says so and changes nothing.
func TestExtendRefusesWhatIsNotAnExtension(t *testing.T) {
	ctx := context.Background()
	base := strings.Join(extendDecls[:4], "\n")
	old, err := compile.Compile(ctx, "s.step", base, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng := runtime.New(old.Circuit, runtime.NewMemoryStore())
	for _, src := range []string{
		"table extra (a int4)\n" + base,
		strings.Replace(base, "sum(total)", "max(total)", 1),
	} {
		next, err := compile.Compile(ctx, "s.step", src, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := eng.Extend(ctx, next.Circuit, time.Now()); ok || err != nil {
			t.Errorf("extended by a program that is no extension (%v):\n%s", err, src)
		}
	}
}

// randomShopChanges upserts and deletes products and items at random:
// an upsert is a delete of the key and an insert, in one step.
func randomShopChanges(r *rand.Rand) map[string][]runtime.Change {
	names := []string{"tv", "radio", "lamp", "desk"}
	changes := map[string][]runtime.Change{}
	seen := map[string]bool{}
	for range 1 + r.IntN(4) {
		name := names[r.IntN(len(names))]
		basket := int64(r.IntN(4))
		if r.IntN(2) == 0 {
			if seen["p"+name] {
				continue
			}
			seen["p"+name] = true
			changes["products"] = append(changes["products"], runtime.Change{Op: runtime.Delete, Row: zset.Row{name, nil}})
			if r.IntN(4) > 0 {
				price := decimal.New(int64(1+r.IntN(60)), -int32(r.IntN(2)))
				changes["products"] = append(changes["products"], runtime.Change{Op: runtime.Insert, Row: zset.Row{name, price}})
			}
			continue
		}
		key := fmt.Sprint("i", basket, name)
		if seen[key] {
			continue
		}
		seen[key] = true
		changes["items"] = append(changes["items"], runtime.Change{Op: runtime.Delete, Row: zset.Row{basket, name, nil}})
		if r.IntN(4) > 0 {
			changes["items"] = append(changes["items"], runtime.Change{Op: runtime.Insert, Row: zset.Row{basket, name, int64(1 + r.IntN(5))}})
		}
	}
	return changes
}

// compareWithScratch checks every view of eng against an engine built
// from scratch over eng's tables' rows.
func compareWithScratch(t *testing.T, ctx context.Context, what string, prog *compile.Program, eng *runtime.Engine, at time.Time) {
	t.Helper()
	scratch := runtime.New(prog.Circuit, runtime.NewMemoryStore())
	deltas := map[string]*zset.ZSet{}
	for _, in := range prog.Circuit.Inputs {
		rows, _ := eng.Contents(in.Name)
		deltas[in.Name] = rows.Clone()
	}
	if _, err := scratch.StepDeltaAt(ctx, at, deltas); err != nil {
		t.Fatal(err)
	}
	for _, v := range prog.Circuit.Views {
		got, _ := eng.Contents(v.Name)
		want, _ := scratch.Contents(v.Name)
		if !got.Equal(want) {
			t.Fatalf("%s: view %s holds\n%s\nwant\n%s", what, v.Name, show(got, v.Columns), show(want, v.Columns))
		}
	}
}

func show(z *zset.ZSet, cols []ir.Column) string {
	var b strings.Builder
	for _, e := range z.Entries() {
		for i, v := range e.Row {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(types.Format(v, cols[i].Type))
		}
		fmt.Fprintf(&b, " x%d\n", e.Weight)
	}
	return b.String()
}
