package lang

import (
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// converter turns grammar structs into the AST, collecting the few errors
// that only show once a token's text is read (bad escapes, huge numbers).
type converter struct {
	errs ErrorList
}

func sp(pos, end lexer.Position) span { return span{Pos: pos, End: end} }

func (c *converter) file(g *program) *File {
	f := &File{span: sp(g.Pos, g.EndPos)}
	for _, d := range g.Decls {
		f.Decls = append(f.Decls, c.decl(d))
	}
	return f
}

func (c *converter) decl(g *declaration) Decl {
	switch {
	case g.Table != nil:
		t := g.Table
		cols, pk := c.columnItems(t.Items)
		return &TableDecl{span: sp(t.Pos, t.EndPos), Name: ident(t.Name), Columns: cols, PrimaryKey: pk, Watermark: c.watermark(t.Watermark)}
	case g.Source != nil:
		s := g.Source
		cols, pk := c.columnItems(s.Items)
		return &SourceDecl{span: sp(s.Pos, s.EndPos), Name: ident(s.Name), Table: qualName(s.Table), Columns: cols, PrimaryKey: pk, Watermark: c.watermark(s.Watermark)}
	case g.View != nil:
		v := g.View
		return &ViewDecl{span: sp(v.Pos, v.EndPos), Name: ident(v.Name), Query: c.pipeline(v.Query)}
	case g.Output != nil:
		o := g.Output
		out := &OutputDecl{span: sp(o.Pos, o.EndPos), Name: ident(o.Name)}
		if o.Table != nil {
			out.Table = qualName(o.Table)
		}
		for _, ix := range o.Indexes {
			out.Indexes = append(out.Indexes, idents(ix.Names))
		}
		if o.PrimaryKey != nil {
			out.PrimaryKey = idents(o.PrimaryKey.Names)
		}
		return out
	default:
		fn := g.Func
		d := &FuncDecl{span: sp(fn.Pos, fn.EndPos), Name: ident(fn.Name), Result: typeExpr(fn.Result), Body: c.expr(fn.Body)}
		for _, p := range fn.Params {
			d.Params = append(d.Params, column(p))
		}
		return d
	}
}

func (c *converter) columnItems(items []*columnOrKey) (cols []*ColumnDef, pk []*Ident) {
	for _, it := range items {
		if it.Column != nil {
			cols = append(cols, column(it.Column))
			continue
		}
		if pk != nil {
			p, e := it.PrimaryKey[0].Pos, it.PrimaryKey[0].EndPos
			c.errs.Add(p, e, "", "primary key given twice")
		}
		pk = idents(it.PrimaryKey)
	}
	return cols, pk
}

func (c *converter) watermark(g *watermarkDecl) *Watermark {
	if g == nil {
		return nil
	}
	w := &Watermark{span: sp(g.Pos, g.EndPos), Column: ident(g.Column)}
	if g.Lateness != nil {
		w.Lateness = c.typedLit(g.Lateness)
	}
	return w
}

// typedLit converts interval "7 days" and the like.
func (c *converter) typedLit(g *typedLit) *TypedLit {
	v, err := strconv.Unquote(g.Value)
	if err != nil {
		c.errs.Add(g.Pos, g.EndPos, "", "invalid string literal %s", g.Value)
	}
	t := ident(g.Type)
	t.Name = strings.ToLower(t.Name)
	return &TypedLit{span: sp(g.Pos, g.EndPos), Type: t, Value: v}
}

func column(g *columnDef) *ColumnDef {
	return &ColumnDef{span: sp(g.Pos, g.EndPos), Name: ident(g.Name), Type: typeExpr(g.Type)}
}

func typeExpr(g *typeName) *TypeExpr {
	return &TypeExpr{span: sp(g.Pos, g.EndPos), Name: strings.ToLower(g.Name), Args: g.Args, Array: g.Array, Nullable: g.Nullable}
}

func ident(g *identifier) *Ident {
	if g == nil {
		return nil
	}
	return &Ident{span: sp(g.Pos, g.EndPos), Name: unquoteIdent(g.Name)}
}

func idents(gs []*identifier) []*Ident {
	out := make([]*Ident, len(gs))
	for i, g := range gs {
		out[i] = ident(g)
	}
	return out
}

func qualName(g *tableName) *QualName {
	q := &QualName{span: sp(g.Pos, g.EndPos)}
	for _, p := range g.Parts {
		q.Parts = append(q.Parts, unquoteIdent(p))
	}
	return q
}

// unquoteIdent strips the backquotes of a quoted identifier.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '`' {
		return s[1 : len(s)-1]
	}
	return s
}

func (c *converter) pipeline(g *pipeline) *Pipeline {
	p := &Pipeline{span: sp(g.Pos, g.EndPos), From: c.term(g.From)}
	for _, st := range g.Stages {
		p.Stages = append(p.Stages, c.stage(st))
	}
	return p
}

func (c *converter) term(g *relation) Term {
	s := sp(g.Pos, g.EndPos)
	switch {
	case g.Values != nil:
		v := &ValuesTerm{span: s, Alias: ident(g.Alias)}
		for _, r := range g.Values {
			v.Rows = append(v.Rows, c.record(r))
		}
		return v
	case g.Sub != nil:
		return &SubPipeline{span: s, Query: c.pipeline(g.Sub), Alias: ident(g.Alias)}
	default:
		return &RelRef{span: s, Name: ident(g.Ref), Alias: ident(g.Alias)}
	}
}

func (c *converter) stage(g *stage) Stage {
	s := sp(g.Pos, g.EndPos)
	switch {
	case g.Where != nil:
		return &WhereStage{span: s, Cond: c.expr(g.Where)}
	case g.Select != nil:
		return &SelectStage{span: s, Fields: c.fields(g.Select)}
	case g.Join != nil:
		kind := g.Join.Kind
		if kind == "" {
			kind = "inner"
		}
		j := &JoinStage{span: s, Kind: kind, Right: c.term(g.Join.Right)}
		if g.Join.On != nil {
			j.On = c.expr(g.Join.On)
		}
		return j
	case g.Group != nil:
		return &GroupStage{span: s, Keys: c.fields(g.Group.Keys), Aggs: c.fields(g.Group.Aggs)}
	case g.Distinct:
		return &DistinctStage{span: s}
	case g.Set != nil:
		return &SetStage{span: s, Op: LookupSet(g.Set.Op), All: g.Set.All, Right: c.term(g.Set.Right)}
	case g.Top != nil:
		t := &TopStage{span: s, N: g.Top.N, By: c.orderKeys(g.Top.By)}
		for _, x := range g.Top.Per {
			t.Per = append(t.Per, c.expr(x))
		}
		return t
	case g.Session != nil:
		st := &SessionStage{span: s, Time: c.expr(g.Session.Time), Gap: c.expr(g.Session.Gap)}
		for _, x := range g.Session.Per {
			st.Per = append(st.Per, c.expr(x))
		}
		return st
	case g.Stamp != nil:
		return &StampStage{span: s, Name: ident(g.Stamp)}
	case g.Tumble != nil:
		return &TumbleStage{span: s, Time: c.expr(g.Tumble.Time), Every: c.expr(g.Tumble.Every)}
	case g.Hop != nil:
		return &HopStage{span: s, Time: c.expr(g.Hop.Time), Every: c.expr(g.Hop.Every), Size: c.expr(g.Hop.Size)}
	case g.Window != nil:
		w := &WindowStage{span: s, By: c.orderKeys(g.Window.By), Fields: c.fields(g.Window.Fields)}
		for _, x := range g.Window.Per {
			w.Per = append(w.Per, c.expr(x))
		}
		return w
	default:
		return &FlattenStage{span: s, Name: ident(g.Flatten.Name), Value: c.expr(g.Flatten.Value)}
	}
}

func (c *converter) orderKeys(gs []*orderKey) []*OrderKey {
	var out []*OrderKey
	for _, k := range gs {
		out = append(out, &OrderKey{span: sp(k.Pos, k.EndPos), X: c.expr(k.X), Desc: k.Dir == "desc"})
	}
	return out
}

func (c *converter) fields(gs []*field) []*Field {
	var out []*Field
	for _, f := range gs {
		out = append(out, &Field{span: sp(f.Pos, f.EndPos), Name: ident(f.Name), Value: c.expr(f.Value)})
	}
	return out
}

func (c *converter) record(g *record) *RecordLit {
	return &RecordLit{span: sp(g.Pos, g.EndPos), Fields: c.fields(g.Fields)}
}

func (c *converter) expr(g *expression) Expr {
	x := c.and(g.Left)
	for _, r := range g.Rest {
		x = binary(Or, x, c.and(r))
	}
	return x
}

func (c *converter) and(g *exprAnd) Expr {
	x := c.not(g.Left)
	for _, r := range g.Rest {
		x = binary(And, x, c.not(r))
	}
	return x
}

func (c *converter) not(g *exprNot) Expr {
	if g.Not != nil {
		return &Unary{span: sp(g.Pos, g.EndPos), Op: Not, X: c.not(g.Not)}
	}
	return c.cmp(g.Cmp)
}

func (c *converter) cmp(g *exprCmp) Expr {
	x := c.coalesce(g.Left)
	switch t := g.Tail; {
	case t == nil:
		return x
	case t.Like != "":
		op := t.Like
		if t.NotLike {
			op = "not " + op
		}
		return binary(binaryOp(op), x, c.coalesce(t.Pattern))
	case len(t.In) > 0:
		// x in (a, b) is x == a or x == b, as SQL defines IN (NULL
		// where no value equals and one is NULL); not in is its not.
		var in Expr
		for _, v := range t.In {
			eq := binary(Eq, x, c.coalesce(v))
			if in == nil {
				in = eq
			} else {
				in = binary(Or, in, eq)
			}
		}
		if t.NotIn {
			return &Unary{span: sp(g.Pos, g.EndPos), Op: Not, X: &ParenExpr{span: sp(g.Pos, g.EndPos), X: in}}
		}
		return &ParenExpr{span: sp(g.Pos, g.EndPos), X: in}
	case t.Is && t.Distinct != nil:
		op := IsDistinctFrom
		if t.Not {
			op = IsNotDistinctFrom
		}
		y := c.coalesce(t.Distinct)
		_, e := y.Span()
		return &Binary{span: span{Pos: g.Pos, End: e}, Op: op, X: x, Y: y}
	case t.Is:
		return &IsNull{span: sp(g.Pos, g.EndPos), X: x, Not: t.Not}
	default:
		return binary(binaryOp(t.Op), x, c.coalesce(t.Right))
	}
}

func (c *converter) coalesce(g *exprCoalesce) Expr {
	x := c.concat(g.Left)
	for _, r := range g.Rest {
		x = binary(Coalesce, x, c.concat(r))
	}
	return x
}

func (c *converter) concat(g *exprConcat) Expr {
	x := c.add(g.Left)
	for _, r := range g.Rest {
		x = binary(Concat, x, c.add(r))
	}
	return x
}

func (c *converter) add(g *exprAdd) Expr {
	x := c.mul(g.Left)
	for _, op := range g.Ops {
		x = binary(binaryOp(op.Op), x, c.mul(op.Right))
	}
	return x
}

func (c *converter) mul(g *exprMul) Expr {
	x := c.unary(g.Left)
	for _, op := range g.Ops {
		x = binary(binaryOp(op.Op), x, c.unary(op.Right))
	}
	return x
}

// binaryOp is the operator of a token the grammar accepted as a binary
// operator; the grammar admits no other, so a miss is a bug here.
func binaryOp(text string) Op {
	op, ok := LookupBinary(text)
	if !ok {
		panic("lang: the grammar accepted an unknown binary operator " + strconv.Quote(text))
	}
	return op
}

func binary(op Op, x, y Expr) Expr {
	p, _ := x.Span()
	_, e := y.Span()
	return &Binary{span: span{Pos: p, End: e}, Op: op, X: x, Y: y}
}

func (c *converter) caseExpr(s span, g *caseExpr) Expr {
	x := &CaseExpr{span: s}
	if g.Subject != nil {
		x.Subject = c.expr(g.Subject)
	}
	for _, w := range g.Whens {
		x.Whens = append(x.Whens, &CaseWhen{span: sp(w.Pos, w.EndPos), When: c.expr(w.When), Then: c.expr(w.Then)})
	}
	if g.Else != nil {
		x.Else = c.expr(g.Else)
	}
	return x
}

func (c *converter) unary(g *exprUnary) Expr {
	if g.Neg != nil {
		return &Unary{span: sp(g.Pos, g.EndPos), Op: Neg, X: c.unary(g.Neg)}
	}
	x := c.primary(g.Postfix.Primary)
	for _, op := range g.Postfix.Ops {
		p, _ := x.Span()
		s := span{Pos: p, End: op.EndPos}
		switch {
		case op.Field != nil:
			x = &Selector{span: s, X: x, Sel: ident(op.Field)}
		case op.Cast != nil:
			x = &CastExpr{span: s, X: x, Type: typeExpr(op.Cast)}
		case op.Index != nil:
			x = &IndexExpr{span: s, X: x, Index: c.expr(op.Index)}
		default:
			x = &Binary{span: s, Op: binaryOp(op.Arrow), X: x, Y: c.primary(op.Key)}
		}
	}
	return x
}

func (c *converter) primary(g *operand) Expr {
	s := sp(g.Pos, g.EndPos)
	switch {
	case g.Number != nil:
		kind := IntLit
		if strings.ContainsAny(*g.Number, "eE") {
			kind = FloatLit
		} else if strings.Contains(*g.Number, ".") {
			kind = DecimalLit
		}
		return &Literal{span: s, Kind: kind, Value: *g.Number}
	case g.String != nil:
		v, err := strconv.Unquote(*g.String)
		if err != nil {
			c.errs.Add(g.Pos, g.EndPos, "", "invalid string literal %s", *g.String)
		}
		return &Literal{span: s, Kind: StringLit, Value: v}
	case g.True:
		return &Literal{span: s, Kind: BoolLit, Value: "true"}
	case g.False:
		return &Literal{span: s, Kind: BoolLit, Value: "false"}
	case g.Null:
		return &Literal{span: s, Kind: NullLit, Value: "null"}
	case g.If != nil:
		return &IfExpr{span: s, Cond: c.expr(g.If.Cond), Then: c.expr(g.If.Then), Else: c.expr(g.If.Else)}
	case g.Case != nil:
		return c.caseExpr(s, g.Case)
	case g.Let != nil:
		l := &LetExpr{span: s, Body: c.expr(g.Let.Body)}
		for _, b := range g.Let.Bindings {
			l.Bindings = append(l.Bindings, &LetBinding{span: sp(b.Pos, b.EndPos), Name: ident(b.Name), Value: c.expr(b.Value)})
		}
		return l
	case g.Cast != nil:
		return &CastExpr{span: s, X: c.expr(g.Cast.X), Type: typeExpr(g.Cast.Type)}
	case g.Position != nil:
		return &Call{span: s, Fun: &Ident{span: s, Name: g.Position.Fun}, Args: []Expr{c.coalesce(g.Position.Sub), c.expr(g.Position.In)}}
	case g.Extract != nil:
		f := ident(g.Extract.Field)
		field := &Literal{span: f.span, Kind: StringLit, Value: f.Name}
		return &Call{span: s, Fun: &Ident{span: s, Name: g.Extract.Fun}, Args: []Expr{field, c.expr(g.Extract.From)}}
	case g.Typed != nil:
		return c.typedLit(g.Typed)
	case g.Call != nil:
		call := &Call{span: s, Fun: ident(g.Call.Fun), Distinct: g.Call.Distinct, OrderBy: c.orderKeys(g.Call.OrderBy)}
		for _, a := range g.Call.Args {
			call.Args = append(call.Args, c.expr(a))
		}
		if g.Call.Filter != nil {
			call.Filter = c.expr(g.Call.Filter)
		}
		if g.Call.Frame != nil {
			n, err := strconv.Atoi(*g.Call.Frame)
			if err != nil || n < 0 {
				c.errs.Add(g.Pos, g.EndPos, "", "rows N preceding takes a whole number of rows")
			}
			call.Frame = &n
		}
		return call
	case g.Name != nil:
		return &Name{span: s, Name: unquoteIdent(g.Name.Name)}
	case g.Paren != nil:
		return &ParenExpr{span: s, X: c.expr(g.Paren)}
	default:
		return c.record(g.Record)
	}
}
