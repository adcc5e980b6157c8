package ir

import (
	"testing"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/zset"
)

// TestFramesComeBackCleared borrows frames of one size after another,
// fills each and gives it back: every frame lent must have the size
// asked for and hold no value of an evaluation that used it before,
// whose row a frame waiting in the pool must not keep alive.
func TestFramesComeBackCleared(t *testing.T) {
	for round, size := range []int{3, 5, 16, 1, 3, 20, 16, 0, 8} {
		l := BorrowFrame(size)
		if len(*l) != size {
			t.Fatalf("round %d: a frame of %d slots, want %d", round, len(*l), size)
		}
		for i, v := range *l {
			if v != nil {
				t.Fatalf("round %d: slot %d holds %v from an earlier evaluation", round, i, v)
			}
		}
		for i := range *l {
			(*l)[i] = "value"
		}
		ReturnFrame(l)
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
