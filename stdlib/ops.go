package stdlib

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
)

// numericRank orders the number kinds for promotion: an operation on two
// numbers is done in the wider of their types, as in Postgres.
func numericRank(k types.Kind) int {
	switch k {
	case types.Int2:
		return 1
	case types.Int4:
		return 2
	case types.Int8:
		return 3
	case types.Numeric:
		return 4
	case types.Float4:
		return 5
	case types.Float8:
		return 6
	}
	return 0
}

// Promote returns the type two numbers are combined in, or false when
// either is not a number.
func Promote(a, b types.Type) (types.Type, bool) {
	ra, rb := numericRank(a.Kind), numericRank(b.Kind)
	if ra == 0 || rb == 0 {
		return types.Type{}, false
	}
	t := a
	if rb > ra {
		t = b
	}
	t = types.Of(t.Kind)
	t.Nullable = a.Nullable || b.Nullable
	return t, true
}

// Convert returns a converter of non-null values from number type `from`
// to number type `to`.
func Convert(from, to types.Kind) func(any) any {
	if from == to || numericRank(from) <= 3 && numericRank(to) <= 3 {
		return func(v any) any { return v }
	}
	switch to {
	case types.Numeric:
		return func(v any) any { return NumericOfInt(v.(int64)) }
	case types.Float4, types.Float8:
		if from == types.Numeric {
			return func(v any) any { f, _ := v.(decimal.Decimal).Float64(); return f }
		}
		if numericRank(from) <= 3 {
			return func(v any) any { return float64(v.(int64)) }
		}
		return func(v any) any { return v }
	}
	panic(fmt.Sprintf("stdlib.Convert: %s to %s", from, to))
}

// The small integers as numerics, boxed, made once: an integer widened to
// a numeric (qty * price) takes one of them instead of allocating three
// objects per row. A decimal.Decimal is never changed in place, so they
// can be shared.
const smallNumericMin, smallNumericMax = -128, 1024

var smallNumerics = func() (out [smallNumericMax - smallNumericMin]any) {
	for i := range out {
		out[i] = decimal.NewFromInt(int64(i + smallNumericMin))
	}
	return out
}()

// NumericOfInt returns x as a numeric (a decimal.Decimal of scale 0) in
// an interface, shared for small x.
func NumericOfInt(x int64) any {
	if x >= smallNumericMin && x < smallNumericMax {
		return smallNumerics[x-smallNumericMin]
	}
	return decimal.NewFromInt(x)
}

// MulNumericInt returns x * y as x.Mul(decimal.NewFromInt(y)) gives it
// (the coefficients' product, x's exponent), computed in int64 when x's
// coefficient is within 2^53 and the product fits.
func MulNumericInt(x decimal.Decimal, y int64) decimal.Decimal {
	if c, ok := types.SmallCoefficient(x); ok {
		if p, ok := types.MulInt64(c, y); ok {
			return decimal.New(p, x.Exponent())
		}
	}
	return x.Mul(decimal.NewFromInt(y))
}

// mulNumericIntBoxed is MulNumericInt in an interface, the int64 path's
// result made in one object (types.BoxDecimal).
func mulNumericIntBoxed(x decimal.Decimal, y int64) any {
	if c, ok := types.SmallCoefficient(x); ok {
		if p, ok := types.MulInt64(c, y); ok {
			return types.BoxDecimal(p, x.Exponent())
		}
	}
	return x.Mul(decimal.NewFromInt(y))
}

// addSmallNumerics returns x + y, or x - y when sub is set, as decimal's
// Add and Sub give it, when the two have one exponent and coefficients
// within 2^53: the coefficients added in int64, the result made in one
// object (types.BoxDecimal).
func addSmallNumerics(x, y decimal.Decimal, sub bool) (any, bool) {
	if x.Exponent() != y.Exponent() {
		return nil, false
	}
	cx, ok := types.SmallCoefficient(x)
	if !ok {
		return nil, false
	}
	cy, ok := types.SmallCoefficient(y)
	if !ok {
		return nil, false
	}
	if sub {
		cy = -cy
	}
	return types.BoxDecimal(cx+cy, x.Exponent()), true
}

// ErrDivisionByZero is returned by / and % on a zero divisor.
var ErrDivisionByZero = errors.New("division by zero")

// Arith returns the result type and implementation of a binary arithmetic
// operator (lang.Add, Sub, Mul, Div or Mod) on operands of types a and b. The implementation
// receives non-null values; the caller handles NULL.
func Arith(op lang.Op, a, b types.Type) (types.Type, func(x, y any) (any, error), error) {
	if t, f, ok := timeArith(op, a, b); ok {
		return t, f, nil
	}
	t, ok := Promote(a, b)
	if !ok {
		return types.Type{}, nil, fmt.Errorf("operator %s is not defined on %s and %s", op, a, b)
	}
	if op == lang.Mul && t.Kind == types.Numeric {
		// numeric * integer, either way round: no conversion of the
		// integer, and small coefficients multiplied in int64.
		switch {
		case a.Kind == types.Numeric && numericRank(b.Kind) <= 3:
			return t, func(x, y any) (any, error) { return mulNumericIntBoxed(x.(decimal.Decimal), y.(int64)), nil }, nil
		case b.Kind == types.Numeric && numericRank(a.Kind) <= 3:
			return t, func(x, y any) (any, error) { return mulNumericIntBoxed(y.(decimal.Decimal), x.(int64)), nil }, nil
		}
	}
	ca, cb := Convert(a.Kind, t.Kind), Convert(b.Kind, t.Kind)
	var f func(x, y any) (any, error)
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8:
		k := t.Kind
		f = func(x, y any) (any, error) { return intArith(op, x.(int64), y.(int64), k) }
	case types.Numeric:
		f = func(x, y any) (any, error) { return numericArith(op, x.(decimal.Decimal), y.(decimal.Decimal)) }
	default:
		f = func(x, y any) (any, error) { return floatArith(op, x.(float64), y.(float64)) }
	}
	return t, func(x, y any) (any, error) { return f(ca(x), cb(y)) }, nil
}

func intArith(op lang.Op, x, y int64, k types.Kind) (any, error) {
	var r int64
	switch op {
	case lang.Add:
		var ok bool
		if r, ok = types.AddInt64(x, y); !ok {
			return nil, fmt.Errorf("%s out of range", k)
		}
	case lang.Sub:
		r = x - y
		if (r < x) != (y > 0) {
			return nil, fmt.Errorf("%s out of range", k)
		}
	case lang.Mul:
		if x != 0 && y != 0 {
			r = x * y
			if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return nil, fmt.Errorf("%s out of range", k)
			}
		}
	case lang.Div:
		if y == 0 {
			return nil, ErrDivisionByZero
		}
		r = x / y
	case lang.Mod:
		if y == 0 {
			return nil, ErrDivisionByZero
		}
		r = x % y
	}
	return types.CheckInt(r, k)
}

// minSigDigits is the least number of significant digits a numeric
// quotient has (Postgres's NUMERIC_MIN_SIG_DIGITS).
const minSigDigits = 16

func numericArith(op lang.Op, x, y decimal.Decimal) (any, error) {
	switch op {
	case lang.Add:
		if r, ok := addSmallNumerics(x, y, false); ok {
			return r, nil
		}
		return x.Add(y), nil
	case lang.Sub:
		if r, ok := addSmallNumerics(x, y, true); ok {
			return r, nil
		}
		return x.Sub(y), nil
	case lang.Mul:
		return x.Mul(y), nil
	case lang.Div:
		if y.IsZero() {
			return nil, ErrDivisionByZero
		}
		return NumericDiv(x, y), nil
	case lang.Mod:
		if y.IsZero() {
			return nil, ErrDivisionByZero
		}
		// x - trunc(x/y)*y, with the larger of the operands' scales.
		_, r := x.QuoRem(y, 0)
		return r.Round(int32(max(scaleOf(x), scaleOf(y)))), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// scaleOf is a numeric's number of digits after the point.
func scaleOf(d decimal.Decimal) int { return max(0, -int(d.Exponent())) }

// NumericDiv divides as Postgres's numeric division does: the quotient
// has at least 16 significant digits and at least as many fractional
// digits as either operand, rounded half away from zero. (1/3 is
// 0.33333333333333333333, 10/4 is 2.5000000000000000.)
func NumericDiv(x, y decimal.Decimal) decimal.Decimal {
	return x.DivRound(y, int32(divScale(x, y)))
}

// divScale is Postgres's select_div_scale. Postgres keeps numerics in
// base-10000 digits; the scale follows from the weight and value of each
// operand's first such digit.
func divScale(x, y decimal.Decimal) int {
	w1, d1 := firstDigit(x)
	w2, d2 := firstDigit(y)
	qweight := w1 - w2
	if d1 <= d2 {
		qweight--
	}
	scale := minSigDigits - qweight*4
	return min(max(scale, scaleOf(x), scaleOf(y), 0), 1000)
}

// firstDigit returns the weight (the power of 10000) and the value of the
// first non-zero base-10000 digit of d; 0, 0 for zero.
func firstDigit(d decimal.Decimal) (weight, digit int) {
	if d.IsZero() {
		return 0, 0
	}
	a := d.Abs()
	e10 := a.NumDigits() - 1 + int(a.Exponent()) // the power of ten of the first digit
	weight = floorDiv(e10, 4)
	digit = int(a.Shift(int32(-4 * weight)).IntPart())
	return weight, digit
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floatArith(op lang.Op, x, y float64) (any, error) {
	switch op {
	case lang.Add:
		return x + y, nil
	case lang.Sub:
		return x - y, nil
	case lang.Mul:
		return x * y, nil
	case lang.Div:
		if y == 0 {
			return nil, ErrDivisionByZero
		}
		return x / y, nil
	case lang.Mod:
		if y == 0 {
			return nil, ErrDivisionByZero
		}
		return math.Mod(x, y), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// Negate returns the implementation of unary minus on type t.
func Negate(t types.Type) (func(x any) (any, error), error) {
	switch {
	case t.IsInteger():
		k := t.Kind
		return func(x any) (any, error) { return intArith(lang.Sub, 0, x.(int64), k) }, nil
	case t.Kind == types.Numeric:
		return func(x any) (any, error) { return x.(decimal.Decimal).Neg(), nil }, nil
	case t.Kind == types.Float4 || t.Kind == types.Float8:
		return func(x any) (any, error) { return -x.(float64), nil }, nil
	case t.Kind == types.Interval:
		return func(x any) (any, error) { return NegateInterval(x.(types.IntervalValue)), nil }, nil
	}
	return nil, fmt.Errorf("operator - is not defined on %s", t)
}

// Comparable reports whether values of types a and b can be compared, and
// returns converters that bring both to a common type. Two numbers are
// comparable, and two values of the same kind other than jsonb; arrays
// when their elements are, and records when they have the same field
// names in the same order and their fields are, pairwise.
func Comparable(a, b types.Type) (ca, cb func(any) any, ok bool) {
	ca, cb, ok = comparable(a, b)
	return orIdentity(ca), orIdentity(cb), ok
}

// orIdentity returns convert, or, for nil (no conversion), identity.
func orIdentity(convert func(any) any) func(any) any {
	if convert == nil {
		return identity
	}
	return convert
}

func identity(v any) any { return v }

// Comparator returns how a value of type a orders against one of type b,
// neither NULL, for types Comparable accepts: as types.Compare orders
// them once brought to a common type. Integers against integers and text
// against text, a filter's usual comparisons, are compared as they are,
// with no converter called and no look at the values' types.
func Comparator(a, b types.Type) func(x, y any) int {
	ca, cb, _ := comparable(a, b)
	switch {
	case ca != nil || cb != nil:
		ca, cb = orIdentity(ca), orIdentity(cb)
		return func(x, y any) int { return types.Compare(ca(x), cb(y)) }
	case a.IsInteger() && b.IsInteger():
		return compareInts
	case a.Kind == types.Text && b.Kind == types.Text:
		return compareTexts
	}
	return types.Compare
}

func compareInts(x, y any) int  { return cmp.Compare(x.(int64), y.(int64)) }
func compareTexts(x, y any) int { return strings.Compare(x.(string), y.(string)) }

// comparable is Comparable with nil for a converter that changes nothing,
// so that arrays and records of the same representation are not copied.
func comparable(a, b types.Type) (ca, cb func(any) any, ok bool) {
	if t, isNum := Promote(a, b); isNum {
		if a.Kind == t.Kind && b.Kind == t.Kind || numericRank(a.Kind) <= 3 && numericRank(b.Kind) <= 3 {
			return nil, nil, true
		}
		return Convert(a.Kind, t.Kind), Convert(b.Kind, t.Kind), true
	}
	if a.Kind == types.Null || b.Kind == types.Null {
		return nil, nil, true
	}
	if timeRank(a.Kind) > 0 && timeRank(b.Kind) > 0 {
		// Dates, timestamps and timestamptz (in UTC) are all instants
		// held as time.Time: they compare as they are.
		return nil, nil, true
	}
	if a.Kind != b.Kind {
		return nil, nil, false
	}
	switch a.Kind {
	case types.JSONB:
		return nil, nil, false
	case types.Array:
		ea, eb, ok := comparable(*a.Elem, *b.Elem)
		return eachElem(ea), eachElem(eb), ok
	case types.Record:
		if len(a.Fields) != len(b.Fields) {
			return nil, nil, false
		}
		fa := make([]func(any) any, len(a.Fields))
		fb := make([]func(any) any, len(b.Fields))
		for i := range a.Fields {
			var ok bool
			if a.Fields[i].Name != b.Fields[i].Name {
				return nil, nil, false
			}
			if fa[i], fb[i], ok = comparable(a.Fields[i].Type, b.Fields[i].Type); !ok {
				return nil, nil, false
			}
		}
		return eachField(fa), eachField(fb), true
	}
	return nil, nil, true
}

// eachElem lifts an element converter to arrays.
func eachElem(f func(any) any) func(any) any {
	if f == nil {
		return nil
	}
	return func(v any) any {
		if v == nil {
			return nil
		}
		in := v.([]any)
		out := make([]any, len(in))
		for i, e := range in {
			if e != nil {
				out[i] = f(e)
			}
		}
		return out
	}
}

// eachField lifts field converters to records.
func eachField(fs []func(any) any) func(any) any {
	if !slices.ContainsFunc(fs, func(f func(any) any) bool { return f != nil }) {
		return nil
	}
	return func(v any) any {
		if v == nil {
			return nil
		}
		in := v.([]any)
		out := make([]any, len(in))
		for i, e := range in {
			out[i] = e
			if e != nil && fs[i] != nil {
				out[i] = fs[i](e)
			}
		}
		return out
	}
}

// Unify returns the type that values of types a and b both fit: the
// promoted type of two numbers (without modifiers, as in Promote); two
// arrays whose elements unify; two records with the same field names in
// the same order whose fields unify; any two equal types. The result is
// nullable where either is, at any depth, and the null type fits any type,
// made nullable. Convert values to it with Converter.
func Unify(a, b types.Type) (types.Type, bool) {
	switch {
	case a.Kind == types.Null:
		return b.OrNull(), true
	case b.Kind == types.Null:
		return a.OrNull(), true
	}
	if t, ok := Promote(a, b); ok {
		return t, true
	}
	if a.Kind != b.Kind || a.Kind == types.Invalid {
		return types.Type{}, false
	}
	t := a
	t.Nullable = a.Nullable || b.Nullable
	switch a.Kind {
	case types.Array:
		e, ok := Unify(*a.Elem, *b.Elem)
		if !ok {
			return types.Type{}, false
		}
		t.Elem = &e
	case types.Record:
		if len(a.Fields) != len(b.Fields) {
			return types.Type{}, false
		}
		t.Fields = make([]types.Field, len(a.Fields))
		for i := range a.Fields {
			ft, ok := Unify(a.Fields[i].Type, b.Fields[i].Type)
			if !ok || a.Fields[i].Name != b.Fields[i].Name {
				return types.Type{}, false
			}
			t.Fields[i] = types.Field{Name: a.Fields[i].Name, Type: ft}
		}
	}
	return t, true
}

// Converter returns the converter of non-null values of type from to type
// to, a type that Unify gave for from: numbers are converted to the wider
// type, inside arrays and records too. It returns nil when values need no
// change.
func Converter(from, to types.Type) func(any) any {
	if from.IsNumeric() && to.IsNumeric() {
		if from.Kind == to.Kind || numericRank(from.Kind) <= 3 && numericRank(to.Kind) <= 3 {
			return nil
		}
		return Convert(from.Kind, to.Kind)
	}
	switch {
	case from.Kind == types.Array && to.Kind == types.Array:
		return eachElem(Converter(*from.Elem, *to.Elem))
	case from.Kind == types.Record && to.Kind == types.Record && len(from.Fields) == len(to.Fields):
		fs := make([]func(any) any, len(to.Fields))
		for i := range fs {
			fs[i] = Converter(from.Fields[i].Type, to.Fields[i].Type)
		}
		return eachField(fs)
	}
	return nil
}

// CompareOp turns a comparison operator (lang.Eq, Ne, Lt, Le, Gt or Ge)
// and the sign of types.Compare into a truth value.
func CompareOp(op lang.Op, c int) bool {
	switch op {
	case lang.Eq:
		return c == 0
	case lang.Ne:
		return c != 0
	case lang.Lt:
		return c < 0
	case lang.Le:
		return c <= 0
	case lang.Gt:
		return c > 0
	case lang.Ge:
		return c >= 0
	}
	panic("stdlib.CompareOp: not a comparison: " + op.String())
}
