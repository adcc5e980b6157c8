package stdlib

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/stepping-io/stepping/types"
)

// Impl evaluates one call. It is bound to the argument types of a call
// site by Func.Bind and receives the argument values, NULL as nil. It
// must not keep args, nor return it or a slice of it: the compiled
// expression passes the same slots of its frame at every call.
type Impl func(args []any) (any, error)

// Func is a built-in scalar function.
type Func struct {
	Name      string
	Signature string // for help and completion, e.g. "lower(text) text"
	Doc       string
	// Check returns the result type for the given argument types, or an
	// error saying why the call is ill-typed.
	Check func(args []types.Type) (types.Type, error)
	// Bind returns the implementation for the given (checked) argument types.
	Bind func(args []types.Type) Impl
	// Strict functions return NULL when any argument is NULL without being
	// called; the binder wraps Impl accordingly.
	Strict bool
	// Clock functions read the runtime's clock (now()): their value
	// changes when the clock does, so the checker and the circuit treat
	// them apart. Impl receives the step's clock, a timestamptz, as an
	// extra first argument.
	Clock bool
	// Validate, when set, checks the arguments whose values are known
	// when the program is checked (consts[i] is nil for the others), so
	// that a bad constant (an unknown unit, a broken pattern) is reported
	// at its place in the program rather than when a row meets it.
	Validate func(consts []any, args []types.Type) error
	// BindConst, when set, is Bind given also the values of the
	// arguments known when the program is compiled (consts[i] is nil
	// for the others; they are in the slots Impl receives, so after the
	// clock's for a Clock function), so that what every call would do
	// again with a constant (reading a format) is done once. It returns
	// nil when the constants it needs are not there, and Bind is used.
	BindConst func(consts []any, args []types.Type) Impl
}

// Aggregate is a built-in aggregate: its signature, which the checker
// needs, and its implementation, an Aggregator per call (one type in one
// file each), which the runtime and the test oracle run alike.
type Aggregate struct {
	Name      string
	Signature string
	Doc       string
	// Check returns the result type for the argument types (none for count()).
	Check func(args []types.Type) (types.Type, error)
	// Distinct says whether the aggregate takes distinct: count(distinct x).
	Distinct bool
	// Ordered says whether the aggregate takes order by, and NeedsOrder
	// whether it must have one: its result depends on the order of rows.
	Ordered, NeedsOrder bool
	// New returns the aggregator of a call that Check accepted.
	New func(c AggCall) Aggregator
}

// Funcs returns the scalar functions by name.
func Funcs() map[string]*Func { return funcs }

// Aggregates returns the aggregates by name.
func Aggregates() map[string]*Aggregate { return aggregates }

// Names lists every function and aggregate name, sorted, for completion
// and "did you mean" hints.
func Names() []string {
	var out []string
	for n := range funcs {
		out = append(out, n)
	}
	for n := range aggregates {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// BindStrict wraps an Impl with the NULL-in, NULL-out rule when f is strict.
func (f *Func) BindStrict(args []types.Type) Impl {
	return f.BindWith(nil, args)
}

// BindWith is BindStrict given the values of the arguments known when the
// program is compiled: consts[i] is nil for an argument that is not, and
// consts may be nil. Validate must have accepted the constants.
func (f *Func) BindWith(consts []any, args []types.Type) Impl {
	var impl Impl
	if f.BindConst != nil && consts != nil {
		impl = f.BindConst(consts, args)
	}
	if impl == nil {
		impl = f.Bind(args)
	}
	if !f.Strict {
		return impl
	}
	return func(vals []any) (any, error) {
		for _, v := range vals {
			if v == nil {
				return nil, nil
			}
		}
		return impl(vals)
	}
}

func anyNullable(args []types.Type) bool {
	for _, a := range args {
		if a.Nullable {
			return true
		}
	}
	return false
}

func arity(name string, args []types.Type, n int) error {
	if len(args) != n {
		return fmt.Errorf("%s takes %d argument%s, got %d", name, n, plural(n), len(args))
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// textUnary makes a strict text -> T function.
func textUnary(name, doc string, result types.Kind, f func(string) any) *Func {
	return &Func{
		Name: name, Signature: fmt.Sprintf("%s(text) %s", name, result), Doc: doc, Strict: true,
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity(name, args, 1); err != nil {
				return types.Type{}, err
			}
			if args[0].Kind == types.Array && name == "length" {
				return types.Type{}, fmt.Errorf("length wants text, got %s: the number of elements of an array is cardinality(a)", args[0])
			}
			if args[0].Kind != types.Text && args[0].Kind != types.Null {
				return types.Type{}, fmt.Errorf("%s wants text, got %s", name, args[0])
			}
			t := types.Of(result)
			t.Nullable = args[0].Nullable
			return t, nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return f(a[0].(string)), nil }
		},
	}
}

var funcs = map[string]*Func{}

func register(f *Func) { funcs[f.Name] = f }

func init() {
	register(textUnary("lower", "Lower-cases text.", types.Text, func(s string) any { return strings.ToLower(s) }))
	register(textUnary("upper", "Upper-cases text.", types.Text, func(s string) any { return strings.ToUpper(s) }))
	register(textUnary("length", "Number of characters in text.", types.Int4, func(s string) any { return int64(utf8.RuneCountInString(s)) }))
	// html_escape lets a program build HTML from user text (a page per
	// row, as stepq serve's /pages/ shows): Postgres has no such
	// function, so this one is a chain of replace calls there.
	register(textUnary("html_escape", "s with & < > \" ' written as the HTML entities &amp; &lt; &gt; &#34; &#39;, safe inside an element or a quoted attribute.",
		types.Text, func(s string) any { return html.EscapeString(s) }))
	register(&Func{
		Name: "format", Signature: "format(fmt text, args...) text",
		Doc: "Formats like Postgres format(): %s is an argument's text form (NULL as empty), %% a percent sign.",
		Check: func(args []types.Type) (types.Type, error) {
			if len(args) == 0 || args[0].Kind != types.Text {
				return types.Type{}, fmt.Errorf("format wants a text format string first")
			}
			return types.Type{Kind: types.Text, Nullable: args[0].Nullable, Scale: -1}, nil
		},
		// A constant format, the usual case, is read when the program
		// is checked: its mistakes are reported at their place, and
		// each call only puts the pieces together.
		Validate: func(consts []any, ts []types.Type) error {
			if f, ok := consts[0].(string); ok {
				_, err := readFormat(nil, f, len(ts)-1)
				return err
			}
			return nil
		},
		Bind: func(ts []types.Type) Impl {
			return func(a []any) (any, error) { return Format(a, ts) }
		},
		BindConst: func(consts []any, ts []types.Type) Impl {
			f, ok := consts[0].(string)
			if !ok {
				return nil
			}
			pieces, err := readFormat(nil, f, len(ts)-1)
			if err != nil {
				return nil
			}
			return func(a []any) (any, error) { return formatPieces(pieces, a, ts), nil }
		},
	})
	register(&Func{
		Name: "text", Signature: "text(x) text", Doc: "Casts any value to text: its Postgres text form, a bool as true or false.", Strict: true,
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("text", args, 1); err != nil {
				return types.Type{}, err
			}
			return types.Type{Kind: types.Text, Nullable: args[0].Nullable, Scale: -1}, nil
		},
		Bind: func(ts []types.Type) Impl {
			return func(a []any) (any, error) { return TextOf(a[0], ts[0]), nil }
		},
	})
	register(&Func{
		Name: "coalesce", Signature: "coalesce(a T?, b T, ...) T", Doc: "The first non-NULL argument.",
		Check: func(args []types.Type) (types.Type, error) {
			if len(args) == 0 {
				return types.Type{}, fmt.Errorf("coalesce needs at least one argument")
			}
			t := args[0]
			for _, a := range args[1:] {
				if _, _, ok := Comparable(t, a); !ok {
					return types.Type{}, fmt.Errorf("coalesce arguments disagree: %s and %s", t, a)
				}
				switch {
				case t.Kind == types.Null:
					t = a
				case a.Kind == types.Null || a.NotNull().Identical(t.NotNull()):
				case a.IsNumeric() && t.IsNumeric():
					// Numbers of different types (or numerics of
					// different declared scales) meet in the wider type,
					// with no declared scale, as in Postgres.
					t, _ = Promote(t, a)
				case timeRank(a.Kind) > timeRank(t.Kind):
					t = a // a date is a timestamp at midnight
				case !t.IsNumeric() && timeRank(t.Kind) == 0:
					// Arrays and records must be held alike, nulls
					// allowed wherever either allows them.
					u, ok := Unify(t, a)
					if !ok {
						return types.Type{}, fmt.Errorf("coalesce arguments disagree: %s and %s", t, a)
					}
					t = u
				}
			}
			t.Nullable = args[len(args)-1].Nullable
			return t, nil
		},
		Bind: func(ts []types.Type) Impl {
			result, _ := funcs["coalesce"].Check(ts)
			convs := make([]func(any) any, len(ts))
			for i, t := range ts {
				if convs[i] = Converter(t, result); convs[i] == nil {
					convs[i] = identity
				}
			}
			return func(a []any) (any, error) {
				for i, v := range a {
					if v != nil {
						return convs[i](v), nil
					}
				}
				return nil, nil
			}
		},
	})
}

// fixed makes the Check of a function with the given parameter kinds and
// result kind, nullable when an argument is. An int4 parameter takes any
// integer and a numeric one any number.
func fixed(name string, result types.Kind, params ...types.Kind) func([]types.Type) (types.Type, error) {
	return fixedOpt(name, result, len(params), params...)
}

// fixedOpt is fixed with the parameters after the first required ones
// optional.
func fixedOpt(name string, result types.Kind, required int, params ...types.Kind) func([]types.Type) (types.Type, error) {
	return func(args []types.Type) (types.Type, error) {
		if len(args) < required || len(args) > len(params) {
			if required == len(params) {
				return types.Type{}, arity(name, args, required)
			}
			return types.Type{}, fmt.Errorf("%s takes %d to %d arguments, got %d", name, required, len(params), len(args))
		}
		for i, a := range args {
			if !accepts(params[i], a) {
				return types.Type{}, fmt.Errorf("argument %d of %s must be %s, not %s", i+1, name, params[i], a)
			}
		}
		return types.Type{Kind: result, Nullable: anyNullable(args), Scale: -1}, nil
	}
}

// accepts reports whether an argument of type a fits a parameter of kind p.
func accepts(p types.Kind, a types.Type) bool {
	switch {
	case a.Kind == types.Null || a.Kind == p:
		return true
	case p == types.Int4 || p == types.Int8:
		return a.IsInteger()
	case p == types.Numeric:
		return a.IsNumeric()
	}
	return false
}

func typeList(ts []types.Type) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.String())
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// Format implements format(): %s takes the next argument in its text form,
// NULL as the empty string; %% is a percent sign.
func Format(args []any, ts []types.Type) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	// A format of a few pieces is read into room on the stack.
	var room [8]formatPiece
	pieces, err := readFormat(room[:0], args[0].(string), len(args)-1)
	if err != nil {
		return nil, err
	}
	return formatPieces(pieces, args, ts), nil
}

// formatPiece is a piece of a format: text, then the value of argument
// arg in its text form (arg 0, the format itself, for none).
type formatPiece struct {
	text string
	arg  int
}

// readFormat appends to pieces those of format f, whose specifiers take
// the arguments 1 to n in turn.
func readFormat(pieces []formatPiece, f string, n int) ([]formatPiece, error) {
	var text strings.Builder
	next := 1
	for {
		pct := strings.IndexByte(f, '%')
		if pct < 0 {
			break
		}
		if pct+1 == len(f) {
			return nil, fmt.Errorf("format: unterminated format specifier")
		}
		switch f[pct+1] {
		case '%':
			// The text runs on past a "%%": it is one piece with the
			// text after it, read from f when it holds no "%%".
			text.WriteString(f[:pct+1])
		case 's':
			if next > n {
				return nil, fmt.Errorf("format: too few arguments")
			}
			pieces = append(pieces, formatPiece{text: joined(&text, f[:pct]), arg: next})
			next++
		default:
			return nil, fmt.Errorf("format: unrecognized format specifier %q", f[pct+1])
		}
		f = f[pct+2:]
	}
	if t := joined(&text, f); t != "" || len(pieces) == 0 {
		pieces = append(pieces, formatPiece{text: t})
	}
	return pieces, nil
}

// joined returns what b holds followed by s, and empties b; s itself when
// b is empty, so that a format with no "%%" makes no new strings.
func joined(b *strings.Builder, s string) string {
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s)
	t := b.String()
	b.Reset()
	return t
}

// formatPieces puts a format's pieces together with the arguments' text.
func formatPieces(pieces []formatPiece, args []any, ts []types.Type) any {
	// The text is put together on the stack when short, and made one
	// string, boxed with its bytes in one object (types.BoxText): the
	// string a view may keep for years takes no room to spare.
	var tmp [256]byte
	b := tmp[:0]
	for i := range pieces {
		p := &pieces[i]
		b = append(b, p.text...)
		if p.arg > 0 {
			b = types.AppendFormat(b, args[p.arg], ts[p.arg])
		}
	}
	return types.BoxText(b)
}
