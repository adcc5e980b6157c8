package typecheck

import (
	"strings"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// recCtx is the recursive view whose branches are being checked: a
// reference to its name inside them is a RecRef of its base's row type.
type recCtx struct {
	name string
	cols []Column
}

// recursiveForm says whether a view is written as a recursive view: a
// pipeline ending in set unions, at least one of whose branches mentions
// the view. It returns the number of stages before those unions.
func recursiveForm(d *lang.ViewDecl) (int, bool) {
	stages := d.Query.Stages
	k := len(stages)
	for k > 0 {
		s, ok := stages[k-1].(*lang.SetStage)
		if !ok || s.Op != lang.Union || s.All {
			break
		}
		k--
	}
	for _, st := range stages[k:] {
		if termMentions(st.(*lang.SetStage).Right, d.Name.Name) {
			return k, true
		}
	}
	return 0, false
}

// termMentions reports whether a term refers to the relation name,
// directly or in a sub-pipeline.
func termMentions(t lang.Term, name string) bool {
	switch t := t.(type) {
	case *lang.RelRef:
		return t.Name.Name == name
	case *lang.SubPipeline:
		if termMentions(t.Query.From, name) {
			return true
		}
		for _, st := range t.Query.Stages {
			switch st := st.(type) {
			case *lang.JoinStage:
				if termMentions(st.Right, name) {
					return true
				}
			case *lang.SetStage:
				if termMentions(st.Right, name) {
					return true
				}
			}
		}
	}
	return false
}

// recursive checks a recursive view, base | union B1 | union B2 ...,
// whose first `base` stages form its base. The base may not refer to the
// view; the branches may, and there the view has the base's row type.
// Each branch's rows must fit that type.
func (c *checker) recursive(d *lang.ViewDecl, base int) (Rel, bool) {
	basePipe := &lang.Pipeline{From: d.Query.From, Stages: d.Query.Stages[:base]}
	baseRel, _ := c.pipeline(basePipe, d.Name.Name)
	if baseRel == nil {
		return nil, false
	}
	cols := baseRel.Cols()
	ok := true
	for _, col := range cols {
		if hasNumeric(col.Type) {
			c.errorHint(d.Name, "use an integer, float or text column",
				"recursive view %s has column %s of type %s: recursion over numeric columns is not yet implemented", d.Name.Name, col.Name, col.Type)
			ok = false
		}
	}
	saved := c.rec
	c.rec = &recCtx{name: d.Name.Name, cols: cols}
	defer func() { c.rec = saved }()
	var step Rel
	for _, s := range d.Query.Stages[base:] {
		st := s.(*lang.SetStage)
		branch, _ := c.term(st.Right)
		if branch == nil {
			ok = false
			continue
		}
		branch = c.branch(d.Name.Name, st.Right, cols, branch)
		if branch == nil {
			ok = false
			continue
		}
		if step == nil {
			step = branch
		} else {
			step = &Union{Left: step, Right: branch, All: true, Columns: cols}
		}
	}
	if !ok {
		return nil, false
	}
	return &Fixpoint{Name: d.Name.Name, Base: baseRel, Step: step, Columns: cols}, true
}

// branch checks that a branch's rows fit the recursive view's row type,
// cols, and casts narrower numbers to it.
func (c *checker) branch(view string, at lang.Node, cols []Column, branch Rel) Rel {
	bc := branch.Cols()
	if len(bc) != len(cols) {
		c.errorf(at, "the base of recursive view %s has %d columns, this branch %d", view, len(cols), len(bc))
		return nil
	}
	for i, col := range cols {
		if !fits(bc[i].Type, col.Type) {
			c.errorHint(at, "a recursive view has its base's row type: give the base's column that type",
				"branch column %d (%s) is %s, but recursive view %s has %s there", i+1, col.Name, bc[i].Type, view, col.Type)
			return nil
		}
	}
	return c.castRel(branch, cols)
}

// fits reports whether a value of type t can be stored where want is
// expected, casting a narrower number type.
func fits(t, want types.Type) bool {
	switch {
	case t.Kind == types.Invalid:
		return true
	case t.Kind == types.Null:
		return want.Nullable
	case t.Nullable && !want.Nullable:
		return false
	}
	if p, ok := stdlib.Promote(t, want); ok {
		return p.Kind == want.Kind
	}
	return t.NotNull().Identical(want.NotNull())
}

// hasNumeric reports whether values of type t hold numerics, whose
// spelling (1.5, 1.50) is not decided by equality.
func hasNumeric(t types.Type) bool {
	switch t.Kind {
	case types.Numeric:
		return true
	case types.Array:
		return hasNumeric(*t.Elem)
	case types.Record:
		for _, f := range t.Fields {
			if hasNumeric(f.Type) {
				return true
			}
		}
	}
	return false
}

// noRec reports an error at n, and returns false, when one of rels reads
// the recursive view being defined: only where, select, join and union
// all may stand between a recursive reference and its view.
func (c *checker) noRec(n lang.Node, what string, rels ...Rel) bool {
	if c.rec == nil {
		return true
	}
	for _, r := range rels {
		if ReadsRec(r) {
			c.errorHint(n, "a recursive view reads itself only through where, select, join and union all",
				"%s over recursive view %s is not allowed", what, c.rec.name)
			return false
		}
	}
	return true
}

// cycle reports a reference to a view that is being checked: the views
// from it to the reference refer to one another.
func (c *checker) cycle(ref *lang.Ident) {
	i := indexOf(c.checking, ref.Name)
	loop := append(append([]string{}, c.checking[i:]...), ref.Name)
	if len(loop) == 2 {
		c.errorHint(ref, "write view "+ref.Name+" = base | union (... "+ref.Name+" ...)",
			"view %s refers to itself outside the branches of its final union", ref.Name)
		return
	}
	c.errorHint(ref, "a view may refer to itself, but not through other views",
		"views %s refer to each other (%s): mutual recursion is not yet implemented",
		joinAnd(loop[:len(loop)-1]), strings.Join(loop, " -> "))
}
