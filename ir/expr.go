package ir

import (
	"fmt"
	"strings"

	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Compile turns a typed expression into a Scalar. Every choice that
// depends on types (which overload, which conversion) is made here, once.
func Compile(e typecheck.Expr) Scalar {
	return Scalar{Text: render(e), Type: e.Type(), Eval: compile(e)}
}

type evalFunc = func(zset.Row) (any, error)

func compile(e typecheck.Expr) evalFunc {
	switch e := e.(type) {
	case *typecheck.ColRef:
		i := e.Index
		return func(r zset.Row) (any, error) { return r[i], nil }
	case *typecheck.Const:
		v := e.Value
		return func(zset.Row) (any, error) { return v, nil }
	case *typecheck.Cast:
		x := compile(e.X)
		conv := stdlib.Convert(e.X.Type().Kind, e.T.Kind)
		return func(r zset.Row) (any, error) {
			v, err := x(r)
			if v == nil || err != nil {
				return nil, err
			}
			return conv(v), nil
		}
	case *typecheck.Unary:
		x := compile(e.X)
		if e.Op == "not" {
			return func(r zset.Row) (any, error) {
				v, err := x(r)
				if v == nil || err != nil {
					return nil, err
				}
				return !v.(bool), nil
			}
		}
		neg, _ := stdlib.Negate(e.X.Type())
		return func(r zset.Row) (any, error) {
			v, err := x(r)
			if v == nil || err != nil {
				return nil, err
			}
			return neg(v)
		}
	case *typecheck.IsNull:
		x := compile(e.X)
		not := e.Not
		return func(r zset.Row) (any, error) {
			v, err := x(r)
			if err != nil {
				return nil, err
			}
			return (v == nil) != not, nil
		}
	case *typecheck.If:
		c, t, f := compile(e.Cond), compile(e.Then), compile(e.Else)
		return func(r zset.Row) (any, error) {
			v, err := c(r)
			if err != nil {
				return nil, err
			}
			if v == true {
				return t(r)
			}
			return f(r)
		}
	case *typecheck.Call:
		args := make([]evalFunc, len(e.Args))
		argTypes := make([]types.Type, len(e.Args))
		for i, a := range e.Args {
			args[i] = compile(a)
			argTypes[i] = a.Type()
		}
		impl := e.Func.BindStrict(argTypes)
		name := e.Func.Name
		return func(r zset.Row) (any, error) {
			vals := make([]any, len(args))
			for i, a := range args {
				v, err := a(r)
				if err != nil {
					return nil, err
				}
				vals[i] = v
			}
			v, err := impl(vals)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return v, nil
		}
	case *typecheck.Binary:
		return compileBinary(e)
	}
	panic(fmt.Sprintf("ir.Compile: unexpected %T", e))
}

func compileBinary(e *typecheck.Binary) evalFunc {
	x, y := compile(e.X), compile(e.Y)
	xt, yt := e.X.Type(), e.Y.Type()
	switch e.Op {
	case "and":
		return func(r zset.Row) (any, error) {
			a, err := x(r)
			if err != nil || a == false {
				return false, err
			}
			b, err := y(r)
			if err != nil || b == false {
				return false, err
			}
			if a == nil || b == nil {
				return nil, nil
			}
			return true, nil
		}
	case "or":
		return func(r zset.Row) (any, error) {
			a, err := x(r)
			if err != nil || a == true {
				return true, err
			}
			b, err := y(r)
			if err != nil || b == true {
				return true, err
			}
			if a == nil || b == nil {
				return nil, nil
			}
			return false, nil
		}
	case "==", "!=", "<", "<=", ">", ">=":
		cx, cy, _ := stdlib.Comparable(xt, yt)
		op := e.Op
		return strict2(x, y, func(a, b any) (any, error) {
			return stdlib.CompareOp(op, types.Compare(cx(a), cy(b))), nil
		})
	case "||":
		return strict2(x, y, func(a, b any) (any, error) {
			return stdlib.TextOf(a, xt) + stdlib.TextOf(b, yt), nil
		})
	}
	_, f, err := stdlib.Arith(e.Op, xt, yt)
	if err != nil {
		panic("ir.Compile: " + err.Error()) // the checker accepted it
	}
	return strict2(x, y, f)
}

// strict2 evaluates both operands and applies f unless one is NULL.
func strict2(x, y evalFunc, f func(a, b any) (any, error)) evalFunc {
	return func(r zset.Row) (any, error) {
		a, err := x(r)
		if err != nil {
			return nil, err
		}
		b, err := y(r)
		if err != nil || a == nil || b == nil {
			return nil, err
		}
		return f(a, b)
	}
}

// render prints an expression in .step syntax for explain.
func render(e typecheck.Expr) string {
	switch e := e.(type) {
	case *typecheck.ColRef:
		return e.Name
	case *typecheck.Const:
		if s, ok := e.Value.(string); ok && e.T.Kind == types.Text {
			return fmt.Sprintf("%q", s)
		}
		switch v := e.Value.(type) {
		case nil:
			return "null"
		case bool:
			return fmt.Sprint(v)
		}
		return types.Format(e.Value, e.T)
	case *typecheck.Cast:
		return fmt.Sprintf("%s::%s", render(e.X), e.T.NotNull())
	case *typecheck.Unary:
		if e.Op == "not" {
			return "not " + render(e.X)
		}
		return "-" + render(e.X)
	case *typecheck.IsNull:
		if e.Not {
			return render(e.X) + " is not null"
		}
		return render(e.X) + " is null"
	case *typecheck.If:
		return fmt.Sprintf("if %s then %s else %s", render(e.Cond), render(e.Then), render(e.Else))
	case *typecheck.Call:
		var args []string
		for _, a := range e.Args {
			args = append(args, render(a))
		}
		return e.Func.Name + "(" + strings.Join(args, ", ") + ")"
	case *typecheck.Binary:
		return "(" + render(e.X) + " " + e.Op + " " + render(e.Y) + ")"
	}
	return fmt.Sprintf("%T", e)
}
