package ir

import (
	"errors"
	"fmt"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Lower builds the incremental circuit of a checked program.
func Lower(p *typecheck.Program) (*Circuit, error) {
	l := &lowerer{c: &Circuit{}, tables: map[*typecheck.Table]*Node{}, views: map[*typecheck.View]*View{}}
	for _, t := range p.Tables {
		l.span = nameSpan(t.Pos, t.Name)
		n := l.add(&Source{Table: t.Name}, columns(t.Columns))
		l.tables[t] = n
		in := &Input{Name: t.Name, Columns: n.Cols, PrimaryKey: t.PrimaryKey, Node: n}
		if t.Source != nil {
			in.Postgres = &PostgresTable{Schema: t.Source.Schema, Name: t.Source.Name}
		}
		if w := t.Watermark; w != nil {
			in.Watermark = &Watermark{Column: w.Column, Lateness: w.Lateness.Duration()}
		}
		l.c.Inputs = append(l.c.Inputs, in)
	}
	for _, v := range p.Views {
		l.span = nameSpan(v.Pos, v.Name)
		n, err := l.rel(v.Query)
		var failed *EvalError
		if errors.As(err, &failed) {
			// A constant (values) failed: an error in the program's text,
			// shown as the checker's are.
			return nil, lang.ErrorList{failed.Diagnostic()}
		}
		if err != nil {
			return nil, fmt.Errorf("view %s: %w", v.Name, err)
		}
		iv := &View{Name: v.Name, Columns: columns(v.Columns), Node: n}
		l.views[v] = iv
		l.c.Views = append(l.c.Views, iv)
	}
	for _, o := range p.Outputs {
		l.c.Outputs = append(l.c.Outputs, &Output{View: l.views[o.View], Table: o.Table, Indexes: o.Indexes, PrimaryKey: o.PrimaryKey})
	}
	return l.c, nil
}

type lowerer struct {
	c      *Circuit
	tables map[*typecheck.Table]*Node
	views  map[*typecheck.View]*View
	// clockState is z⁻¹(I clock), the clock of the previous step, once
	// the clock source exists.
	clockState *Node
	// span is the name of the table or view being lowered, the Span of
	// the nodes added.
	span lang.Span
}

// nameSpan is the span of a declaration's name, which starts at pos.
func nameSpan(pos lang.Pos, name string) lang.Span {
	end := pos
	end.Offset += len(name)
	end.Column += len(name)
	return lang.Span{Pos: pos, End: end}
}

func columns(cs []typecheck.Column) []Column {
	out := make([]Column, len(cs))
	for i, c := range cs {
		out[i] = Column{Name: c.Name, Type: c.Type}
	}
	return out
}

func (l *lowerer) add(op Op, cols []Column, inputs ...*Node) *Node {
	n := &Node{ID: len(l.c.Nodes), Op: op, Inputs: inputs, Cols: cols, Span: l.span}
	l.c.Nodes = append(l.c.Nodes, n)
	return n
}

func compileAll(es []typecheck.Expr) []Scalar {
	out := make([]Scalar, len(es))
	for i, e := range es {
		out[i] = Compile(e)
	}
	return out
}

// integral returns z⁻¹(I in) indexed by key: the delayed integral a
// bilinear or non-linear operator reads.
func (l *lowerer) integral(in *Node, key []Scalar) *Node {
	i := l.add(&Integrate{Key: key}, in.Cols, in)
	return l.add(&Delay{}, in.Cols, i)
}

// columnOf returns the expression reading column i of cols.
func columnOf(cols []Column, i int) Scalar {
	return Compile(&typecheck.ColRef{Index: i, Name: cols[i].Name, T: cols[i].Type})
}

// wholeRow returns key expressions selecting every column of cols.
func wholeRow(cols []Column) []Scalar {
	out := make([]Scalar, len(cols))
	for i := range cols {
		out[i] = columnOf(cols, i)
	}
	return out
}

func (l *lowerer) rel(r typecheck.Rel) (*Node, error) {
	cols := columns(r.Cols())
	switch r := r.(type) {
	case *typecheck.Scan:
		return l.tables[r.Table], nil
	case *typecheck.ViewRef:
		return l.views[r.View].Node, nil
	case *typecheck.Values:
		rows := zset.New()
		for _, exprs := range r.Rows {
			row := make(zset.Row, len(exprs))
			for i, e := range exprs {
				v, err := Compile(e).Eval(nil)
				if err != nil {
					return nil, err
				}
				row[i] = v
			}
			rows.Add(row, 1)
		}
		return l.add(&Constant{Rows: rows}, cols), nil
	case *typecheck.Filter:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		if typecheck.UsesClock(r.Cond) {
			return l.clockedFilter(in, r.Cond), nil
		}
		return l.add(&Filter{Pred: Compile(r.Cond)}, cols, in), nil
	case *typecheck.Project:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		if anyClock(r.Exprs...) {
			j := l.withClock(in)
			return l.add(&Map{Exprs: compileClocked(r.Exprs, len(in.Cols))}, cols, j), nil
		}
		return l.add(&Map{Exprs: compileAll(r.Exprs)}, cols, in), nil
	case *typecheck.Flatten:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		if !typecheck.UsesClock(r.Elem) {
			return l.add(&FlatMap{Elem: Compile(r.Elem)}, cols, in), nil
		}
		w := len(in.Cols)
		j := l.withClock(in)
		fm := l.add(&FlatMap{Elem: CompileClocked(r.Elem, w)}, append(append([]Column{}, j.Cols...), cols[w]), j)
		keep := wholeRow(fm.Cols)
		keep = append(keep[:w:w], keep[w+1])
		return l.add(&Map{Exprs: keep}, cols, fm), nil
	case *typecheck.Join:
		left, right, err := l.sides(r.Left, r.Right)
		if err != nil {
			return nil, err
		}
		return l.join(r, cols, left, right), nil
	case *typecheck.Group:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		compile := compileAll
		if anyClock(r.Keys...) || anyClock(aggArgs(r.Aggs)...) {
			w := len(in.Cols)
			in = l.withClock(in)
			compile = func(es []typecheck.Expr) []Scalar { return compileClocked(es, w) }
		}
		agg := &Aggregate{Key: compile(r.Keys)}
		var aggCols []Column
		for i, k := range r.Keys {
			aggCols = append(aggCols, Column{Name: fmt.Sprintf("key%d", i), Type: k.Type()})
		}
		for _, a := range r.Aggs {
			f := AggFunc{Name: a.Name, Distinct: a.Distinct, Type: a.Type}
			if len(a.Args) > 0 {
				f.Arg = &compile(a.Args[:1])[0]
			}
			if len(a.Args) > 1 {
				s := Compile(a.Args[1])
				f.Sep = &s
			}
			for _, k := range a.OrderBy {
				f.OrderBy = append(f.OrderBy, OrderKey{Key: Compile(k.X), Desc: k.Desc})
			}
			agg.Aggs = append(agg.Aggs, f)
			aggCols = append(aggCols, Column{Name: a.Name, Type: a.Type})
		}
		if r.Out == nil {
			n := l.add(agg, cols, in)
			if len(r.Keys) == 0 {
				n = l.emptyGroup(n, r.Aggs)
			}
			return n, nil
		}
		n := l.add(agg, aggCols, in)
		if len(r.Keys) == 0 {
			n = l.emptyGroup(n, r.Aggs)
		}
		if anyClock(r.Out...) {
			j := l.withClock(n)
			return l.add(&Map{Exprs: compileClocked(r.Out, len(aggCols))}, cols, j), nil
		}
		return l.add(&Map{Exprs: compileAll(r.Out)}, cols, n), nil
	case *typecheck.Distinct:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		return l.distinct(in), nil
	case *typecheck.Union:
		left, right, err := l.sides(r.Left, r.Right)
		if err != nil {
			return nil, err
		}
		sum := l.add(&Sum{}, cols, left, right)
		if r.All {
			return sum, nil
		}
		return l.distinct(sum), nil
	case *typecheck.SetOp:
		left, right, err := l.sides(r.Left, r.Right)
		if err != nil {
			return nil, err
		}
		li, ri := l.integral(left, wholeRow(cols)), l.integral(right, wholeRow(cols))
		return l.add(&SetOp{Op: r.Op, All: r.All}, cols, left, right, li, ri), nil
	case *typecheck.Top:
		op := &TopK{N: r.N, Per: compileAll(r.Per)}
		for _, k := range r.By {
			op.By = append(op.By, OrderKey{Key: Compile(k.X), Desc: k.Desc})
		}
		in, err := l.topInput(r.In, op)
		if err != nil {
			return nil, err
		}
		return l.add(op, cols, in), nil
	case *typecheck.Session:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		return l.add(&Session{Time: Compile(r.Time), Gap: r.Gap, Per: compileAll(r.Per)}, cols, in), nil
	case *typecheck.Stamp:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		return l.add(&Stamp{}, cols, in), nil
	case *typecheck.Window:
		in, err := l.rel(r.In)
		if err != nil {
			return nil, err
		}
		op := &Window{Per: compileAll(r.Per)}
		for _, k := range r.By {
			op.By = append(op.By, OrderKey{Key: Compile(k.X), Desc: k.Desc})
		}
		for _, f := range r.Funcs {
			wf := WindowFunc{Name: f.Name, Frame: f.Frame, Type: f.T}
			if f.Arg != nil {
				wf.Arg = Compile(f.Arg)
			}
			op.Funcs = append(op.Funcs, wf)
		}
		return l.add(op, cols, in), nil
	case *typecheck.Fixpoint:
		return l.fixpoint(r)
	}
	return nil, fmt.Errorf("lowering %T is not implemented", r)
}

// emptyGroup makes the one group of a group without keys exist even
// over no rows, as SQL's aggregates without GROUP BY do: count is 0 and
// every other aggregate NULL. Its rows are the aggregate's when it has
// one, and the default row when it has none: n + (D except all n's row
// mapped to D), linear but for two one-row integrals.
func (l *lowerer) emptyGroup(n *Node, aggs []typecheck.AggCall) *Node {
	row := make(zset.Row, len(aggs))
	exprs := make([]Scalar, len(aggs))
	for i, a := range aggs {
		var v any
		if a.Name == "count" {
			v = int64(0)
		}
		row[i] = v
		exprs[i] = Compile(&typecheck.Const{Value: v, T: n.Cols[i].Type})
	}
	rows := zset.New()
	rows.Add(row, 1)
	d := l.add(&Constant{Rows: rows}, n.Cols)
	p := l.add(&Map{Exprs: exprs}, n.Cols, n)
	e := l.add(&SetOp{Op: lang.Except, All: true}, n.Cols, d, p, l.integral(d, wholeRow(n.Cols)), l.integral(p, wholeRow(n.Cols)))
	return l.add(&Sum{}, n.Cols, n, e)
}

func anyClock(es ...typecheck.Expr) bool {
	for _, e := range es {
		if typecheck.UsesClock(e) {
			return true
		}
	}
	return false
}

func aggArgs(aggs []typecheck.AggCall) []typecheck.Expr {
	var out []typecheck.Expr
	for _, a := range aggs {
		out = append(out, a.Args...)
	}
	return out
}

func compileClocked(es []typecheck.Expr, clockCol int) []Scalar {
	out := make([]Scalar, len(es))
	for i, e := range es {
		out[i] = CompileClocked(e, clockCol)
	}
	return out
}

// clock returns the circuit's clock source and z⁻¹(I clock), creating
// them on first use.
func (l *lowerer) clock() (src, state *Node) {
	if l.c.Clock == nil {
		op := &Clock{}
		src := l.add(op, []Column{{Name: "now", Type: types.Of(types.Timestamptz)}})
		integ := l.add(&Integrate{}, src.Cols, src)
		op.State = integ.ID
		l.clockState = l.add(&Delay{}, src.Cols, integ)
		l.c.Clock = src
	}
	return l.c.Clock, l.clockState
}

// withClock joins in with the one-row clock relation: its rows followed
// by the clock. As any join, Δ = Δin⋈Δclock + Δin⋈z⁻¹(I clock) +
// z⁻¹(I in)⋈Δclock: a row's change pairs with the current clock, and a
// move of the clock re-pairs every row of the input.
func (l *lowerer) withClock(in *Node) *Node {
	src, state := l.clock()
	cols := append(append([]Column{}, in.Cols...), src.Cols...)
	return l.add(&Join{}, cols, in, src, l.integral(in, nil), state)
}

// clockedFilter lowers a where whose condition reads the clock. When the
// condition is a conjunction of conditions that don't read the clock and
// bounds (a row expression compared with a clock expression), it becomes
// a TemporalFilter after a plain Filter; otherwise a filter of the input
// joined with the clock.
func (l *lowerer) clockedFilter(in *Node, cond typecheck.Expr) *Node {
	cols := in.Cols
	var plain, clocked []typecheck.Expr
	for _, c := range andTerms(cond) {
		if typecheck.UsesClock(c) {
			clocked = append(clocked, c)
		} else {
			plain = append(plain, c)
		}
	}
	var bounds []Bound
	for _, c := range clocked {
		b, ok := bound(c)
		if !ok {
			j := l.withClock(in)
			f := l.add(&Filter{Pred: CompileClocked(cond, len(cols))}, j.Cols, j)
			return l.add(&Map{Exprs: wholeRow(cols)}, cols, f)
		}
		bounds = append(bounds, b)
	}
	if len(plain) > 0 {
		in = l.add(&Filter{Pred: Compile(andOf(plain))}, cols, in)
	}
	src, _ := l.clock()
	inputs := []*Node{in, src}
	byRow := map[string]int{}
	for i, b := range bounds {
		at, ok := byRow[b.Row.Canon]
		if !ok {
			oi := l.add(&OrderedIntegrate{Key: b.Row}, cols, in)
			at = len(inputs)
			inputs = append(inputs, l.add(&Delay{}, cols, oi))
			byRow[b.Row.Canon] = at
		}
		bounds[i].Input = at
	}
	pred := CompileClocked(andOf(clocked), len(cols))
	return l.add(&TemporalFilter{Pred: pred, Bounds: bounds}, cols, inputs...)
}

// andTerms splits a condition into its conjuncts.
func andTerms(x typecheck.Expr) []typecheck.Expr {
	if b, ok := x.(*typecheck.Binary); ok && b.Op == lang.And {
		return append(andTerms(b.X), andTerms(b.Y)...)
	}
	return []typecheck.Expr{x}
}

func andOf(xs []typecheck.Expr) typecheck.Expr {
	out := xs[0]
	for _, x := range xs[1:] {
		nullable := out.Type().Nullable || x.Type().Nullable
		out = &typecheck.Binary{Op: lang.And, X: out, Y: x, T: types.Type{Kind: types.Bool, Nullable: nullable, Scale: -1}}
	}
	return out
}

// bound recognises row CMP clock (or clock CMP row), where the clock side
// reads the clock and no column, is never NULL, and the two sides compare
// in a type with an order key.
func bound(x typecheck.Expr) (Bound, bool) {
	b, ok := x.(*typecheck.Binary)
	if !ok {
		return Bound{}, false
	}
	flip := map[lang.Op]lang.Op{lang.Eq: lang.Eq, lang.Ne: lang.Ne, lang.Lt: lang.Gt, lang.Le: lang.Ge, lang.Gt: lang.Lt, lang.Ge: lang.Le}
	op, isCmp := flip[b.Op]
	if !isCmp {
		return Bound{}, false
	}
	row, clock := b.X, b.Y
	if typecheck.UsesClock(row) {
		row, clock = clock, row
	} else {
		op = b.Op
	}
	rt, ct := row.Type(), clock.Type()
	if typecheck.UsesClock(row) || readsRow(clock) || ct.Nullable {
		return Bound{}, false
	}
	common := rt
	if p, isNum := stdlib.Promote(rt, ct); isNum {
		common = p
	}
	if !types.HasOrderKey(common) {
		return Bound{}, false
	}
	cr, cc, _ := stdlib.Comparable(rt, ct)
	return Bound{Op: op, Row: converted(Compile(row), cr), Clock: converted(CompileClocked(clock, 0), cc), rising: rising(clock)}, true
}

// rising reports whether an expression of the clock never decreases as
// the clock moves on.
func rising(x typecheck.Expr) bool {
	switch x := x.(type) {
	case *typecheck.Call:
		switch {
		case x.Func.Name == "now" && len(x.Args) == 0:
			return true
		case x.Func.Name == "date_trunc" && len(x.Args) == 2:
			_, isConst := x.Args[0].(*typecheck.Const)
			return isConst && rising(x.Args[1])
		case x.Func.Name == "date_bin" && len(x.Args) == 3:
			_, c0 := x.Args[0].(*typecheck.Const)
			_, c2 := x.Args[2].(*typecheck.Const)
			return c0 && c2 && rising(x.Args[1])
		}
	case *typecheck.Binary:
		if _, ok := constDuration(x.Y); ok && (x.Op == lang.Add || x.Op == lang.Sub) {
			return rising(x.X)
		}
	case *typecheck.Cast:
		return timeLike(x.Type()) && rising(x.X)
	}
	return false
}

func readsRow(x typecheck.Expr) bool {
	found := false
	typecheck.Walk(x, func(e typecheck.Expr) {
		if _, ok := e.(*typecheck.ColRef); ok {
			found = true
		}
	})
	return found
}

// converted applies a converter of non-null values to a scalar's result.
func converted(s Scalar, conv func(any) any) Scalar {
	eval := s.Eval
	s.Eval = func(r zset.Row) (any, error) {
		v, err := eval(r)
		if v == nil || err != nil {
			return nil, err
		}
		return conv(v), nil
	}
	s.evalIn = nil // EvalIn is Eval, converted
	return s
}

func (l *lowerer) distinct(in *Node) *Node {
	return l.add(&Distinct{}, in.Cols, in, l.integral(in, wholeRow(in.Cols)))
}

// join lowers a join of any kind. Inner and cross joins are the bilinear
// Join. Semi and anti joins are a SemiJoin. An outer join is the inner
// join of the pairs that match (keys and condition) plus, for each side
// it preserves, that side's anti-join with the other padded with NULLs;
// all of them share the two sides' integrals.
func (l *lowerer) join(r *typecheck.Join, cols []Column, left, right *Node) *Node {
	lk, rk := compileAll(r.LeftKeys), compileAll(r.RightKeys)
	var cond *Scalar
	if r.Cond != nil {
		c := Compile(r.Cond)
		cond = &c
	}
	switch r.Kind {
	case typecheck.SemiJoin, typecheck.AntiJoin:
		li := l.integral(left, lk)
		return l.semiJoin(&SemiJoin{Anti: r.Kind == typecheck.AntiJoin, LeftKey: lk, RightKey: rk, Cond: cond}, cols, left, right, li, nil)
	}
	li, ri := l.integral(left, lk), l.integral(right, rk)
	pairs := append(append([]Column{}, left.Cols...), right.Cols...)
	inner := l.add(&Join{LeftKey: lk, RightKey: rk}, pairs, left, right, li, ri)
	if r.Kind == typecheck.InnerJoin || r.Kind == typecheck.CrossJoin {
		return inner
	}
	if cond != nil {
		inner = l.add(&Filter{Pred: *cond}, pairs, inner)
	}
	parts := []*Node{inner}
	if r.Kind.PreservesLeft() {
		anti := &SemiJoin{Anti: true, LeftKey: lk, RightKey: rk, Cond: cond}
		unmatched := l.semiJoin(anti, left.Cols, left, right, li, ri)
		parts = append(parts, l.pad(unmatched, cols, 0))
	}
	if r.Kind.PreservesRight() {
		anti := &SemiJoin{Anti: true, LeftKey: rk, RightKey: lk, Cond: cond, Swapped: true}
		unmatched := l.semiJoin(anti, right.Cols, right, left, ri, li)
		parts = append(parts, l.pad(unmatched, cols, len(left.Cols)))
	}
	return l.add(&Sum{}, cols, parts...)
}

// semiJoin adds a SemiJoin of left with right reading the left integral
// li. With a condition it reads the right integral ri, made here when nil;
// without one it reads the right side's key counts.
func (l *lowerer) semiJoin(op *SemiJoin, cols []Column, left, right, li, ri *Node) *Node {
	other := ri
	switch {
	case op.Cond == nil:
		other = l.keyCounts(right, op.RightKey)
	case other == nil:
		other = l.integral(right, op.RightKey)
	}
	return l.add(op, cols, left, right, li, other)
}

// keyCounts returns z⁻¹(I (in mapped to key)) indexed by the key: one row
// per key, whose weight is the number of rows of in with that key.
func (l *lowerer) keyCounts(in *Node, key []Scalar) *Node {
	cols := make([]Column, len(key))
	for i, k := range key {
		cols[i] = Column{Name: fmt.Sprintf("key%d", i), Type: k.Type}
	}
	keys := l.add(&Map{Exprs: key}, cols, in)
	return l.integral(keys, wholeRow(cols))
}

// pad maps the rows of in into cols, placing them at column offset and
// NULL in every other column: an outer join's unmatched rows.
func (l *lowerer) pad(in *Node, cols []Column, offset int) *Node {
	exprs := make([]Scalar, len(cols))
	for i, c := range cols {
		if i >= offset && i < offset+len(in.Cols) {
			exprs[i] = columnOf(in.Cols, i-offset)
			continue
		}
		exprs[i] = Compile(&typecheck.Const{Value: nil, T: c.Type})
	}
	return l.add(&Map{Exprs: exprs}, cols, in)
}

// fixpoint lowers a recursive view: its base in the outer circuit, its
// step as the fixpoint's body. Parts of the step that do not read the
// view are outer nodes too, imported into the body.
func (l *lowerer) fixpoint(r *typecheck.Fixpoint) (*Node, error) {
	base, err := l.rel(r.Base)
	if err != nil {
		return nil, err
	}
	fp := &Fixpoint{View: r.Name}
	fp.Rec = l.addInner(fp, &Recurse{View: r.Name}, columns(r.Columns))
	if fp.Out, err = l.inner(fp, r.Step); err != nil {
		return nil, err
	}
	return l.add(fp, columns(r.Columns), base), nil
}

// addInner adds a node of fp's body.
func (l *lowerer) addInner(fp *Fixpoint, op Op, cols []Column, inputs ...*Node) *Node {
	n := l.add(op, cols, inputs...)
	fp.Body = append(fp.Body, n)
	return n
}

// inner lowers a relation of a fixpoint's body.
func (l *lowerer) inner(fp *Fixpoint, r typecheck.Rel) (*Node, error) {
	cols := columns(r.Cols())
	if !typecheck.ReadsRec(r) {
		outer, err := l.rel(r)
		if err != nil {
			return nil, err
		}
		return l.addInner(fp, &Import{}, outer.Cols, outer), nil
	}
	if usesClock(r) {
		return nil, fmt.Errorf("recursive view %s: now() can't be read inside a recursive view's branches yet", fp.View)
	}
	switch r := r.(type) {
	case *typecheck.RecRef:
		return fp.Rec, nil
	case *typecheck.Filter:
		in, err := l.inner(fp, r.In)
		if err != nil {
			return nil, err
		}
		return l.addInner(fp, &Filter{Pred: Compile(r.Cond)}, cols, in), nil
	case *typecheck.Project:
		in, err := l.inner(fp, r.In)
		if err != nil {
			return nil, err
		}
		return l.addInner(fp, &Map{Exprs: compileAll(r.Exprs)}, cols, in), nil
	case *typecheck.Join:
		if r.Kind != typecheck.InnerJoin && r.Kind != typecheck.CrossJoin || r.Cond != nil {
			return nil, fmt.Errorf("only inner joins on equalities can read a recursive view")
		}
		left, err := l.inner(fp, r.Left)
		if err != nil {
			return nil, err
		}
		right, err := l.inner(fp, r.Right)
		if err != nil {
			return nil, err
		}
		lk, rk := compileAll(r.LeftKeys), compileAll(r.RightKeys)
		li := l.addInner(fp, &Delay{}, left.Cols, l.addInner(fp, &Integrate{Key: lk}, left.Cols, left))
		ri := l.addInner(fp, &Delay{}, right.Cols, l.addInner(fp, &Integrate{Key: rk}, right.Cols, right))
		return l.addInner(fp, &Join{LeftKey: lk, RightKey: rk}, cols, left, right, li, ri), nil
	case *typecheck.Union:
		if r.All {
			left, err := l.inner(fp, r.Left)
			if err != nil {
				return nil, err
			}
			right, err := l.inner(fp, r.Right)
			if err != nil {
				return nil, err
			}
			return l.addInner(fp, &Sum{}, cols, left, right), nil
		}
	}
	return nil, fmt.Errorf("%T over a recursive view can't be evaluated in a fixpoint", r)
}

// usesClock reports whether the operator r itself (not its inputs)
// evaluates an expression that reads the clock.
func usesClock(r typecheck.Rel) bool {
	var exprs []typecheck.Expr
	switch r := r.(type) {
	case *typecheck.Filter:
		exprs = []typecheck.Expr{r.Cond}
	case *typecheck.Project:
		exprs = r.Exprs
	case *typecheck.Join:
		exprs = append(append([]typecheck.Expr{}, r.LeftKeys...), r.RightKeys...)
	}
	for _, x := range exprs {
		if typecheck.UsesClock(x) {
			return true
		}
	}
	return false
}

// sides lowers the two inputs of a binary relation.
func (l *lowerer) sides(a, b typecheck.Rel) (*Node, *Node, error) {
	left, err := l.rel(a)
	if err != nil {
		return nil, nil, err
	}
	right, err := l.rel(b)
	if err != nil {
		return nil, nil, err
	}
	return left, right, nil
}
