package lockfile

import (
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/typecheck"
)

// usedColumns returns, for each node outside the view that the view
// reads (an input's, the clock's, an earlier view's), the indexes of its
// columns the view's rows depend on. It walks back from the view's
// result, each operator asking of its inputs only the columns it needs
// for the columns asked of it. Where an operator's needs are not worked
// out here (a fixpoint, a temporal filter, an expression that reads the
// clock) it asks for every column: too many columns only rebuilds a
// view that did not need it, too few would keep a view that computes
// something else.
func usedColumns(result *ir.Node, outside func(*ir.Node) bool) map[*ir.Node]map[int]bool {
	need := map[*ir.Node]map[int]bool{}
	var queue []*ir.Node
	ask := func(n *ir.Node, cols map[int]bool) {
		if cols[-1] {
			cols = all(n)
		}
		have, seen := need[n]
		if !seen {
			have = map[int]bool{}
			need[n] = have
		}
		grew := !seen
		for c := range cols {
			if !have[c] {
				have[c], grew = true, true
			}
		}
		if grew && !outside(n) {
			queue = append(queue, n)
		}
	}
	ask(result, all(result))
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for i, cols := range needs(n, need[n]) {
			ask(n.Inputs[i], cols)
		}
		if fp, ok := n.Op.(*ir.Fixpoint); ok {
			// The body may import any node from outside: every column of
			// every node it computes is needed.
			for _, b := range fp.Body {
				ask(b, all(b))
			}
		}
	}
	out := map[*ir.Node]map[int]bool{}
	for n, cols := range need {
		if outside(n) {
			out[n] = cols
		}
	}
	return out
}

// needs returns what a node asks of each of its inputs, given the
// columns asked of it.
func needs(n *ir.Node, out map[int]bool) []map[int]bool {
	ins := make([]map[int]bool, len(n.Inputs))
	everything := func() []map[int]bool {
		for i, in := range n.Inputs {
			ins[i] = all(in)
		}
		return ins
	}
	// same gives the inputs after the first ones (the integrals a join
	// or an aggregate reads beside the changes) what is asked of the
	// input with their columns, or every column when their columns are
	// their own (a semi-join's integral of the right side's keys).
	same := func(first int) []map[int]bool {
		for i := first; i < len(n.Inputs); i++ {
			j := i % first
			if len(n.Inputs[i].Cols) == len(n.Inputs[j].Cols) {
				ins[i] = ins[j]
			} else {
				ins[i] = all(n.Inputs[i])
			}
		}
		return ins
	}
	switch op := n.Op.(type) {
	case *ir.Filter:
		ins[0] = union(out, reads(op.Pred))
		return same(1)
	case *ir.Map:
		// Every expression, used or not, for one can fail on a row.
		ins[0] = reads(op.Exprs...)
		return same(1)
	case *ir.FlatMap:
		ins[0] = union(below(out, len(n.Inputs[0].Cols)), reads(op.Elem))
		return same(1)
	case *ir.Integrate:
		ins[0] = union(out, reads(op.Key...))
		return same(1)
	case *ir.OrderedIntegrate:
		ins[0] = union(out, reads(op.Key))
		return same(1)
	case *ir.Delay:
		ins[0] = out
		return same(1)
	case *ir.Sum:
		for i := range ins {
			ins[i] = out
		}
		return ins
	case *ir.Join:
		if len(n.Inputs) < 2 {
			return everything()
		}
		left := len(n.Inputs[0].Cols)
		ins[0] = union(below(out, left), reads(op.LeftKey...))
		ins[1] = union(shift(out, left), reads(op.RightKey...))
		return same(2)
	case *ir.SemiJoin:
		if op.Cond != nil || len(n.Inputs) < 2 {
			return everything()
		}
		ins[0] = union(out, reads(op.LeftKey...))
		ins[1] = reads(op.RightKey...)
		return same(2)
	case *ir.Aggregate:
		s := []ir.Scalar{}
		s = append(s, op.Key...)
		for _, a := range op.Aggs {
			for _, x := range []*ir.Scalar{a.Arg, a.Sep} {
				if x != nil {
					s = append(s, *x)
				}
			}
			for _, k := range a.OrderBy {
				s = append(s, k.Key)
			}
		}
		ins[0] = reads(s...)
		return same(1)
	}
	// Distinct, set operations and top compare whole rows; the rest
	// (temporal filters, fixpoints, the clock) are not worked out.
	return everything()
}

// all is every column of a node.
func all(n *ir.Node) map[int]bool {
	s := map[int]bool{}
	for i := range n.Cols {
		s[i] = true
	}
	return s
}

func union(a, b map[int]bool) map[int]bool {
	s := map[int]bool{}
	for c := range a {
		s[c] = true
	}
	for c := range b {
		s[c] = true
	}
	return s
}

// below is the columns of s before n; shift those from n on, moved to
// start at 0: the left and right rows of a join's output.
func below(s map[int]bool, n int) map[int]bool {
	out := map[int]bool{}
	for c := range s {
		if c < n {
			out[c] = true
		}
	}
	return out
}

func shift(s map[int]bool, n int) map[int]bool {
	out := map[int]bool{}
	for c := range s {
		if c >= n {
			out[c-n] = true
		}
	}
	return out
}

// reads returns the columns the expressions read, with -1 among them
// when one cannot be walked (it reads the clock): asking for -1 asks for
// every column.
func reads(ss ...ir.Scalar) map[int]bool {
	s := map[int]bool{}
	for _, x := range ss {
		if x.Expr == nil || !exprReads(x.Expr, s) {
			s[-1] = true
		}
	}
	return s
}

// exprReads adds the columns e reads to s; false when e has a part it
// does not know.
func exprReads(e typecheck.Expr, s map[int]bool) bool {
	each := func(es ...typecheck.Expr) bool {
		for _, x := range es {
			if x != nil && !exprReads(x, s) {
				return false
			}
		}
		return true
	}
	switch e := e.(type) {
	case *typecheck.ColRef:
		s[e.Index] = true
		return true
	case *typecheck.Const, *typecheck.Local:
		return true
	case *typecheck.Let:
		return each(e.X, e.Body)
	case *typecheck.Cast:
		return each(e.X)
	case *typecheck.Unary:
		return each(e.X)
	case *typecheck.IsNull:
		return each(e.X)
	case *typecheck.If:
		return each(e.Cond, e.Then, e.Else)
	case *typecheck.Binary:
		return each(e.X, e.Y)
	case *typecheck.Call:
		return each(e.Args...)
	case *typecheck.FuncCall:
		// The body reads its parameters, which are the arguments.
		return each(e.Args...)
	case *typecheck.Record:
		return each(e.Fields...)
	case *typecheck.FieldRef:
		return each(e.X)
	}
	return false
}
