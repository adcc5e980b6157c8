package typecheck

import (
	"strings"

	"github.com/stepping-io/stepping/internal/suggest"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// typedLiteral checks a constant written as a string of a named type,
// such as interval "7 days": the text is read now, so a bad one is an
// error at its place.
func (c *checker) typedLiteral(e *lang.TypedLit) Expr {
	k, ok := types.LookupKind(e.Type.Name)
	if !ok {
		c.errorHint(e.Type, suggest.DidYouMean(e.Type.Name, types.TypeNames()), "unknown type %s", e.Type.Name)
		return invalid
	}
	t := types.Of(k)
	v, err := types.Parse(e.Value, t)
	if err != nil {
		c.errorf(e, "%v", err)
		return invalid
	}
	return &Const{Value: v, T: t}
}

// cast checks x::T. The result has x's nullability; a constant is cast
// now, so that bad input in the program is reported where it is written.
func (c *checker) cast(e *lang.CastExpr, x Expr) Expr {
	to := c.typeExpr(e.Type)
	from := x.Type()
	if to.Kind == types.Invalid || from.Kind == types.Invalid {
		return invalid
	}
	if e.Type.Nullable {
		c.errorHint(e.Type, "drop the ?", "a cast keeps the nullability of its operand")
		return invalid
	}
	f, err := stdlib.Cast(from, to)
	if err != nil {
		c.errorf(e, "%v", err)
		return invalid
	}
	to.Nullable = from.Nullable
	if k, ok := x.(*Const); ok {
		if k.Value == nil {
			return &Const{Value: nil, T: to.OrNull()}
		}
		v, err := f(k.Value)
		if err != nil {
			c.errorf(e, "%v", err)
			return invalid
		}
		return &Const{Value: v, T: to}
	}
	if from.Kind == types.Null {
		return &Const{Value: nil, T: to.OrNull()}
	}
	return &Cast{X: x, T: to}
}

// let checks let a = x, b = y in body: each binding gets the next local
// slot, visible in the bindings after it and in the body.
func (c *checker) let(e *lang.LetExpr, ctx *exprCtx) Expr {
	type bound struct {
		slot int
		name string
		x    Expr
	}
	var bs []bound
	inner := ctx
	ok := true
	for _, b := range e.Bindings {
		x := c.expr(b.Value, inner)
		if x.Type().Kind == types.Invalid {
			ok = false
		}
		var slot int
		inner, slot = inner.bind(b.Name.Name, x.Type())
		bs = append(bs, bound{slot, b.Name.Name, x})
	}
	body := c.expr(e.Body, inner)
	if !ok || body.Type().Kind == types.Invalid {
		return invalid
	}
	for i := len(bs) - 1; i >= 0; i-- {
		body = &Let{Slot: bs[i].slot, Name: bs[i].name, X: bs[i].x, Body: body}
	}
	return body
}

// caseExpr checks case [subject] when .. then .. [else ..] end as a chain
// of ifs. A subject is evaluated once, into a hidden local, and compared
// with each when as == does; without else the result is NULL when no
// branch is taken.
func (c *checker) caseExpr(e *lang.CaseExpr, ctx *exprCtx) Expr {
	var subject Expr
	inner := ctx
	slot := -1
	if e.Subject != nil {
		subject = c.expr(e.Subject, ctx)
		if subject.Type().Kind == types.Invalid {
			return invalid
		}
		inner, slot = ctx.bind("", subject.Type())
	}
	var conds, thens []Expr
	ok := true
	for _, w := range e.Whens {
		cond := c.expr(w.When, inner)
		if subject != nil {
			cond = c.caseCompare(w.When, &Local{Slot: slot, T: subject.Type()}, cond)
		} else {
			c.wantBool(w.When, cond, "case condition")
		}
		th := c.expr(w.Then, inner)
		ok = ok && cond.Type().Kind != types.Invalid && th.Type().Kind != types.Invalid
		conds, thens = append(conds, cond), append(thens, th)
	}
	var els Expr = &Const{Value: nil, T: types.Type{Kind: types.Null, Nullable: true}}
	if e.Else != nil {
		els = c.expr(e.Else, inner)
		ok = ok && els.Type().Kind != types.Invalid
	}
	if !ok {
		return invalid
	}
	t := els.Type()
	for i, th := range thens {
		u, good := unify(t, th.Type())
		if !good {
			c.errorf(e.Whens[i].Then, "case branches disagree: %s here, %s in another branch", th.Type(), t)
			return invalid
		}
		t = u
	}
	if t.Kind == types.Null {
		c.errorHint(e, "give one branch a typed value", "every branch of this case is null")
		return invalid
	}
	out := castTo(els, t)
	for i := len(thens) - 1; i >= 0; i-- {
		out = &If{Cond: conds[i], Then: castTo(thens[i], t), Else: out, T: t}
	}
	if subject != nil {
		out = &Let{Slot: slot, X: subject, Body: out}
	}
	return out
}

// caseCompare is subject == value for a case with a subject.
func (c *checker) caseCompare(n lang.Node, subject, value Expr) Expr {
	st, vt := subject.Type(), value.Type()
	if vt.Kind == types.Invalid {
		return invalid
	}
	if _, _, ok := stdlib.Comparable(st, vt); !ok || vt.Kind == types.Null {
		c.errorf(n, "can't compare the case's %s with %s", st, vt)
		return invalid
	}
	return &Binary{Op: lang.Eq, X: subject, Y: value, T: types.Type{Kind: types.Bool, Nullable: st.Nullable || vt.Nullable, Scale: -1}}
}

// funcState tracks a user-defined function through checking, so that a
// function is checked when first called and a cycle of calls found.
type funcState struct {
	decl     *lang.FuncDecl
	fn       *Function
	checking bool
	done     bool
	bad      bool
}

func (c *checker) funcNames() []string {
	var out []string
	for n := range c.funcs {
		out = append(out, n)
	}
	return out
}

// declareFunc enters a function's name; its body is checked later.
func (c *checker) declareFunc(d *lang.FuncDecl) {
	name := d.Name.Name
	switch {
	case stdlib.Funcs()[name] != nil || stdlib.Aggregates()[name] != nil:
		c.errorf(d.Name, "%s is a built-in function", name)
		return
	case c.funcs[name] != nil:
		p, _ := c.funcs[name].decl.Span()
		c.errorf(d.Name, "function %s is already declared at %s", name, lang.Elsewhere(p, d.Name.Pos))
		return
	}
	c.funcs[name] = &funcState{decl: d}
	c.funcOrder = append(c.funcOrder, name)
}

// function checks a function's signature and body, once.
func (c *checker) function(fs *funcState) *Function {
	switch {
	case fs.done:
		return fs.fn
	case fs.checking:
		return nil
	}
	fs.checking = true
	c.calling = append(c.calling, fs.decl.Name.Name)
	defer func() { c.calling = c.calling[:len(c.calling)-1] }()
	d := fs.decl
	f := &Function{Name: d.Name.Name, Pos: d.Name.Pos, Result: c.typeExpr(d.Result)}
	ctx := &exprCtx{scope: &scope{}, fn: f}
	ok := f.Result.Kind != types.Invalid
	seen := map[string]bool{}
	for _, p := range d.Params {
		t := c.typeExpr(p.Type)
		if seen[p.Name.Name] {
			c.errorf(p.Name, "function %s has two parameters named %s", f.Name, p.Name.Name)
			ok = false
		}
		seen[p.Name.Name] = true
		ok = ok && t.Kind != types.Invalid
		f.Params = append(f.Params, Column{Name: p.Name.Name, Type: t})
		ctx, _ = ctx.bind(p.Name.Name, t)
	}
	body := c.expr(d.Body, ctx)
	fs.checking, fs.done = false, true
	if !ok || body.Type().Kind == types.Invalid {
		fs.bad = true
		return nil
	}
	conv, err := c.assign(body, f.Result)
	if err != "" {
		c.errorHint(d.Body, err, "function %s returns %s, but its body is %s", f.Name, f.Result, body.Type())
		fs.bad = true
		return nil
	}
	f.Body = conv
	f.Frame = max(len(f.Params), FrameSize(conv))
	fs.fn = f
	c.prog.Functions = append(c.prog.Functions, f)
	return f
}

// assign converts x to type t where a value of x's type may be stored in
// a place of type t (see convertTo); a nullable x never fits a non-null
// t. On failure it returns a hint saying what would fit.
func (c *checker) assign(x Expr, t types.Type) (Expr, string) {
	xt := x.Type()
	if xt.Nullable && !t.Nullable {
		return nil, "declare it " + t.OrNull().String() + ", or give a default with ??"
	}
	return convertTo(x, t)
}

// convertTo converts x to t's type, ignoring nullability, where no
// information is lost but rounding to a declared scale: the same type, a
// wider number (to numeric(p,s) rounding to scale s), a date or timestamp
// where a later time kind is wanted, NULL. Otherwise it returns a hint.
func convertTo(x Expr, t types.Type) (Expr, string) {
	xt := x.Type()
	to := t
	to.Nullable = xt.Nullable
	switch {
	case xt.Kind == types.Null:
		return &Const{Value: nil, T: t.OrNull()}, ""
	case xt.NotNull().Identical(t.NotNull()):
		return x, ""
	case timeRank(xt.Kind) > 0 && timeRank(t.Kind) > timeRank(xt.Kind):
		return &Cast{X: x, T: to}, ""
	}
	if p, ok := stdlib.Promote(xt, t); ok && p.Kind == t.Kind {
		return &Cast{X: x, T: to}, ""
	}
	return nil, "convert it with ::" + t.NotNull().String()
}

func timeRank(k types.Kind) int {
	switch k {
	case types.Date:
		return 1
	case types.Timestamp:
		return 2
	case types.Timestamptz:
		return 3
	}
	return 0
}

// userCall checks a call of a user-defined function. Each argument is
// converted to its parameter's type; a nullable argument for a non-null
// parameter makes the call NULL when the argument is (and the call's type
// nullable), as a strict SQL function.
func (c *checker) userCall(e *lang.Call, fs *funcState, ctx *exprCtx) Expr {
	name := e.Fun.Name
	if fs.checking {
		i := indexOf(c.calling, name)
		loop := append(append([]string{}, c.calling[i:]...), name)
		const hint = "functions cannot recurse: compute the repetition with a view"
		if len(loop) == 2 {
			c.errorHint(e.Fun, hint, "function %s calls itself", name)
			return invalid
		}
		c.errorHint(e.Fun, hint, "functions %s call each other (%s)", joinAnd(loop[:len(loop)-1]), strings.Join(loop, " -> "))
		return invalid
	}
	if e.Distinct || len(e.OrderBy) > 0 {
		c.errorf(e, "%s is not an aggregate: distinct and order by don't apply", name)
	}
	f := c.function(fs)
	args := make([]Expr, len(e.Args))
	bad := false
	for i, a := range e.Args {
		args[i] = c.expr(a, ctx)
		bad = bad || args[i].Type().Kind == types.Invalid
	}
	if f == nil || bad {
		return invalid
	}
	if len(args) != len(f.Params) {
		c.errorHint(e, signature(f), "%s takes %d argument%s, got %d", name, len(f.Params), plural(len(f.Params)), len(args))
		return invalid
	}
	call := &FuncCall{Func: f, NullIf: make([]bool, len(args)), T: f.Result}
	for i, a := range args {
		p := f.Params[i]
		conv, hint := convertTo(a, p.Type)
		if conv == nil {
			c.errorHint(e.Args[i], hint, "argument %s of %s is %s, want %s", p.Name, name, a.Type(), p.Type)
			return invalid
		}
		if a.Type().Nullable && !p.Type.Nullable {
			call.NullIf[i] = true
			call.T = call.T.OrNull()
		}
		call.Args = append(call.Args, conv)
	}
	return call
}

func signature(f *Function) string {
	var ps []string
	for _, p := range f.Params {
		ps = append(ps, p.Name+" "+p.Type.String())
	}
	return f.Name + "(" + strings.Join(ps, ", ") + ") " + f.Result.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
