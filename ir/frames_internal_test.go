package ir

import (
	"testing"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/zset"
)

// TestFramesComeBackCleared checks that a frame given back holds no
// value of the evaluation that used it: a frame waiting in the pool
// must not keep a row's values alive.
func TestFramesComeBackCleared(t *testing.T) {
	f := newFrames(3)
	for round := range 3 {
		l := f.get()
		if len(*l) != 3 {
			t.Fatalf("round %d: a frame of %d slots, want 3", round, len(*l))
		}
		for i, v := range *l {
			if v != nil {
				t.Fatalf("round %d: slot %d holds %v from an earlier evaluation", round, i, v)
			}
		}
		for i := range *l {
			(*l)[i] = "value"
		}
		f.put(l)
	}
}

// TestEvalInOfWrappedEval checks that EvalIn of a scalar whose Eval the
// lowering wrapped (a temporal bound's conversion) gives what Eval
// gives, not the compiled expression unwrapped.
func TestEvalInOfWrappedEval(t *testing.T) {
	f, err := lang.Parse("p.step", "table t (s text)\nview v = t | select { x = upper(s) }\n")
	if err != nil {
		t.Fatal(err)
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Lower(p)
	if err != nil {
		t.Fatal(err)
	}
	var x Scalar
	for _, n := range c.Nodes {
		if m, ok := n.Op.(*Map); ok {
			x = m.Exprs[0]
		}
	}
	if x.FrameSize() == 0 {
		t.Fatal("upper(s) needs no frame")
	}
	row := zset.Row{"ab"}
	w := converted(x, func(v any) any { return v.(string) + "!" })
	for _, got := range []func() (any, error){
		func() (any, error) { return w.Eval(row) },
		func() (any, error) { return w.EvalIn(row, make([]any, w.FrameSize())) },
	} {
		if v, err := got(); v != "AB!" || err != nil {
			t.Errorf("got %v, %v, want AB!", v, err)
		}
	}
}
