package ir

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Compile turns a typed expression that does not read the clock into a
// Scalar. Every choice that depends on types (which overload, which
// conversion) is made here, once.
func Compile(e typecheck.Expr) Scalar { return compiler{clockCol: -1}.scalar(e) }

// CompileClocked is Compile for an expression evaluated over rows whose
// column clockCol holds the clock (rows joined with the clock source):
// now() reads that column.
func CompileClocked(e typecheck.Expr, clockCol int) Scalar {
	return compiler{clockCol: clockCol}.scalar(e)
}

// CompileAt is Compile with now() the constant t: the reference
// evaluator's view of one step.
func CompileAt(e typecheck.Expr, t time.Time) Scalar {
	return compiler{clockCol: -1, now: &t}.scalar(e)
}

// compiler compiles expressions; it says where the clock comes from.
type compiler struct {
	clockCol int        // the row column holding the clock, or -1
	now      *time.Time // the clock as a constant, when set
	// frame is the size of the frame of the expression being compiled,
	// which grows as its calls take slots of it (see reserve).
	frame *int
}

// evalFunc evaluates a compiled expression over a row, with the frame of
// the evaluation: the local slots (let bindings) the checker numbered,
// then the slots the compiler reserved for calls (their arguments, a
// user-defined function's locals).
type evalFunc = func(r zset.Row, l []any) (any, error)

// reserve returns the first of n slots of the frame that it adds for one
// part of the expression. The language has no loops nor recursion, so
// a part runs at most once in an evaluation: its slots, its own, need
// no clearing, and an evaluation's frame serves the next one.
func (c compiler) reserve(n int) int {
	at := *c.frame
	*c.frame += n
	return at
}

func (c compiler) scalar(e typecheck.Expr) Scalar {
	frame := typecheck.FrameSize(e)
	c.frame = &frame
	f := c.compile(e)
	text := canon(e)
	if c.clockCol >= 0 {
		// now() reads a column of the row: where is part of the meaning.
		text = fmt.Sprintf("clocked(%d %s)", c.clockCol, text)
	}
	if c.now != nil {
		text = fmt.Sprintf("at(%s %s)", c.now.Format(time.RFC3339Nano), text)
	}
	span := typecheck.SpanOf(e)
	if !span.IsZero() {
		// A part the checker made up without a span of its own failed:
		// the expression as a whole is where.
		inner := f
		f = func(r zset.Row, l []any) (any, error) {
			v, err := inner(r, l)
			return v, at(span, err)
		}
	}
	eval := func(r zset.Row) (any, error) { return f(r, nil) }
	if frame > 0 {
		eval = func(r zset.Row) (any, error) {
			l := BorrowFrame(frame)
			v, err := f(r, *l)
			ReturnFrame(l)
			return v, err
		}
	}
	out := Scalar{Text: render(e), Canon: text, Type: e.Type(), Eval: eval, Span: span, Scaled: scaled(e), evalIn: f, frame: frame}
	if ref, ok := e.(*typecheck.ColRef); ok {
		out.col = ref.Index + 1
	}
	if c.clockCol < 0 && c.now == nil {
		out.Expr = e
	}
	return out
}

// clock returns the evaluation of now().
func (c compiler) clock() evalFunc {
	switch {
	case c.now != nil:
		t := *c.now
		return func(zset.Row, []any) (any, error) { return t, nil }
	case c.clockCol >= 0:
		i := c.clockCol
		return func(r zset.Row, _ []any) (any, error) { return r[i], nil }
	}
	panic("ir: an expression reads the clock where no clock is given")
}

func (c compiler) compile(e typecheck.Expr) evalFunc {
	switch e := e.(type) {
	case *typecheck.ColRef:
		i := e.Index
		return func(r zset.Row, _ []any) (any, error) { return r[i], nil }
	case *typecheck.Const:
		v := e.Value
		return func(zset.Row, []any) (any, error) { return v, nil }
	case *typecheck.Local:
		i := e.Slot
		return func(_ zset.Row, l []any) (any, error) { return l[i], nil }
	case *typecheck.Let:
		x, body, i := c.compile(e.X), c.compile(e.Body), e.Slot
		return func(r zset.Row, l []any) (any, error) {
			v, err := x(r, l)
			if err != nil {
				return nil, err
			}
			l[i] = v
			return body(r, l)
		}
	case *typecheck.Cast:
		x := c.compile(e.X)
		conv, err := stdlib.Cast(e.X.Type(), e.T)
		if err != nil {
			// Not a cast of the table: a widening of the numbers inside
			// an array or record, which the checker makes for unions.
			widen := stdlib.Converter(e.X.Type(), e.T)
			if widen == nil {
				return x
			}
			conv = func(v any) (any, error) { return widen(v), nil }
		}
		span := e.Span
		return func(r zset.Row, l []any) (any, error) {
			v, err := x(r, l)
			if v == nil || err != nil {
				return nil, err
			}
			v, err = conv(v)
			return v, at(span, err)
		}
	case *typecheck.Unary:
		x := c.compile(e.X)
		if e.Op == lang.Not {
			return func(r zset.Row, l []any) (any, error) {
				v, err := x(r, l)
				if v == nil || err != nil {
					return nil, err
				}
				return !v.(bool), nil
			}
		}
		neg, _ := stdlib.Negate(e.X.Type())
		span := e.Span
		return func(r zset.Row, l []any) (any, error) {
			v, err := x(r, l)
			if v == nil || err != nil {
				return nil, err
			}
			v, err = neg(v)
			return v, at(span, err)
		}
	case *typecheck.IsNull:
		x := c.compile(e.X)
		not := e.Not
		return func(r zset.Row, l []any) (any, error) {
			v, err := x(r, l)
			if err != nil {
				return nil, err
			}
			return (v == nil) != not, nil
		}
	case *typecheck.If:
		cond, t, f := c.compile(e.Cond), c.compile(e.Then), c.compile(e.Else)
		return func(r zset.Row, l []any) (any, error) {
			v, err := cond(r, l)
			if err != nil {
				return nil, err
			}
			if v == true {
				return t(r, l)
			}
			return f(r, l)
		}
	case *typecheck.Call:
		return c.call(e)
	case *typecheck.FuncCall:
		return c.funcCall(e)
	case *typecheck.Binary:
		return c.binary(e)
	case *typecheck.Record:
		fields := make([]evalFunc, len(e.Fields))
		for i, f := range e.Fields {
			fields[i] = c.compile(f)
		}
		return func(r zset.Row, l []any) (any, error) {
			rec := make([]any, len(fields))
			for i, f := range fields {
				v, err := f(r, l)
				if err != nil {
					return nil, err
				}
				rec[i] = v
			}
			return rec, nil
		}
	case *typecheck.FieldRef:
		x, i := c.compile(e.X), e.Index
		return func(r zset.Row, l []any) (any, error) {
			v, err := x(r, l)
			if v == nil || err != nil {
				return nil, err
			}
			return v.([]any)[i], nil
		}
	}
	panic(fmt.Sprintf("ir.Compile: unexpected %T", e))
}

// call compiles a built-in function call. A clock function receives the
// clock as an extra first argument.
func (c compiler) call(e *typecheck.Call) evalFunc {
	var args []evalFunc
	// consts holds the values of the arguments known now, in the slots
	// the implementation sees them in (after the clock's).
	consts := typecheck.ConstValues(e.Args)
	if e.Func.Clock {
		args = append(args, c.clock())
		consts = append([]any{nil}, consts...)
	}
	argTypes := make([]types.Type, len(e.Args))
	for i, a := range e.Args {
		args = append(args, c.compile(a))
		argTypes[i] = a.Type()
	}
	impl := e.Func.BindWith(consts, argTypes)
	name, span := e.Func.Name, e.Span
	// The arguments are passed in slots of the frame: no slice per call.
	// No Impl keeps its argument slice (see stdlib.Impl).
	from := c.reserve(len(args))
	to := from + len(args)
	return func(r zset.Row, l []any) (any, error) {
		vals := l[from:to:to]
		for i, a := range args {
			v, err := a(r, l)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		v, err := impl(vals)
		if err != nil && !strings.HasPrefix(err.Error(), name+": ") {
			err = fmt.Errorf("%s: %w", name, err)
		}
		if err != nil {
			return nil, at(span, err)
		}
		return v, nil
	}
}

// funcCall compiles a call of a user-defined function: the body runs in
// a frame of its own holding the arguments; it reads no row, but the
// clock, when it reads it, comes from the caller's row.
func (c compiler) funcCall(e *typecheck.FuncCall) evalFunc {
	args := make([]evalFunc, len(e.Args))
	for i, a := range e.Args {
		args[i] = c.compile(a)
	}
	// The body is compiled at each call site, with a frame of its own:
	// the function's locals, then the slots of its calls. That frame is
	// slots of the caller's.
	frame := e.Func.Frame
	inner := c
	inner.frame = &frame
	body := inner.compile(e.Func.Body)
	from := c.reserve(frame)
	to := from + frame
	nullIf, name, span := e.NullIf, e.Func.Name, e.Span
	return func(r zset.Row, l []any) (any, error) {
		locals := l[from:to:to]
		for i, a := range args {
			v, err := a(r, l)
			if err != nil {
				return nil, err
			}
			if v == nil && nullIf[i] {
				return nil, nil
			}
			locals[i] = v
		}
		v, err := body(r, locals)
		if err != nil {
			return nil, inFunc(name, span, err)
		}
		return v, nil
	}
}

// inFunc names the user-defined function whose body failed. The error
// keeps the span of what failed inside the body, the innermost part; a
// failure the body's own text does not place is placed at the call.
func inFunc(name string, call lang.Span, err error) error {
	var placed *EvalError
	if errors.As(err, &placed) && placed == err {
		return &EvalError{Span: placed.Span, Err: fmt.Errorf("%s: %w", name, placed.Err)}
	}
	return at(call, fmt.Errorf("%s: %w", name, err))
}

func (c compiler) binary(e *typecheck.Binary) evalFunc {
	x, y := c.compile(e.X), c.compile(e.Y)
	span := e.Span
	xt, yt := e.X.Type(), e.Y.Type()
	switch e.Op {
	case lang.And:
		return func(r zset.Row, l []any) (any, error) {
			a, err := x(r, l)
			if err != nil || a == false {
				return false, err
			}
			b, err := y(r, l)
			if err != nil || b == false {
				return false, err
			}
			if a == nil || b == nil {
				return nil, nil
			}
			return true, nil
		}
	case lang.Or:
		return func(r zset.Row, l []any) (any, error) {
			a, err := x(r, l)
			if err != nil || a == true {
				return true, err
			}
			b, err := y(r, l)
			if err != nil || b == true {
				return true, err
			}
			if a == nil || b == nil {
				return nil, nil
			}
			return false, nil
		}
	case lang.Eq, lang.Ne, lang.Lt, lang.Le, lang.Gt, lang.Ge:
		compare := stdlib.Comparator(xt, yt)
		op := e.Op
		// strict2 without its call of an operator that may fail: a
		// comparison cannot, and it is most filters' every row.
		return func(r zset.Row, l []any) (any, error) {
			a, b, err := operands(x, y, r, l)
			if err != nil || a == nil || b == nil {
				return nil, err
			}
			return stdlib.CompareOp(op, compare(a, b)), nil
		}
	case lang.IsDistinctFrom, lang.IsNotDistinctFrom:
		compare := stdlib.Comparator(xt, yt)
		distinct := e.Op == lang.IsDistinctFrom
		return func(r zset.Row, l []any) (any, error) {
			a, b, err := operands(x, y, r, l)
			if err != nil {
				return nil, err
			}
			same := a == nil && b == nil || a != nil && b != nil && compare(a, b) == 0
			return same != distinct, nil
		}
	case lang.Concat:
		return strict2(x, y, span, func(a, b any) (any, error) {
			return stdlib.TextOf(a, xt) + stdlib.TextOf(b, yt), nil
		})
	case lang.Like, lang.ILike, lang.NotLike, lang.NotILike:
		return strict2(x, y, span, stdlib.Like(e.Op))
	case lang.Arrow, lang.ArrowText:
		_, f, err := stdlib.JSONArrow(e.Op, xt, yt)
		if err != nil {
			panic("ir.Compile: " + err.Error()) // the checker accepted it
		}
		return strict2(x, y, span, f)
	}
	_, f, err := stdlib.Arith(e.Op, xt, yt)
	if err != nil {
		panic("ir.Compile: " + err.Error()) // the checker accepted it
	}
	return strict2(x, y, span, f)
}

// strict2 evaluates both operands and applies f unless one is NULL; f's
// error is placed at span, the operator's text.
func strict2(x, y evalFunc, span lang.Span, f func(a, b any) (any, error)) evalFunc {
	return func(r zset.Row, l []any) (any, error) {
		a, b, err := operands(x, y, r, l)
		if err != nil || a == nil || b == nil {
			return nil, err
		}
		v, err := f(a, b)
		return v, at(span, err)
	}
}

// operands evaluates a binary operator's operands over row r, y only
// when x did not fail.
func operands(x, y evalFunc, r zset.Row, l []any) (a, b any, err error) {
	if a, err = x(r, l); err != nil {
		return nil, nil, err
	}
	b, err = y(r, l)
	return a, b, err
}

// localName names a local in explain output; a case's hidden subject is _.
func localName(name string) string {
	if name == "" {
		return "_"
	}
	return name
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
		if e.T.IsNumeric() {
			return types.Format(e.Value, e.T)
		}
		// A typed literal, as written: interval "7 days".
		return fmt.Sprintf("%s %q", e.T.NotNull(), types.Format(e.Value, e.T))
	case *typecheck.Cast:
		return fmt.Sprintf("%s::%s", render(e.X), e.T.NotNull())
	case *typecheck.Unary:
		if e.Op == lang.Not {
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
		return "(" + render(e.X) + " " + e.Op.String() + " " + render(e.Y) + ")"
	case *typecheck.Record:
		fields := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			fields[i] = e.T.Fields[i].Name + " = " + render(f)
		}
		return "{" + strings.Join(fields, ", ") + "}"
	case *typecheck.FieldRef:
		return render(e.X) + "." + e.Name
	case *typecheck.Local:
		return localName(e.Name)
	case *typecheck.Let:
		return fmt.Sprintf("let %s = %s in %s", localName(e.Name), render(e.X), render(e.Body))
	case *typecheck.FuncCall:
		var args []string
		for _, a := range e.Args {
			args = append(args, render(a))
		}
		return e.Func.Name + "(" + strings.Join(args, ", ") + ")"
	}
	return fmt.Sprintf("%T", e)
}

// pooledFrame is the size of the frames BorrowFrame lends from its
// pool: larger ones, which few expressions need, are made each time.
const pooledFrame = 16

// framePool holds frames of pooledFrame slots, cleared.
var framePool = sync.Pool{New: func() any {
	l := make([]any, pooledFrame)
	return &l
}}

// BorrowFrame returns a frame of size slots, all nil, for evaluations of
// expressions (see Scalar.EvalIn); ReturnFrame gives it back when they
// are done. Frames are shared by every expression and goroutine, so that
// evaluating allocates none.
func BorrowFrame(size int) *[]any {
	if size > pooledFrame {
		l := make([]any, size)
		return &l
	}
	l := framePool.Get().(*[]any)
	*l = (*l)[:size]
	return l
}

// ReturnFrame gives back a frame BorrowFrame lent, which its borrower
// no longer uses. It is cleared first, so that a frame waiting in the
// pool keeps no row's values alive.
func ReturnFrame(l *[]any) {
	clear(*l)
	if cap(*l) == pooledFrame {
		framePool.Put(l)
	}
}
