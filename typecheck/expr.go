package typecheck

import (
	"math"
	"slices"
	"strconv"

	"github.com/stepping-io/stepping/internal/suggest"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// exprCtx is where an expression is checked: the row scope, inside a
// group's aggregate list the group being built, and the local names (let
// bindings, function parameters) in scope.
type exprCtx struct {
	scope *scope
	group *groupCtx
	inAgg bool // inside an aggregate's arguments
	// locals are the let bindings and parameters in scope, innermost
	// last; a binding's slot is its index.
	locals []local
	// outside are the locals bound outside the aggregate call whose
	// arguments are being checked, which those arguments can't see.
	outside []local
	// fn is the function whose body is being checked, nil in a pipeline.
	fn *Function
}

// local is a name bound by let, or a function parameter.
type local struct {
	name string
	t    types.Type
}

// bind returns a context with one more local, and the new local's slot.
func (ctx *exprCtx) bind(name string, t types.Type) (*exprCtx, int) {
	inner := *ctx
	inner.locals = append(append([]local{}, ctx.locals...), local{name, t})
	return &inner, len(ctx.locals)
}

// isLocal reports whether name is a let-bound local or parameter here.
func (ctx *exprCtx) isLocal(name string) bool {
	_, ok := ctx.lookupLocal(name)
	return ok
}

// lookupLocal finds the innermost local of the given name.
func (ctx *exprCtx) lookupLocal(name string) (*Local, bool) {
	for i := len(ctx.locals) - 1; i >= 0; i-- {
		if l := ctx.locals[i]; l.name == name {
			return &Local{Slot: i, Name: name, T: l.t}, true
		}
	}
	return nil, false
}

// groupCtx collects the aggregate calls of a group stage. Outside
// aggregate arguments, expressions see the group's row: keys then
// aggregates.
type groupCtx struct {
	keys     []string
	keyTypes []types.Type
	aggs     []AggCall
}

var invalid = &Const{T: types.Type{}}

func (c *checker) wantBool(n lang.Node, x Expr, what string) {
	t := x.Type()
	if t.Kind != types.Bool && t.Kind != types.Invalid && t.Kind != types.Null {
		c.errorf(n, "%s must be bool, not %s", what, t)
	}
}

// expr checks an expression; on error it reports and returns an
// expression of invalid type, which later checks accept silently. The
// result keeps e's span (see place) for errors while the program runs.
func (c *checker) expr(e lang.Expr, ctx *exprCtx) Expr {
	x := c.checkExpr(e, ctx)
	if x != invalid {
		place(x, lang.SpanOf(e))
	}
	return x
}

// checkExpr is expr before the spans are placed.
func (c *checker) checkExpr(e lang.Expr, ctx *exprCtx) Expr {
	switch e := e.(type) {
	case *lang.ParenExpr:
		return c.expr(e.X, ctx)
	case *lang.Literal:
		return c.literal(e)
	case *lang.TypedLit:
		return c.typedLiteral(e)
	case *lang.CastExpr:
		return c.cast(e, c.expr(e.X, ctx))
	case *lang.LetExpr:
		return c.let(e, ctx)
	case *lang.CaseExpr:
		return c.caseExpr(e, ctx)
	case *lang.Name:
		return c.name(e, ctx)
	case *lang.Selector:
		return c.selector(e, ctx)
	case *lang.Unary:
		x := c.expr(e.X, ctx)
		t := x.Type()
		if t.Kind == types.Invalid {
			return invalid
		}
		if e.Op == lang.Not {
			c.wantBool(e.X, x, "operand of not")
			return &Unary{Op: lang.Not, X: x, T: types.Type{Kind: types.Bool, Nullable: t.Nullable, Scale: -1}}
		}
		if t.Kind == types.Null {
			return &Const{Value: nil, T: t}
		}
		if _, err := stdlib.Negate(t); err != nil {
			c.errorf(e, "%v", err)
			return invalid
		}
		return &Unary{Op: lang.Neg, X: x, T: t}
	case *lang.Binary:
		return c.binary(e, ctx)
	case *lang.IsNull:
		x := c.expr(e.X, ctx)
		return &IsNull{X: x, Not: e.Not}
	case *lang.IfExpr:
		cond := c.expr(e.Cond, ctx)
		c.wantBool(e.Cond, cond, "if condition")
		th, el := c.expr(e.Then, ctx), c.expr(e.Else, ctx)
		t, ok := unify(th.Type(), el.Type())
		if !ok {
			c.errorf(e, "if branches disagree: then is %s, else is %s", th.Type(), el.Type())
			return invalid
		}
		return &If{Cond: cond, Then: castTo(th, t), Else: castTo(el, t), T: t}
	case *lang.Call:
		return c.call(e, ctx)
	case *lang.IndexExpr:
		x, i := c.expr(e.X, ctx), c.expr(e.Index, ctx)
		if x.Type().Kind == types.Invalid || i.Type().Kind == types.Invalid {
			return invalid
		}
		t, err := stdlib.Subscript.Check([]types.Type{x.Type(), i.Type()})
		if err != nil {
			c.errorHint(e, "a[i] takes the element at position i of the array a, counting from 1", "%v", err)
			return invalid
		}
		return &Call{Func: stdlib.Subscript, Args: []Expr{x, i}, T: t}
	case *lang.RecordLit:
		return c.record(e, ctx)
	}
	c.errorf(e, "unsupported expression")
	return invalid
}

// numericLiteral reads a literal too long for int8 or with a point as a
// numeric, within numeric's range: a program of a million digits is an
// error at its place, not a value to materialise.
func (c *checker) numericLiteral(e *lang.Literal) Expr {
	d, err := types.ParseNumeric(e.Value)
	if err != nil {
		c.errorf(e, "%v", err)
		return invalid
	}
	return &Const{Value: d, T: types.Of(types.Numeric)}
}

func (c *checker) literal(e *lang.Literal) Expr {
	switch e.Kind {
	case lang.IntLit:
		n, err := strconv.ParseInt(e.Value, 10, 64)
		if err != nil {
			return c.numericLiteral(e)
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return &Const{Value: n, T: types.Of(types.Int4)}
		}
		return &Const{Value: n, T: types.Of(types.Int8)}
	case lang.DecimalLit:
		return c.numericLiteral(e)
	case lang.FloatLit:
		f, err := strconv.ParseFloat(e.Value, 64)
		if err != nil {
			c.errorf(e, "invalid number %s", e.Value)
			return invalid
		}
		return &Const{Value: f, T: types.Of(types.Float8)}
	case lang.StringLit:
		return &Const{Value: e.Value, T: types.Of(types.Text)}
	case lang.BoolLit:
		return &Const{Value: e.Value == "true", T: types.Of(types.Bool)}
	}
	return &Const{Value: nil, T: types.Type{Kind: types.Null, Nullable: true}}
}

func (c *checker) name(e *lang.Name, ctx *exprCtx) Expr {
	if l, ok := ctx.lookupLocal(e.Name); ok {
		return l
	}
	for _, l := range ctx.outside {
		if l.name == e.Name {
			c.errorHint(e, "bind it inside the aggregate's argument, or aggregate first and bind the result",
				"%s is bound outside this aggregate call, whose argument sees only the input row", e.Name)
			return invalid
		}
	}
	if ctx.fn != nil {
		var names []string
		for _, l := range ctx.locals {
			names = append(names, l.name)
		}
		c.errorHint(e, suggest.DidYouMean(e.Name, names), "unknown name %s: function %s sees only its parameters", e.Name, ctx.fn.Name)
		return invalid
	}
	if g := ctx.group; g != nil && !ctx.inAgg {
		if i := indexOf(g.keys, e.Name); i >= 0 {
			return &ColRef{Index: i, Name: e.Name, T: g.keyTypes[i]}
		}
		if ref := c.lookup(e.Name, ctx.scope); ref != nil {
			c.errorHint(e, "use it inside an aggregate such as sum("+e.Name+"), or group by it", "%s is not a group key", e.Name)
			return invalid
		}
	}
	var found []*ColRef
	for _, b := range ctx.scope.bindings {
		for i, col := range b.cols {
			if col.Name == e.Name {
				found = append(found, &ColRef{Index: b.offset + i, Name: col.Name, T: col.Type})
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0]
	case len(found) > 1:
		var quals []string
		for _, b := range ctx.scope.bindings {
			for _, col := range b.cols {
				if col.Name == e.Name {
					quals = append(quals, b.alias+"."+e.Name)
				}
			}
		}
		c.errorHint(e, "write "+joinOr(quals), "column %s is ambiguous", e.Name)
		return invalid
	}
	for _, b := range ctx.scope.bindings {
		if b.alias == e.Name {
			c.errorHint(e, "write "+e.Name+".column", "%s is a relation, not a column", e.Name)
			return invalid
		}
	}
	hint := ctx.scope.hiddenHint("", e.Name)
	if hint == "" {
		hint = suggest.DidYouMean(e.Name, c.visibleNames(ctx))
	}
	c.errorHint(e, hint, "unknown column %s", e.Name)
	return invalid
}

func joinOr(xs []string) string {
	s := ""
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			s += " or "
		default:
			s += ", "
		}
		s += x
	}
	return s
}

// lookup finds a bare column name in scope without reporting anything.
func (c *checker) lookup(name string, sc *scope) *ColRef {
	for _, b := range sc.bindings {
		for i, col := range b.cols {
			if col.Name == name {
				return &ColRef{Index: b.offset + i, Name: name, T: col.Type}
			}
		}
	}
	return nil
}

func (c *checker) visibleNames(ctx *exprCtx) []string {
	var names []string
	for _, b := range ctx.scope.bindings {
		for _, col := range b.cols {
			names = append(names, col.Name, b.alias+"."+col.Name)
		}
	}
	if ctx.group != nil {
		names = append(names, ctx.group.keys...)
	}
	for _, l := range ctx.locals {
		names = append(names, l.name)
	}
	return names
}

// selector checks x.f: column f of the relation named x when there is
// one, and otherwise field f of the record-valued expression x.
func (c *checker) selector(e *lang.Selector, ctx *exprCtx) Expr {
	rel, isName := e.X.(*lang.Name)
	if isName && !ctx.isLocal(rel.Name) && ctx.fn == nil {
		// Several bindings may share a qualifier: a flatten adds its
		// column under the pipeline's.
		var bs []binding
		for _, b := range ctx.scope.bindings {
			if b.alias == rel.Name {
				bs = append(bs, b)
			}
		}
		if len(bs) > 0 {
			return c.column(e, rel, bs, ctx)
		}
		if !c.resolvable(rel.Name, ctx) {
			var aliases []string
			for _, b := range ctx.scope.bindings {
				aliases = append(aliases, b.alias)
			}
			hint := ctx.scope.hiddenHint(rel.Name, "")
			if hint == "" {
				hint = suggest.DidYouMean(rel.Name, aliases)
			}
			c.errorHint(rel, hint, "unknown relation %s", rel.Name)
			return invalid
		}
	}
	return c.field(e, c.expr(e.X, ctx))
}

// column checks rel.col, a column of the relations bound as rel.
func (c *checker) column(e *lang.Selector, rel *lang.Name, bs []binding, ctx *exprCtx) Expr {
	var names []string
	for _, b := range bs {
		for i, col := range b.cols {
			if col.Name != e.Sel.Name {
				continue
			}
			if ctx.group != nil && !ctx.inAgg {
				if k := indexOf(ctx.group.keys, col.Name); k >= 0 {
					return &ColRef{Index: k, Name: col.Name, T: ctx.group.keyTypes[k]}
				}
				c.errorHint(e, "use it inside an aggregate, or group by it", "%s.%s is not a group key", rel.Name, col.Name)
				return invalid
			}
			return &ColRef{Index: b.offset + i, Name: col.Name, T: col.Type}
		}
		for _, col := range b.cols {
			names = append(names, col.Name)
		}
	}
	c.errorHint(e.Sel, suggest.DidYouMean(e.Sel.Name, names), "%s has no column %s", rel.Name, e.Sel.Name)
	return invalid
}

// resolvable reports whether a bare name means something in ctx: a column
// of the row, or a key of the group being built.
func (c *checker) resolvable(name string, ctx *exprCtx) bool {
	if g := ctx.group; g != nil && !ctx.inAgg && indexOf(g.keys, name) >= 0 {
		return true
	}
	return c.lookup(name, ctx.scope) != nil
}

// field checks the field access e on the checked record expression x.
func (c *checker) field(e *lang.Selector, x Expr) Expr {
	t := x.Type()
	if t.Kind == types.Invalid {
		return invalid
	}
	if t.Kind != types.Record {
		c.errorf(e.Sel, "%s is not a record: it has no field %s", t, e.Sel.Name)
		return invalid
	}
	var names []string
	for i, f := range t.Fields {
		if f.Name == e.Sel.Name {
			ft := f.Type
			if t.Nullable {
				ft = ft.OrNull()
			}
			return &FieldRef{X: x, Index: i, Name: f.Name, T: ft}
		}
		names = append(names, f.Name)
	}
	c.errorHint(e.Sel, suggest.DidYouMean(e.Sel.Name, names), "record %s has no field %s", t, e.Sel.Name)
	return invalid
}

// record checks a record literal: its fields are named as a select names
// its columns, and distinct.
func (c *checker) record(e *lang.RecordLit, ctx *exprCtx) Expr {
	r := &Record{}
	var fields []types.Field
	ok := true
	for _, f := range e.Fields {
		x := c.expr(f.Value, ctx)
		name, named := c.fieldName(f)
		switch {
		case !named:
			ok = false
			continue
		case slices.ContainsFunc(fields, func(g types.Field) bool { return g.Name == name }):
			c.errorf(f, "record names %s twice", name)
			ok = false
		case x.Type().Kind == types.Invalid:
			ok = false
		case x.Type().Kind == types.Null:
			c.errorHint(f.Value, "give the NULL a type: if false then 0 else null is an int4?", "the type of record field %s is unknown: it is null", name)
			ok = false
		}
		r.Fields = append(r.Fields, x)
		fields = append(fields, types.Field{Name: name, Type: x.Type()})
	}
	if !ok {
		return invalid
	}
	r.T = types.RecordOf(fields)
	return r
}

func (c *checker) binary(e *lang.Binary, ctx *exprCtx) Expr {
	x, y := c.expr(e.X, ctx), c.expr(e.Y, ctx)
	xt, yt := x.Type(), y.Type()
	if xt.Kind == types.Invalid || yt.Kind == types.Invalid {
		return invalid
	}
	nullable := xt.Nullable || yt.Nullable
	boolT := types.Type{Kind: types.Bool, Nullable: nullable, Scale: -1}
	switch e.Op {
	case lang.And, lang.Or:
		c.wantBool(e.X, x, "operand of "+e.Op.String())
		c.wantBool(e.Y, y, "operand of "+e.Op.String())
		return &Binary{Op: e.Op, X: x, Y: y, T: boolT}
	case lang.Eq, lang.Ne, lang.Lt, lang.Le, lang.Gt, lang.Ge:
		if xt.Kind == types.Null || yt.Kind == types.Null {
			hint := "use x is null"
			if e.Op == lang.Ne {
				hint = "use x is not null"
			}
			c.errorHint(e, hint, "comparing with null is never true")
			return invalid
		}
		if _, _, ok := stdlib.Comparable(xt, yt); !ok {
			c.errorf(e, "can't compare %s with %s", xt, yt)
			return invalid
		}
		return &Binary{Op: e.Op, X: x, Y: y, T: boolT}
	case lang.Concat:
		if xt.Kind != types.Text && yt.Kind != types.Text {
			c.errorHint(e, "|| joins text; convert with text(x)", "operator || is not defined on %s and %s", xt, yt)
			return invalid
		}
		return &Binary{Op: lang.Concat, X: x, Y: y, T: types.Type{Kind: types.Text, Nullable: nullable, Scale: -1}}
	case lang.Coalesce:
		coalesce := stdlib.Funcs()["coalesce"]
		t, err := coalesce.Check([]types.Type{xt, yt})
		if err != nil {
			c.errorf(e, "operator ?? needs two comparable types: %s and %s", xt, yt)
			return invalid
		}
		return &Call{Func: coalesce, Args: []Expr{x, y}, T: t}
	case lang.IsDistinctFrom, lang.IsNotDistinctFrom:
		if _, _, ok := stdlib.Comparable(xt, yt); !ok {
			c.errorf(e, "can't compare %s with %s", xt, yt)
			return invalid
		}
		return &Binary{Op: e.Op, X: x, Y: y, T: types.Of(types.Bool)}
	case lang.Like, lang.ILike, lang.NotLike, lang.NotILike:
		return c.like(e, x, y, boolT)
	case lang.Arrow, lang.ArrowText:
		t, _, err := stdlib.JSONArrow(e.Op, xt, yt)
		if err != nil {
			c.errorHint(e, "read a field with j -> \"key\" or an element with j -> 0", "%v", err)
			return invalid
		}
		return &Binary{Op: e.Op, X: x, Y: y, T: t}
	}
	if xt.Kind == types.Null || yt.Kind == types.Null {
		// null + x is NULL of x's type, as an untyped NULL is in SQL.
		t := xt
		if t.Kind == types.Null {
			t = yt
		}
		return &Const{Value: nil, T: t.OrNull()}
	}
	t, _, err := stdlib.Arith(e.Op, xt, yt)
	if err != nil {
		c.errorf(e, "%v", err)
		return invalid
	}
	return &Binary{Op: e.Op, X: x, Y: y, T: t}
}

// like checks x [not] like/ilike pattern: two texts; a constant pattern
// is compiled now, so that a bad one is reported here.
func (c *checker) like(e *lang.Binary, x, y Expr, boolT types.Type) Expr {
	xt, yt := x.Type(), y.Type()
	if xt.Kind != types.Text && xt.Kind != types.Null || yt.Kind != types.Text && yt.Kind != types.Null {
		c.errorHint(e, "like matches text; convert with text(x)", "operator %s is not defined on %s and %s", e.Op, xt, yt)
		return invalid
	}
	if k, ok := y.(*Const); ok && k.Value != nil {
		if _, err := stdlib.LikeMatcher(k.Value.(string), false); err != nil {
			c.errorf(e.Y, "%v", err)
			return invalid
		}
	}
	return &Binary{Op: e.Op, X: x, Y: y, T: boolT}
}

func (c *checker) call(e *lang.Call, ctx *exprCtx) Expr {
	name := e.Fun.Name
	if agg, ok := stdlib.Aggregates()[name]; ok {
		return c.aggregate(e, agg, ctx)
	}
	if e.Filter != nil {
		c.errorHint(e.Filter, "filter (where ...) applies to an aggregate: count() filter (where x > 1)", "%s is not an aggregate: filter doesn't apply", name)
		return invalid
	}
	if e.Frame != nil {
		c.errorHint(e, "t | window by at per k { last3 = avg(x) rows 2 preceding }", "rows N preceding goes with an aggregate in a window")
		return invalid
	}
	if fs, ok := c.funcs[name]; ok {
		return c.userCall(e, fs, ctx)
	}
	f, ok := stdlib.Funcs()[name]
	if !ok {
		if _, isType := types.LookupKind(name); isType && len(e.Args) == 1 && !e.Distinct && len(e.OrderBy) == 0 {
			// uuid(x), date(x), int8(x): a cast written as a call.
			te := &lang.TypeExpr{Name: name}
			te.Pos, te.End = e.Fun.Span()
			return c.cast(&lang.CastExpr{X: e.Args[0], Type: te}, c.expr(e.Args[0], ctx))
		}
		if _, ok := windowFuncs[name]; ok {
			c.errorHint(e.Fun, "t | window by at per k { x = "+name+"(...) }", "%s depends on the other rows: it goes in a window stage", name)
			return invalid
		}
		names := append(stdlib.Names(), c.funcNames()...)
		c.errorHint(e.Fun, suggest.DidYouMean(name, names), "unknown function %s", name)
		return invalid
	}
	if e.Distinct || len(e.OrderBy) > 0 {
		c.errorf(e, "%s is not an aggregate: distinct and order by don't apply", name)
	}
	if field, isName := firstArgName(e); isName && (name == "extract" || name == "date_part") && c.lookup(field.Name, ctx.scope) == nil {
		c.errorHint(field, "write extract("+field.Name+" from x), or date_part(\""+field.Name+"\", x)", "%s wants the unit as text, not the name %s", name, field.Name)
		return invalid
	}
	args := make([]Expr, len(e.Args))
	argTypes := make([]types.Type, len(e.Args))
	bad := false
	for i, a := range e.Args {
		args[i] = c.expr(a, ctx)
		argTypes[i] = args[i].Type()
		bad = bad || argTypes[i].Kind == types.Invalid
	}
	if bad {
		return invalid
	}
	t, err := f.Check(argTypes)
	if err != nil {
		c.errorHint(e, f.Signature, "%v", err)
		return invalid
	}
	if f.Validate != nil {
		if err := f.Validate(ConstValues(args), argTypes); err != nil {
			c.errorHint(e, f.Signature, "%v", err)
			return invalid
		}
	}
	return &Call{Func: f, Args: args, T: t}
}

// ConstValues returns the values of the arguments that are constants,
// nil for the others: what a function's Validate and BindConst are given
// (stdlib.Func).
func ConstValues(args []Expr) []any {
	consts := make([]any, len(args))
	for i, a := range args {
		if k, ok := a.(*Const); ok {
			consts[i] = k.Value
		}
	}
	return consts
}

func firstArgName(e *lang.Call) (*lang.Name, bool) {
	if len(e.Args) == 0 {
		return nil, false
	}
	n, ok := e.Args[0].(*lang.Name)
	return n, ok
}

func (c *checker) aggregate(e *lang.Call, agg *stdlib.Aggregate, ctx *exprCtx) Expr {
	switch {
	case e.Frame != nil:
		c.errorHint(e, "t | window by at per k { last3 = avg(x) rows 2 preceding }", "rows N preceding goes with an aggregate in a window")
		return invalid
	case ctx.group == nil:
		c.errorHint(e, "aggregates go in a group stage: group by k { n = "+agg.Name+"(...) }", "aggregate %s outside a group", agg.Name)
		return invalid
	case ctx.inAgg:
		c.errorf(e, "aggregate %s inside another aggregate", agg.Name)
		return invalid
	}
	ok := c.aggregateForm(e, agg)
	inner := &exprCtx{scope: ctx.scope, group: ctx.group, inAgg: true, outside: ctx.locals}
	args := make([]Expr, len(e.Args))
	argTypes := make([]types.Type, len(e.Args))
	for i, a := range e.Args {
		args[i] = c.expr(a, inner)
		argTypes[i] = args[i].Type()
		ok = ok && argTypes[i].Kind != types.Invalid
	}
	if e.Filter != nil && ok {
		args, argTypes, ok = c.aggregateFilter(e, agg, inner, args, argTypes)
	}
	var order []OrderKey
	for _, k := range e.OrderBy {
		x := c.expr(k.X, inner)
		switch t := x.Type(); {
		case t.Kind == types.Invalid:
			ok = false
		case !stdlib.Orderable(t):
			c.errorf(k.X, "can't order by %s: it has no order", t)
			ok = false
		}
		order = append(order, OrderKey{X: x, Desc: k.Desc})
	}
	if !ok {
		return invalid
	}
	t, err := agg.Check(argTypes)
	if err != nil {
		c.errorHint(e, agg.Signature, "%v", err)
		return invalid
	}
	g := ctx.group
	if len(g.keys) == 0 && agg.Name != "count" {
		// A group without keys has its row even over no rows, as in
		// SQL, where every aggregate but count is NULL.
		t.Nullable = true
	}
	g.aggs = append(g.aggs, AggCall{Name: agg.Name, Args: args, Distinct: e.Distinct, OrderBy: order, Type: t})
	return &ColRef{Index: len(g.keys) + len(g.aggs) - 1, Name: agg.Name, T: t}
}

// skipsNulls are the aggregates that leave NULL arguments out: a filter
// on one is its first argument made NULL where the condition is not
// true, as SQL's FILTER (WHERE ...) leaves those rows out.
var skipsNulls = map[string]bool{"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true, "stddev": true, "variance": true, "string_agg": true}

// aggregateFilter applies an aggregate's filter (where cond) to its
// arguments: the first becomes if cond then arg else NULL (count()
// counts if cond then true else NULL). It returns the new arguments.
func (c *checker) aggregateFilter(e *lang.Call, agg *stdlib.Aggregate, ctx *exprCtx, args []Expr, argTypes []types.Type) ([]Expr, []types.Type, bool) {
	cond := c.expr(e.Filter, ctx)
	switch t := cond.Type(); {
	case t.Kind == types.Invalid:
		return nil, nil, false
	case t.Kind != types.Bool && t.Kind != types.Null:
		c.errorf(e.Filter, "filter wants a bool condition, got %s", t)
		return nil, nil, false
	case !skipsNulls[agg.Name]:
		c.errorHint(e.Filter, "keep the rows before the group: t | where cond | group ...", "%s keeps NULLs, so filter (where ...) does not apply to it", agg.Name)
		return nil, nil, false
	}
	if len(args) == 0 { // count(): count the rows where cond is true
		args = []Expr{&Const{Value: true, T: types.Of(types.Bool)}}
	}
	t := args[0].Type()
	t.Nullable = true
	args = slices.Clone(args)
	args[0] = &If{Cond: cond, Then: castTo(args[0], t), Else: &Const{T: t}, T: t}
	argTypes = slices.Clone(argTypes)
	if len(argTypes) == 0 {
		argTypes = []types.Type{t}
	}
	argTypes[0] = t
	return args, argTypes, true
}

// aggregateForm checks that distinct and order by are used only where
// they mean something, and order by wherever the result needs it.
func (c *checker) aggregateForm(e *lang.Call, agg *stdlib.Aggregate) bool {
	ok := true
	switch {
	case e.Distinct && !agg.Distinct:
		c.errorHint(e, "distinct applies to count: count(distinct x)", "%s takes no distinct", agg.Name)
		ok = false
	case e.Distinct && len(e.Args) != 1:
		c.errorf(e, "%s(distinct ...) takes 1 argument, got %d", agg.Name, len(e.Args))
		ok = false
	}
	switch {
	case len(e.OrderBy) > 0 && !agg.Ordered:
		c.errorHint(e, "order by applies to array_agg, string_agg, first and last", "%s takes no order by: its result does not depend on the order of rows", agg.Name)
		ok = false
	case len(e.OrderBy) == 0 && agg.NeedsOrder:
		c.errorHint(e, agg.Signature, "%s needs order by: which row comes %s depends on an order", agg.Name, agg.Name)
		ok = false
	}
	return ok
}
