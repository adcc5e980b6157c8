package typecheck

import (
	"strings"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// binding is one named relation visible in a pipeline's rows: its columns
// sit at offset.. in the row.
type binding struct {
	alias  string
	offset int
	cols   []Column
}

// scope is what names an expression of a pipeline stage can see.
type scope struct {
	bindings []binding
}

func (s *scope) width() int {
	w := 0
	for _, b := range s.bindings {
		w += len(b.cols)
	}
	return w
}

func single(alias string, cols []Column) *scope {
	return &scope{bindings: []binding{{alias: alias, cols: cols}}}
}

// pipeline checks a pipeline; it returns nil when the pipeline is too broken
// to type its output.
func (c *checker) pipeline(p *lang.Pipeline, _ string) (Rel, *scope) {
	rel, sc := c.term(p.From)
	for _, st := range p.Stages {
		if rel == nil {
			return nil, nil
		}
		rel, sc = c.stage(st, rel, sc)
	}
	return rel, sc
}

func (c *checker) term(t lang.Term) (Rel, *scope) {
	switch t := t.(type) {
	case *lang.RelRef:
		alias := t.Name.Name
		if t.Alias != nil {
			alias = t.Alias.Name
		}
		if tab, ok := c.tables[t.Name.Name]; ok {
			if tab == nil {
				return nil, nil // a source whose errors are reported already
			}
			return &Scan{Table: tab}, single(alias, tab.Columns)
		}
		if vs, ok := c.views[t.Name.Name]; ok {
			if vs.checking {
				c.cycle(t.Name)
				return nil, nil
			}
			v := c.view(vs)
			if v == nil {
				return nil, nil
			}
			return &ViewRef{View: v}, single(alias, v.Columns)
		}
		var names []string
		for n := range c.tables {
			names = append(names, n)
		}
		for n := range c.views {
			names = append(names, n)
		}
		c.errorHint(t.Name, didYouMean(t.Name.Name, names), "unknown table or view %s", t.Name.Name)
		return nil, nil
	case *lang.ValuesTerm:
		alias := "values"
		if t.Alias != nil {
			alias = t.Alias.Name
		}
		v := c.values(t)
		if v == nil {
			return nil, nil
		}
		return v, single(alias, v.Columns)
	case *lang.SubPipeline:
		rel, sc := c.pipeline(t.Query, "")
		if rel == nil {
			return nil, nil
		}
		if t.Alias != nil {
			return rel, single(t.Alias.Name, rel.Cols())
		}
		return rel, sc
	}
	panic("typecheck: unknown term")
}

// cycle reports a reference to a view that is being checked: the views
// from it to the reference refer to one another.
func (c *checker) cycle(ref *lang.Ident) {
	const hint = "fixpoint views arrive with recursion support"
	i := indexOf(c.checking, ref.Name)
	loop := append(append([]string{}, c.checking[i:]...), ref.Name)
	if len(loop) == 2 {
		c.errorHint(ref, hint, "view %s refers to itself: recursive views are not yet implemented", ref.Name)
		return
	}
	c.errorHint(ref, hint, "views %s refer to each other (%s): recursive views are not yet implemented",
		joinAnd(loop[:len(loop)-1]), strings.Join(loop, " -> "))
}

func joinAnd(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func (c *checker) values(t *lang.ValuesTerm) *Values {
	v := &Values{}
	ok := true
	for ri, r := range t.Rows {
		var row []Expr
		for i, f := range r.Fields {
			if f.Name == nil {
				c.errorf(f, "each field of a values row needs a name: write name = value")
				ok = false
				continue
			}
			x := c.expr(f.Value, &exprCtx{scope: &scope{}})
			if UsesClock(x) {
				c.errorHint(f.Value, "compute it in a select after the values", "a values row is constant: it can't read the clock")
				ok = false
				continue
			}
			switch {
			case ri == 0:
				v.Columns = append(v.Columns, Column{Name: f.Name.Name, Type: x.Type()})
			case i >= len(v.Columns) || v.Columns[i].Name != f.Name.Name:
				c.errorf(f, "values rows must have the same fields in the same order as the first row")
				ok = false
				continue
			default:
				u, good := unify(v.Columns[i].Type, x.Type())
				if !good {
					c.errorf(f.Value, "field %s is %s here but %s in the first row", f.Name.Name, x.Type(), v.Columns[i].Type)
					ok = false
				}
				v.Columns[i].Type = u
			}
			row = append(row, x)
		}
		if ri > 0 && len(row) != len(v.Columns) && ok {
			c.errorf(r, "values rows must have the same fields as the first row")
			ok = false
		}
		v.Rows = append(v.Rows, row)
	}
	for i, col := range v.Columns {
		if col.Type.Kind == types.Null && ok {
			c.errorHint(t.Rows[0].Fields[i].Value, "give one row a typed value", "the type of values column %s is unknown: every value is null", col.Name)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	for _, row := range v.Rows {
		for i, x := range row {
			row[i] = castTo(x, v.Columns[i].Type)
		}
	}
	return v
}

// unify returns the type both a and b fit in: the wider number type, and
// nullable when either is.
func unify(a, b types.Type) (types.Type, bool) {
	switch {
	case a.Kind == types.Invalid || b.Kind == types.Invalid:
		return types.Type{}, true
	case a.Kind == types.Null:
		return b.OrNull(), true
	case b.Kind == types.Null:
		return a.OrNull(), true
	}
	if t, ok := stdlib.Promote(a, b); ok {
		return t, true
	}
	if timeRank(a.Kind) > 0 && timeRank(b.Kind) > 0 && a.Kind != b.Kind {
		// A date is a timestamp at midnight, a timestamp a timestamptz
		// in UTC: they meet in the later kind.
		t := a
		if timeRank(b.Kind) > timeRank(a.Kind) {
			t = b
		}
		t.Nullable = a.Nullable || b.Nullable
		return t, true
	}
	if a.NotNull().Identical(b.NotNull()) {
		a.Nullable = a.Nullable || b.Nullable
		return a, true
	}
	return types.Type{}, false
}

// castTo wraps x in a Cast when its number or time kind differs from
// t's.
func castTo(x Expr, t types.Type) Expr {
	xt := x.Type()
	numbers := xt.IsNumeric() && t.IsNumeric()
	times := timeRank(xt.Kind) > 0 && timeRank(t.Kind) > 0
	if xt.Kind == t.Kind || !numbers && !times {
		return x
	}
	t.Nullable = xt.Nullable
	return &Cast{X: x, T: t}
}

func (c *checker) stage(st lang.Stage, in Rel, sc *scope) (Rel, *scope) {
	switch st := st.(type) {
	case *lang.WhereStage:
		cond := c.expr(st.Cond, &exprCtx{scope: sc})
		c.wantBool(st.Cond, cond, "where condition")
		return &Filter{In: in, Cond: cond}, sc
	case *lang.SelectStage:
		p := &Project{In: in}
		ok := true
		seen := map[string]bool{}
		for _, f := range st.Fields {
			x := c.expr(f.Value, &exprCtx{scope: sc})
			name, named := c.fieldName(f)
			if !named {
				ok = false
				continue
			}
			if seen[name] {
				c.errorf(f, "select names %s twice", name)
				ok = false
			}
			seen[name] = true
			p.Exprs = append(p.Exprs, x)
			p.Columns = append(p.Columns, Column{Name: name, Type: x.Type()})
		}
		if !ok {
			return nil, nil
		}
		return p, single(sc.alias(), p.Columns)
	case *lang.JoinStage:
		return c.join(st, in, sc)
	case *lang.GroupStage:
		return c.group(st, in, sc)
	case *lang.DistinctStage:
		return &Distinct{In: in}, sc
	case *lang.SetStage:
		if st.Op != "union" {
			c.errorf(st, "%s is not yet implemented", st.Op)
			return nil, nil
		}
		right, _ := c.term(st.Right)
		if right == nil {
			return nil, nil
		}
		lc, rc := in.Cols(), right.Cols()
		if len(lc) != len(rc) {
			c.errorf(st.Right, "union of relations with %d and %d columns", len(lc), len(rc))
			return nil, nil
		}
		u := &Union{Left: in, Right: right, All: st.All}
		for i := range lc {
			t, ok := unify(lc[i].Type, rc[i].Type)
			if !ok {
				c.errorf(st.Right, "union column %d (%s) is %s on the left but %s on the right", i+1, lc[i].Name, lc[i].Type, rc[i].Type)
				return nil, nil
			}
			u.Columns = append(u.Columns, Column{Name: lc[i].Name, Type: t})
		}
		u.Left = c.castRel(in, u.Columns)
		u.Right = c.castRel(right, u.Columns)
		return u, single(sc.alias(), u.Columns)
	case *lang.TopStage:
		c.errorf(st, "top is not yet implemented")
	case *lang.FlattenStage:
		return c.flatten(st, in, sc)
	}
	return nil, nil
}

// flatten checks flatten name = array: the input's columns and the
// element, a new column qualified like the pipeline's first term.
func (c *checker) flatten(st *lang.FlattenStage, in Rel, sc *scope) (Rel, *scope) {
	x := c.expr(st.Value, &exprCtx{scope: sc})
	t := x.Type()
	switch {
	case t.Kind == types.Invalid:
		return nil, nil
	case t.Kind != types.Array:
		c.errorHint(st.Value, "split text into an array with string_to_array(s, sep)", "flatten needs an array, not %s", t)
		return nil, nil
	case c.lookup(st.Name.Name, sc) != nil:
		c.errorHint(st.Name, "choose another name", "flatten names %s, which is already a column", st.Name.Name)
		return nil, nil
	}
	col := Column{Name: st.Name.Name, Type: *t.Elem}
	f := &Flatten{In: in, Elem: x, Columns: append(append([]Column{}, in.Cols()...), col)}
	out := &scope{bindings: append(append([]binding{}, sc.bindings...), binding{alias: sc.alias(), offset: sc.width(), cols: []Column{col}})}
	return f, out
}

// castRel projects rel to cols' number types where they differ.
func (c *checker) castRel(rel Rel, cols []Column) Rel {
	have := rel.Cols()
	same := true
	var exprs []Expr
	for i, col := range have {
		x := castTo(&ColRef{Index: i, Name: col.Name, T: col.Type}, cols[i].Type)
		if _, isCast := x.(*Cast); isCast {
			same = false
		}
		exprs = append(exprs, x)
	}
	if same {
		return rel
	}
	out := make([]Column, len(have))
	for i := range have {
		out[i] = Column{Name: cols[i].Name, Type: exprs[i].Type()}
	}
	return &Project{In: rel, Exprs: exprs, Columns: out}
}

func (s *scope) alias() string {
	if len(s.bindings) > 0 {
		return s.bindings[0].alias
	}
	return ""
}

// fieldName returns the name of a field: its own, or that of the column it
// reads.
func (c *checker) fieldName(f *lang.Field) (string, bool) {
	if f.Name != nil {
		return f.Name.Name, true
	}
	switch x := f.Value.(type) {
	case *lang.Name:
		return x.Name, true
	case *lang.Selector:
		return x.Sel.Name, true
	}
	c.errorHint(f.Value, "write name = expression", "this field needs a name")
	return "", false
}

func (c *checker) join(st *lang.JoinStage, left Rel, lsc *scope) (Rel, *scope) {
	if st.Kind != "inner" {
		c.errorf(st, "%s join is not yet implemented", st.Kind)
		return nil, nil
	}
	right, rsc := c.term(st.Right)
	if right == nil {
		return nil, nil
	}
	lw := lsc.width()
	joined := &scope{}
	joined.bindings = append(joined.bindings, lsc.bindings...)
	for _, b := range rsc.bindings {
		b.offset += lw
		joined.bindings = append(joined.bindings, b)
	}
	for i, a := range lsc.bindings {
		for _, b := range rsc.bindings {
			if a.alias == b.alias {
				c.errorHint(st.Right, "rename one side with as", "both sides of the join are named %s", a.alias)
				_ = i
				return nil, nil
			}
		}
	}
	if st.On == nil {
		c.errorf(st, "a join needs a condition: on left.key == right.key")
		return nil, nil
	}
	j := &Join{Left: left, Right: right}
	var residual []Expr
	ok := true
	for _, conj := range conjuncts(st.On) {
		x := c.expr(conj, &exprCtx{scope: joined})
		if x.Type().Kind == types.Invalid {
			ok = false
			continue
		}
		// An equality that reads the clock is no key (keys index the
		// rows as they are): it filters the joined rows instead.
		if b, isEq := x.(*Binary); isEq && b.Op == "==" && !UsesClock(b) {
			ls, rs := side(b.X, lw), side(b.Y, lw)
			switch {
			case ls == sideLeft && rs == sideRight:
				c.addKey(j, b.X, shift(b.Y, -lw))
				continue
			case ls == sideRight && rs == sideLeft:
				c.addKey(j, b.Y, shift(b.X, -lw))
				continue
			}
		}
		c.wantBool(conj, x, "join condition")
		residual = append(residual, x)
	}
	if !ok {
		// Keep checking later stages against the joined scope; the
		// program is already rejected.
		return j, joined
	}
	if len(j.LeftKeys) == 0 {
		c.errorHint(st.On, "compare a column of each side with ==", "join condition has no equality between the two sides: cross joins are not yet implemented")
		return nil, nil
	}
	var rel Rel = j
	for _, r := range residual {
		rel = &Filter{In: rel, Cond: r}
	}
	return rel, joined
}

func (c *checker) addKey(j *Join, l, r Expr) {
	if t, ok := stdlib.Promote(l.Type(), r.Type()); ok {
		l, r = castTo(l, t), castTo(r, t)
	}
	j.LeftKeys = append(j.LeftKeys, l)
	j.RightKeys = append(j.RightKeys, r)
}

// conjuncts splits a condition on "and".
func conjuncts(x lang.Expr) []lang.Expr {
	if p, ok := x.(*lang.ParenExpr); ok {
		return conjuncts(p.X)
	}
	if b, ok := x.(*lang.Binary); ok && b.Op == "and" {
		return append(conjuncts(b.X), conjuncts(b.Y)...)
	}
	return []lang.Expr{x}
}

type sideKind int

const (
	sideNone sideKind = iota
	sideLeft
	sideRight
	sideBoth
)

// side says which side of a join an expression's columns come from.
func side(x Expr, leftWidth int) sideKind {
	s := sideNone
	Walk(x, func(e Expr) {
		if r, ok := e.(*ColRef); ok {
			this := sideLeft
			if r.Index >= leftWidth {
				this = sideRight
			}
			if s == sideNone {
				s = this
			} else if s != this {
				s = sideBoth
			}
		}
	})
	return s
}

// shift returns x with every column index moved by delta.
func shift(x Expr, delta int) Expr {
	switch x := x.(type) {
	case *ColRef:
		return &ColRef{Index: x.Index + delta, Name: x.Name, T: x.T}
	case *Unary:
		return &Unary{Op: x.Op, X: shift(x.X, delta), T: x.T}
	case *Binary:
		return &Binary{Op: x.Op, X: shift(x.X, delta), Y: shift(x.Y, delta), T: x.T}
	case *IsNull:
		return &IsNull{X: shift(x.X, delta), Not: x.Not}
	case *Call:
		args := make([]Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = shift(a, delta)
		}
		return &Call{Func: x.Func, Args: args, T: x.T}
	case *If:
		return &If{Cond: shift(x.Cond, delta), Then: shift(x.Then, delta), Else: shift(x.Else, delta), T: x.T}
	case *Cast:
		return &Cast{X: shift(x.X, delta), T: x.T}
	case *Let:
		return &Let{Slot: x.Slot, Name: x.Name, X: shift(x.X, delta), Body: shift(x.Body, delta)}
	case *FuncCall:
		args := make([]Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = shift(a, delta)
		}
		return &FuncCall{Func: x.Func, Args: args, NullIf: x.NullIf, T: x.T}
	}
	return x
}

func (c *checker) group(st *lang.GroupStage, in Rel, sc *scope) (Rel, *scope) {
	g := &Group{In: in}
	ok := true
	var keyNames []string
	for _, k := range st.Keys {
		x := c.expr(k.Value, &exprCtx{scope: sc})
		name, named := c.fieldName(k)
		if !named {
			ok = false
			continue
		}
		g.Keys = append(g.Keys, x)
		keyNames = append(keyNames, name)
		g.Columns = append(g.Columns, Column{Name: name, Type: x.Type()})
	}
	if !ok {
		return nil, nil
	}
	ctx := &exprCtx{scope: sc, group: &groupCtx{keys: keyNames, keyTypes: columnTypes(g.Columns)}}
	var outs []Expr
	var names []string
	for _, f := range st.Aggs {
		if f.Name == nil {
			c.errorHint(f.Value, "write name = aggregate(...)", "this aggregate needs a name")
			ok = false
			continue
		}
		x := c.expr(f.Value, ctx)
		if indexOf(keyNames, f.Name.Name) >= 0 || indexOf(names, f.Name.Name) >= 0 {
			c.errorf(f.Name, "group names %s twice", f.Name.Name)
			ok = false
		}
		outs = append(outs, x)
		names = append(names, f.Name.Name)
	}
	if !ok {
		return nil, nil
	}
	g.Aggs = ctx.group.aggs
	nk := len(g.Keys)
	identity := len(outs) == len(g.Aggs)
	for i, x := range outs {
		if r, isRef := x.(*ColRef); !isRef || r.Index != nk+i {
			identity = false
		}
	}
	if identity {
		for i, a := range g.Aggs {
			g.Columns = append(g.Columns, Column{Name: names[i], Type: a.Type})
		}
		return g, single(sc.alias(), g.Columns)
	}
	for i := range g.Keys {
		g.Out = append(g.Out, &ColRef{Index: i, Name: keyNames[i], T: g.Columns[i].Type})
	}
	g.Out = append(g.Out, outs...)
	for i, x := range outs {
		g.Columns = append(g.Columns, Column{Name: names[i], Type: x.Type()})
	}
	return g, single(sc.alias(), g.Columns)
}

func columnTypes(cols []Column) []types.Type {
	out := make([]types.Type, len(cols))
	for i, c := range cols {
		out[i] = c.Type
	}
	return out
}
