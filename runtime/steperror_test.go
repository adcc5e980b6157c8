package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/zset"
)

// TestStepErrorSpan checks that a step failing in an expression returns
// a *runtime.StepError placed at the innermost failing expression, whose
// chain still holds the *ir.EvalError and the cause; and that one failing
// elsewhere in an operator is placed at its view's name.
func TestStepErrorSpan(t *testing.T) {
	tests := []struct {
		name, src string
		row       zset.Row
		diag      string // the diagnostic's one-line form
		is        error  // a cause in the chain; nil to skip
		eval      bool   // an expression failed: an *ir.EvalError is in the chain
	}{
		{
			name: "division",
			src:  "table items (id int4, qty int4, primary key (id))\nview per = items | select { id, share = 100 / qty }\n",
			row:  zset.Row{int64(1), int64(0)},
			diag: "p.step:2:41: step 1: view per: division by zero",
			is:   stdlib.ErrDivisionByZero,
			eval: true,
		},
		{
			name: "in a filter after a map",
			src:  "table items (id int4, qty int4, primary key (id))\nview per = items\n  | select { id, q = qty - 1 }\n  | where 10 % (q + 1) > 0\n",
			row:  zset.Row{int64(1), int64(0)},
			diag: "p.step:4:11: step 1: view per: division by zero",
			is:   stdlib.ErrDivisionByZero,
			eval: true,
		},
		{
			name: "no fixpoint",
			src:  "table items (id int4)\nview up = items | union (up | where id < 1000 | select { id = id + 1 })\n",
			row:  zset.Row{int64(0)},
			diag: "p.step:2:6: step 1: view up: node n4: recursive view up reached no fixpoint in 50 iterations: does it derive new rows forever?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := compile.Compile(context.Background(), "p.step", tt.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{MaxIterations: 50})
			_, err = eng.Step(context.Background(), map[string][]runtime.Change{"items": {{Op: runtime.Insert, Row: tt.row}}})
			var se *runtime.StepError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *runtime.StepError", err)
			}
			var ev *ir.EvalError
			if tt.eval && (!errors.As(err, &ev) || ev.Span != se.Span) {
				t.Errorf("the chain of %v holds no *ir.EvalError at the StepError's span %s", err, se.Span)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if d := se.Diagnostic(); d == nil || d.Error() != tt.diag {
				t.Errorf("Diagnostic() = %v, want %s", d, tt.diag)
			}
		})
	}
}

// TestFailedStepKeepsKeySpellings fails a step after it has counted a new
// spelling of a group's numeric key (1.50 beside 1.5), and checks that
// the group's spellings are as the last step that succeeded left them:
// a later step then shows the key spelled as a run from scratch does.
func TestFailedStepKeepsKeySpellings(t *testing.T) {
	const src = `
table t (id int8, k numeric, x int8, primary key (id))
view byk = t | group by k { n = count() }
view ratio = t | select { id, r = 10 / x }
`
	prog, err := compile.Compile(context.Background(), "k.step", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []runtime.Options{{}, {Workers: 2, ParallelBatch: 1}} {
		eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), opts)
		ctx := context.Background()
		step := func(changes ...runtime.Change) error {
			_, err := eng.Step(ctx, map[string][]runtime.Change{"t": changes})
			return err
		}
		num := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
		if err := step(runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(1), num("1.5"), int64(1)}}); err != nil {
			t.Fatal(err)
		}
		// 1.50 joins the group of 1.5, and then ratio divides by zero.
		if err := step(runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(2), num("1.50"), int64(0)}}); err == nil {
			t.Fatal("a division by zero did not fail the step")
		}
		// With 1.5 gone and 1.500 come, the group's only spelling is
		// 1.500: the failed step's 1.50 must not be counted.
		if err := step(
			runtime.Change{Op: runtime.Delete, Row: zset.Row{int64(1), num("1.5"), int64(1)}},
			runtime.Change{Op: runtime.Insert, Row: zset.Row{int64(3), num("1.500"), int64(2)}},
		); err != nil {
			t.Fatal(err)
		}
		// (A decimal prints without its trailing zeros: its exponent
		// says how it is spelled.)
		z, _ := eng.Contents("byk")
		es := z.Entries()
		if len(es) != 1 || es[0].Row[0].(decimal.Decimal).Exponent() != -3 || es[0].Row[1] != int64(1) {
			t.Errorf("workers %d: byk holds %v, want one group keyed 1.500", opts.Workers, es)
		}
	}
}
