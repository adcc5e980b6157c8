package stepping_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// exampleOptions are the engines TestExamples runs each example on.
var exampleOptions = []runtime.Options{{}, {Workers: 4, ParallelBatch: 1}}

// TestExamples runs every examples/NAME.step that has a data directory
// examples/NAME/ through Compile and the in-memory runtime, step by step,
// and checks:
//   - every step succeeds;
//   - each view's contents are the sum of the changes the steps returned;
//   - the incremental result equals a run from scratch over the final
//     contents of the tables, integrate(output) == query(integrate(inputs));
//   - the outputs, printed as stepq run prints them, are exactly
//     examples/NAME/expected.txt when that file exists.
//
// It runs each example on one worker and on four, the changes of every
// stateful operator split over them however few.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("examples", "*.step"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, file := range files {
		dir := strings.TrimSuffix(file, ".step")
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		ran++
		for _, opts := range exampleOptions {
			t.Run(fmt.Sprintf("%s/workers=%d", filepath.Base(dir), max(opts.Workers, 1)), func(t *testing.T) {
				prog := compileExample(t, file)
				batches, err := runtime.LoadChangeDir(dir, true, prog.Circuit.Inputs)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), opts)
				sums := map[string]*zset.ZSet{}
				for _, v := range prog.Circuit.Views {
					sums[v.Name] = zset.New()
				}
				// The clock of a step is the _clock file's, or, without one,
				// the wall clock at the first step, so that a run from
				// scratch sees the same time.
				clock := time.Now()
				for _, step := range batches.Steps {
					at, ok, err := batches.ClockAt(step)
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						clock = at
					}
					res, err := eng.StepAt(ctx, clock, batches.Changes[step])
					if err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					for name, d := range res.Changes {
						sums[name].AddAll(d, 1)
					}
				}

				// A fresh engine given the tables' final contents in one step.
				scratch := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), opts)
				all := map[string][]runtime.Change{}
				for _, in := range prog.Circuit.Inputs {
					rows, _ := eng.Contents(in.Name)
					for _, e := range rows.Entries() {
						for range e.Weight {
							all[in.Name] = append(all[in.Name], runtime.Change{Op: runtime.Insert, Row: e.Row})
						}
					}
				}
				if _, err := scratch.StepAt(ctx, clock, all); err != nil {
					t.Fatalf("from scratch: %v", err)
				}

				for _, v := range prog.Circuit.Views {
					got, ok := eng.Contents(v.Name)
					if !ok {
						t.Fatalf("no contents for view %s", v.Name)
					}
					if got.HasNegative() {
						t.Errorf("view %s has rows of negative weight:\n%s", v.Name, table(t, v.Name, prog, got))
					}
					if !got.Equal(sums[v.Name]) {
						t.Errorf("view %s: contents differ from the sum of its changes\ncontents:\n%s\nsum of changes:\n%s",
							v.Name, table(t, v.Name, prog, got), table(t, v.Name, prog, sums[v.Name]))
					}
					want, _ := scratch.Contents(v.Name)
					if !got.Equal(want) {
						t.Errorf("view %s: incremental result differs from a run from scratch\nincremental:\n%s\nfrom scratch:\n%s",
							v.Name, table(t, v.Name, prog, got), table(t, v.Name, prog, want))
					}
				}

				expected := filepath.Join(dir, "expected.txt")
				want, err := os.ReadFile(expected)
				if errors.Is(err, os.ErrNotExist) {
					t.Logf("%s: no expected.txt, outputs not compared", dir)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := outputs(t, prog, eng); got != string(want) {
					t.Errorf("outputs differ from %s\n--- got\n%s\n--- want\n%s", expected, got, want)
				}
			})
		}
	}
	if ran == 0 {
		t.Fatal("no examples/*.step with a data directory")
	}
}

func compileExample(t testing.TB, file string) *compile.Program {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := compile.Compile(context.Background(), filepath.ToSlash(file), string(src), nil)
	var list lang.ErrorList
	if errors.As(err, &list) {
		t.Fatalf("%s does not compile:\n%s", file, list.Format(string(src)))
	}
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// outputs prints the program's outputs as stepq run does: each under a
// heading with its name, separated by blank lines.
func outputs(t *testing.T, prog *compile.Program, eng *runtime.Engine) string {
	var b strings.Builder
	for i, v := range prog.OutputViews() {
		if i > 0 {
			b.WriteString("\n")
		}
		rows, _ := eng.Contents(v.Name)
		b.WriteString(v.Name + "\n")
		b.WriteString(table(t, v.Name, prog, rows))
	}
	return b.String()
}

func table(t *testing.T, view string, prog *compile.Program, z *zset.ZSet) string {
	t.Helper()
	var b strings.Builder
	if err := tablefmt.Write(&b, prog.View(view).Columns, z, z.HasNegative()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGraphSteps runs examples/graph step by step and checks reach after
// each step against pairs worked out by hand: a cycle made (step 2),
// broken by removing one edge (3), a larger one made (4), an edge removed
// whose pairs every one have another path (5: no change at all), and the
// last cycle broken while a new small one is made (6).
func TestGraphSteps(t *testing.T) {
	prog := compileExample(t, "examples/graph.step")
	batches, err := runtime.LoadChangeDir("examples/graph", true, prog.Circuit.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	all := "aa ab ac ad ae ba bb bc bd be ca cb cc cd ce da db dc dd de ea eb ec ed ee"
	want := map[int64]string{
		1: "ab ac ad bc bd cd",
		2: "ab ac ad ae bb bc bd be cb cc cd ce db dc dd de",
		3: "ab ac bc db dc de",
		4: all,
		5: all,
		6: "ab ac ad ae bc bd be cc cd ce dc dd de",
	}
	ctx := context.Background()
	eng := prog.NewEngine(runtime.NewMemoryStore())
	for _, step := range batches.Steps {
		res, err := eng.Step(ctx, batches.Changes[step])
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		reach, _ := eng.Contents("reach")
		var pairs []string
		for _, e := range reach.Entries() {
			pairs = append(pairs, e.Row[0].(string)+e.Row[1].(string))
		}
		if got := strings.Join(pairs, " "); got != want[step] {
			t.Errorf("step %d: reach is\n%s\nwant\n%s", step, got, want[step])
		}
		if step == 5 && res.Changes["reach"] != nil {
			t.Errorf("step 5 changed reach by %v; every pair still has a path", res.Changes["reach"].Entries())
		}
	}
}

// Example compiles a program, runs two steps of changes through it and
// reads a view. The second step changes one price; only the basket that
// holds the product changes.
func Example() {
	const src = `
table products (name text, price numeric, primary key (name))
table line_items (basket_id int8, product_name text, qty int4, primary key (basket_id, product_name))

view basket_totals =
  line_items
  | join products on line_items.product_name == products.name
  | group by line_items.basket_id { total = sum(products.price * line_items.qty) }
`
	prog, err := compile.Compile(context.Background(), "shop.step", src, nil)
	if err != nil {
		fmt.Print(err.(lang.ErrorList).Format(src))
		return
	}
	eng := prog.NewEngine(runtime.NewMemoryStore())
	ctx := context.Background()
	price := decimal.RequireFromString

	_, err = eng.Step(ctx, map[string][]runtime.Change{
		"products": {
			{Op: runtime.Insert, Row: zset.Row{"tv", price("3.0")}},
			{Op: runtime.Insert, Row: zset.Row{"radio", price("5.0")}},
		},
		"line_items": {
			{Op: runtime.Insert, Row: zset.Row{int64(1), "radio", int64(4)}},
			{Op: runtime.Insert, Row: zset.Row{int64(1), "tv", int64(1)}},
			{Op: runtime.Insert, Row: zset.Row{int64(2), "radio", int64(2)}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := eng.Step(ctx, map[string][]runtime.Change{
		"products": {{Op: runtime.Update, Row: zset.Row{"tv", price("4.0")}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cols := prog.View("basket_totals").Columns
	fmt.Println("changes of step 2:")
	tablefmt.Write(os.Stdout, cols, res.Changes["basket_totals"], true)
	rows, _ := eng.Contents("basket_totals")
	fmt.Println("basket_totals:")
	tablefmt.Write(os.Stdout, cols, rows, false)
	// Output:
	// changes of step 2:
	//  basket_id | total | weight
	// -----------+-------+--------
	//          1 |  23.0 |     -1
	//          1 |  24.0 |      1
	// (2 rows)
	// basket_totals:
	//  basket_id | total
	// -----------+-------
	//          1 |  24.0
	//          2 |  10.0
	// (2 rows)
}
