package ir_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/zset"
)

// TestEvalErrorSpans evaluates the expressions of each program's view v
// over a row they fail on, and checks that the error is an *EvalError
// placed at the innermost part that failed, printed as a type error is,
// with the cause still reachable by errors.Is. The programs' table is
// t (n int4, s text); the row is n = 0, s = "x%z".
func TestEvalErrorSpans(t *testing.T) {
	const table = "table t (n int4, s text)\n"
	tests := []struct {
		name, view string
		is         error // the cause errors.Is must find; nil to skip
	}{
		{"division", "view v = t | select { n, share = 100 / n }", stdlib.ErrDivisionByZero},
		{"nested division", "view v = t | select { share = 1 + (100 / n) * 2 }", stdlib.ErrDivisionByZero},
		{"filter", "view v = t | where s != \"\" and 10 % n > 1", stdlib.ErrDivisionByZero},
		{"cast", "view v = t | select { m = s::int4 }", nil},
		{"cast as a call", "view v = t | select { m = int8(s) + 1 }", nil},
		{"builtin", "view v = t | select { m = format(s, n) }", nil},
		{"user function", "fn inv(x int4) int4 = 100 / x\nview v = t | select { m = inv(n) + 1 }", stdlib.ErrDivisionByZero},
		{"multi-line", "view v =\n  t\n  | select {\n      m = n + (\n        5 / n)\n    }", stdlib.ErrDivisionByZero},
	}
	var out strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := table + tt.view + "\n"
			err := evalView(t, src, zset.Row{int64(0), "x%z"})
			var ev *ir.EvalError
			if !errors.As(err, &ev) {
				t.Fatalf("got %v, want an *ir.EvalError", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), ev.Span.String()+": ") {
				t.Errorf("Error() = %q, want it to start with the position %s", err, ev.Span)
			}
			fmt.Fprintf(&out, "-- %s\n%s", tt.name, ev.Diagnostic().Format(src))
		})
	}
	golden.Check(t, filepath.Join("testdata", "evalerr", "spans.golden"), out.String())
}

// TestEvalErrorInConstant checks that a constant relation (values) that
// fails to evaluate is a positioned compile error, as a type error is.
func TestEvalErrorInConstant(t *testing.T) {
	src := "view v = values [{a = 1}, {a = 1 / 0}]\n"
	f, err := lang.Parse("p.step", src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ir.Lower(p)
	var list lang.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v, want a lang.ErrorList", err)
	}
	want := "p.step:1:32: division by zero\n    view v = values [{a = 1}, {a = 1 / 0}]\n                                   ^^^^^\n"
	if got := list.Format(src); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestSpansLeaveExplainAlone checks that moving a program's text keeps
// what Explain prints, while the spans of nodes and scalars move with it.
func TestSpansLeaveExplainAlone(t *testing.T) {
	const a = "table t (n int4)\nview v = t | select { m = 100 / n }\n"
	const b = "\n\ntable t (n int4)\n\nview v =\n    t | select { m = 100   /   n }\n"
	ca, cb := lowerSrc(t, a), lowerSrc(t, b)
	if ir.Explain(ca) != ir.Explain(cb) {
		t.Errorf("explain differs:\n%s\n---\n%s", ir.Explain(ca), ir.Explain(cb))
	}
	if ir.Fingerprint(ca) != ir.Fingerprint(cb) {
		t.Error("fingerprint differs")
	}
	m := mapOf(t, cb)
	if got := m.Exprs[0].Span.String(); got != "p.step:6:22" {
		t.Errorf("scalar span at %s, want p.step:6:22", got)
	}
	if got := cb.Views[0].Node.Span.String(); got != "p.step:5:6" {
		t.Errorf("view node span at %s, want p.step:5:6 (the view's name)", got)
	}
}

func lowerSrc(t testing.TB, src string) *ir.Circuit {
	t.Helper()
	f, err := lang.Parse("p.step", src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ir.Lower(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mapOf returns the first Map or Filter of the circuit as a Map (a
// Filter's predicate as its one expression).
func mapOf(t testing.TB, c *ir.Circuit) *ir.Map {
	t.Helper()
	for _, n := range c.Nodes {
		switch op := n.Op.(type) {
		case *ir.Map:
			return op
		case *ir.Filter:
			return &ir.Map{Exprs: []ir.Scalar{op.Pred}}
		}
	}
	t.Fatal("no map or filter")
	return nil
}

// evalView evaluates the expressions of the circuit's first map or
// filter over row and returns the first error.
func evalView(t *testing.T, src string, row zset.Row) error {
	t.Helper()
	for _, x := range mapOf(t, lowerSrc(t, src)).Exprs {
		if _, err := x.Eval(row); err != nil {
			return err
		}
	}
	t.Fatal("no expression failed")
	return nil
}
