package ir

import (
	"slices"

	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
)

// A top whose input is an inner join, or a projection of one whose every
// column is a column of the join, may join one side's first N rows per
// join key in place of that side: it does when the top's order keys are
// columns of one side, s. Then, for a row l of the other side, the rows
// of one top group that l makes are l with each row of s that matches
// it and is in the group (has its values of the group's columns of s),
// ranked among themselves as the rows of s are by (the order keys, then
// the columns of s the result shows, in its order): only the first N of
// those can be among the group's first N, so a top of s per join key
// and group columns of s, in that order, joined in place of s, leaves
// every group's first N rows as they were. A feed's timelines
// (the newest posts of the authors a user follows) then join each follow
// with its author's newest posts rather than with every post the author
// ever wrote: the join's output, and the top's state, are bounded by N
// per follow, whatever the author's history.
//
// The columns of s the result shows must be of types whose equal values
// have one spelling (not numerics, floats, intervals and the like): the
// top breaks ties between rows equal as values by their spellings,
// which the order of s would not follow. A program whose tables have
// watermarks keeps its plain form, as the rows a watermark frees are
// worked out from it.

// joinedTop is a top's input when it is a join, or a projection of one,
// as lowered so far: the join's sides, and the nodes already made for
// it, when a view made them.
type joinedTop struct {
	left, right *Node
	op          *Join
	// join is the join's node when it exists; nil for a join written in
	// the top's own view, which is made only once it is known whether
	// its top goes through it.
	join *Node
	// exprs is the projection, each expression a plain column of the
	// join; nil for none.
	exprs []Scalar
	// proj is the projection's node, when it exists, and projCols its
	// columns.
	proj     *Node
	projCols []Column
	cols     []Column // the join's columns: the left side's, then the right's
}

// topInput lowers in, the input of top op, and returns it: joining one
// side's first rows per key where that gives op the same result (see
// above), as it is otherwise.
func (l *lowerer) topInput(in typecheck.Rel, op *TopK) (*Node, error) {
	jt, n, err := l.joinUnder(in)
	if jt == nil || err != nil {
		return n, err
	}
	if s, by, per, ok := jt.pushable(op); ok && !l.watermarked() {
		return jt.pushTop(l, op.N, s, by, per), nil
	}
	return jt.plain(l), nil
}

// joinUnder lowers in when it is not a join or a projection of one,
// returning its node; otherwise it returns the join as lowered so far.
func (l *lowerer) joinUnder(in typecheck.Rel) (*joinedTop, *Node, error) {
	rel, proj := in, (*typecheck.Project)(nil)
	if p, ok := in.(*typecheck.Project); ok && !anyClock(p.Exprs...) {
		rel, proj = p.In, p
	}
	if j, ok := rel.(*typecheck.Join); ok && (j.Kind == typecheck.InnerJoin || j.Kind == typecheck.CrossJoin) && j.Cond == nil {
		left, right, err := l.sides(j.Left, j.Right)
		if err != nil {
			return nil, nil, err
		}
		jt := &joinedTop{left: left, right: right, op: &Join{LeftKey: compileAll(j.LeftKeys), RightKey: compileAll(j.RightKeys)}}
		jt.cols = append(append([]Column{}, left.Cols...), right.Cols...)
		if proj == nil {
			return jt, nil, nil
		}
		jt.exprs, jt.projCols = compileAll(proj.Exprs), columns(proj.Columns)
		if jt.plainColumns() {
			return jt, nil, nil
		}
		return nil, jt.plain(l), nil
	}
	n, err := l.rel(in)
	if err != nil {
		return nil, nil, err
	}
	// A view's join, or its projection, made already.
	jt := &joinedTop{join: n}
	if m, ok := n.Op.(*Map); ok && len(n.Inputs) == 1 {
		jt.exprs, jt.proj, jt.projCols, jt.join = m.Exprs, n, n.Cols, n.Inputs[0]
	}
	jop, ok := jt.join.Op.(*Join)
	if !ok || len(jt.join.Inputs) != 4 || !jt.plainColumns() || jt.join.Inputs[1] == l.c.Clock {
		// Not a join, or the clock's join with the rows of a view that
		// reads it, which stays as it is.
		return nil, n, nil
	}
	jt.op, jt.cols = jop, jt.join.Cols
	jt.left, jt.right = jt.join.Inputs[0], jt.join.Inputs[1]
	return jt, nil, nil
}

// plainColumns reports whether every column of the projection, if any,
// is a column of the join.
func (jt *joinedTop) plainColumns() bool {
	for _, x := range jt.exprs {
		if _, ok := x.Column(); !ok {
			return false
		}
	}
	return true
}

// shown returns, for each column of the top's input, the join's column
// it is.
func (jt *joinedTop) shown() []int {
	var out []int
	if jt.exprs == nil {
		for c := range jt.cols {
			out = append(out, c)
		}
		return out
	}
	for _, x := range jt.exprs {
		c, _ := x.Column()
		out = append(out, c)
	}
	return out
}

// pushable reports whether top op may go through the join to side s
// (0 left, 1 right), and the order and groups, over that side's rows,
// of its top there: op's keys, then the side's columns the result
// shows; op's groups that are the side's columns (the join key is
// added to them).
func (jt *joinedTop) pushable(op *TopK) (s int, by []OrderKey, per []Scalar, ok bool) {
	if len(op.By) == 0 {
		return 0, nil, nil, false
	}
	shown := jt.shown()
	width := len(jt.left.Cols)
	sideOf := func(c int) int {
		if c < width {
			return 0
		}
		return 1
	}
	// joinCol is the join's column an expression over the top's input
	// reads as it is; false when it is not a plain column.
	joinCol := func(x Scalar) (int, bool) {
		c, ok := x.Column()
		if !ok {
			return 0, false
		}
		return shown[c], true
	}
	first, ok := joinCol(op.By[0].Key)
	if !ok {
		return 0, nil, nil, false
	}
	s = sideOf(first)
	side := jt.side(s)
	offset := s * width
	for _, k := range op.By {
		c, ok := joinCol(k.Key)
		if !ok || sideOf(c) != s {
			return 0, nil, nil, false
		}
		by = append(by, OrderKey{Key: columnOf(side.Cols, c-offset), Desc: k.Desc})
	}
	for _, p := range op.Per {
		c, ok := joinCol(p)
		if !ok {
			return 0, nil, nil, false
		}
		if sideOf(c) == s {
			per = append(per, columnOf(side.Cols, c-offset))
		}
	}
	for _, c := range shown {
		if sideOf(c) != s {
			continue
		}
		if !oneSpelling(jt.cols[c].Type) {
			return 0, nil, nil, false
		}
		by = append(by, OrderKey{Key: columnOf(side.Cols, c-offset)})
	}
	return s, by, per, true
}

func (jt *joinedTop) side(s int) *Node {
	if s == 0 {
		return jt.left
	}
	return jt.right
}

// plain returns the join, and its projection, as written, making what
// is not made yet.
func (jt *joinedTop) plain(l *lowerer) *Node {
	if jt.join == nil {
		li, ri := l.integral(jt.left, jt.op.LeftKey), l.integral(jt.right, jt.op.RightKey)
		jt.join = l.add(jt.op, jt.cols, jt.left, jt.right, li, ri)
	}
	if jt.exprs == nil {
		return jt.join
	}
	if jt.proj == nil {
		jt.proj = l.add(&Map{Exprs: jt.exprs}, jt.projCols, jt.join)
	}
	return jt.proj
}

// pushTop returns the join of side s's first n rows per join key, in
// the order by, with the other side, projected as the top's input is.
// It keeps an integral of the other side of its own, even beside
// another view's join of the same sides: a view made of its own nodes
// and the tables' and views' can be added to a running engine
// (runtime.Engine.Extend), which keeps no history of another view's
// parts.
func (jt *joinedTop) pushTop(l *lowerer, n int64, s int, by []OrderKey, per []Scalar) *Node {
	keys := [2][]Scalar{jt.op.LeftKey, jt.op.RightKey}
	sides := [2]*Node{jt.left, jt.right}
	sides[s] = l.add(&TopK{N: n, By: by, Per: append(slices.Clip(keys[s]), per...)}, sides[s].Cols, sides[s])
	var integrals [2]*Node
	for i := range sides {
		integrals[i] = l.integral(sides[i], keys[i])
	}
	join := l.add(&Join{LeftKey: jt.op.LeftKey, RightKey: jt.op.RightKey}, jt.cols, sides[0], sides[1], integrals[0], integrals[1])
	if jt.exprs == nil {
		return join
	}
	return l.add(&Map{Exprs: jt.exprs}, jt.projCols, join)
}

// oneSpelling reports whether values of t equal as values are spelled
// alike, so that ordering by them orders their rows' spellings too.
func oneSpelling(t types.Type) bool {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Text, types.UUID,
		types.Date, types.Timestamp, types.Timestamptz, types.Bytea:
		return true
	}
	return false
}

// watermarked reports whether a table lowered so far has a watermark.
func (l *lowerer) watermarked() bool {
	for _, in := range l.c.Inputs {
		if in.Watermark != nil {
			return true
		}
	}
	return false
}
