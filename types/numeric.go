package types

import (
	"fmt"
	"math/big"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/shopspring/decimal"
)

// The range of Postgres's numeric type: values that don't fit are
// rejected there with "value overflows numeric format", so they are here
// too, before anything works out their digits.
const (
	// MaxNumericWeight is the most digits a numeric can have before the
	// decimal point.
	MaxNumericWeight = 131072
	// MaxNumericScale is the most digits a numeric can have after the
	// decimal point.
	MaxNumericScale = 16383
)

// ParseNumeric reads a numeric from text such as 12, -1.50 or 2.5e-3
// (surrounding spaces allowed). It checks the digit counts the text
// implies before shopspring/decimal sees it: decimal keeps 1e100000000
// as a digit and an exponent, but printing, comparing or rescaling it
// would build all hundred million digits.
func ParseNumeric(s string) (decimal.Decimal, error) {
	t := strings.TrimSpace(s)
	n, ok := scanNumeric(t)
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("invalid input syntax for type numeric: %s", quoteShort(s))
	}
	if err := n.check(s); err != nil {
		return decimal.Decimal{}, err
	}
	if n.zero {
		// Zero keeps its scale but not a positive exponent, as in
		// Postgres: 0e100000000 is 0, not a hundred million zeros.
		return decimal.New(0, -int32(max(0, n.frac-n.exp))), nil
	}
	d, err := decimal.NewFromString(t)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("invalid input syntax for type numeric: %s", quoteShort(s))
	}
	return d, nil
}

// CheckNumeric reports an error when d lies outside numeric's range. It
// looks only at the exponent and the number of digits of the
// coefficient, so it is cheap even for a value built with a huge
// exponent.
func CheckNumeric(d decimal.Decimal) error {
	digits := len(d.Coefficient().Text(10))
	if d.Sign() < 0 {
		digits-- // the minus sign
	}
	n := numericShape{exp: int64(d.Exponent()), zero: d.Sign() == 0}
	if !n.zero {
		n.lead = int64(digits) // the coefficient is a whole number
	}
	if d.Exponent() < 0 {
		n.frac = int64(-d.Exponent())
		n.exp = 0
		n.lead -= n.frac
	}
	return n.check(FormatNumericShort(d))
}

// numericShape is what the range check needs to know of a numeric
// written as digits, a point, digits and an exponent: lead is the number
// of digits from the first non-zero one to the point (negative or zero
// when the value is below one), frac the digits written after the point.
type numericShape struct {
	lead, frac, exp int64
	zero            bool
}

// exponentLimit bounds the exponent before it is added to anything, so
// the sums below can't overflow; Postgres rejects such exponents too.
const exponentLimit = 1 << 30

func (n numericShape) check(text string) error {
	if n.exp >= exponentLimit || n.exp <= -exponentLimit {
		return fmt.Errorf("value overflows numeric format: %s", quoteShort(text))
	}
	if !n.zero && n.lead+n.exp > MaxNumericWeight {
		return fmt.Errorf("value overflows numeric format: %s has more than %d digits before the decimal point", quoteShort(text), MaxNumericWeight)
	}
	if n.frac-n.exp > MaxNumericScale {
		return fmt.Errorf("value overflows numeric format: %s has more than %d digits after the decimal point", quoteShort(text), MaxNumericScale)
	}
	return nil
}

// scanNumeric reads the shape of [+-]digits[.digits][(e|E)[+-]digits],
// with digits on at least one side of the point, as Postgres accepts.
func scanNumeric(s string) (numericShape, bool) {
	var n numericShape
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() (all, leadingZeros int) {
		start, zeros := i, -1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if zeros < 0 && s[i] != '0' {
				zeros = i - start
			}
			i++
		}
		if zeros < 0 {
			zeros = i - start
		}
		return i - start, zeros
	}
	whole, wholeZeros := digits()
	frac, fracZeros := 0, 0
	if i < len(s) && s[i] == '.' {
		i++
		frac, fracZeros = digits()
	}
	if whole+frac == 0 {
		return n, false
	}
	n.frac = int64(frac)
	switch {
	case whole > wholeZeros:
		n.lead = int64(whole - wholeZeros)
	case frac > fracZeros:
		n.lead = -int64(fracZeros)
	default:
		n.zero = true
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			// Saturate: anything past the limit is rejected anyway.
			if n.exp < exponentLimit {
				n.exp = n.exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == start {
			return n, false
		}
		if neg {
			n.exp = -n.exp
		}
	}
	return n, i == len(s)
}

// FormatNumericShort prints d for an error message: in full when that is
// short, else as its coefficient's first digits and its exponent, without
// building the digits an exponent implies.
func FormatNumericShort(d decimal.Decimal) string {
	c := d.Coefficient().Text(10)
	if len(c) <= 40 && d.Exponent() > -40 && d.Exponent() < 40 {
		return FormatNumeric(d)
	}
	if len(c) > 20 {
		c = c[:20] + "..."
	}
	return fmt.Sprintf("%se%d", c, d.Exponent())
}

// quoteShort quotes text for an error message, cutting a long one short:
// the input that overflows may be a whole file's worth of digits.
func quoteShort(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...", s[:40])
	}
	return fmt.Sprintf("%q", s)
}

// numericFromCoefficient builds coef × 10^exp from the decimal digits of
// coef, checking the range first.
func numericFromCoefficient(coef string, exp int64) (decimal.Decimal, error) {
	var c big.Int
	if _, ok := c.SetString(coef, 10); !ok {
		return decimal.Decimal{}, fmt.Errorf("invalid numeric coefficient %s", quoteShort(coef))
	}
	if exp < -exponentLimit || exp > exponentLimit {
		return decimal.Decimal{}, fmt.Errorf("value overflows numeric format: exponent %d", exp)
	}
	if c.Sign() == 0 && exp > 0 {
		exp = 0 // as ParseNumeric reads zero
	}
	d := decimal.NewFromBigInt(&c, int32(exp))
	if err := CheckNumeric(d); err != nil {
		return decimal.Decimal{}, err
	}
	return d, nil
}

// SmallCoefficient returns d's coefficient when its magnitude is below
// 2^53, reporting false otherwise. It allocates nothing and, unlike
// decimal's NumDigits, takes no logarithm: for the exponents numerics
// mostly have it compares d with bounds of its own exponent, which
// compares the coefficients alone. Callers may multiply or add a few such
// coefficients in int64 without overflow checks past 2^53's headroom.
func SmallCoefficient(d decimal.Decimal) (int64, bool) {
	if decimalLayoutKnown {
		// The coefficient read where decimal keeps it: a word or two
		// to look at, rather than two comparisons of decimals, each of
		// which readies both and compares their big.Ints.
		if f := (*decimalFields)(unsafe.Pointer(&d)); f.exp >= -smallBoundExps && f.exp <= smallBoundExps {
			if f.value == nil {
				return 0, true // the zero Decimal
			}
			if !f.value.IsInt64() {
				return 0, false
			}
			if c := f.value.Int64(); c > -1<<53 && c < 1<<53 {
				return c, true
			}
			return 0, false
		}
	}
	return smallCoefficientOf(d)
}

// smallCoefficientOf is SmallCoefficient through decimal's methods alone.
func smallCoefficientOf(d decimal.Decimal) (int64, bool) {
	exp := d.Exponent()
	if exp < -smallBoundExps || exp > smallBoundExps {
		if d.NumDigits() > 15 {
			return 0, false
		}
	} else if b := smallBounds[exp+smallBoundExps]; d.Cmp(b.hi) >= 0 || d.Cmp(b.lo) <= 0 {
		return 0, false
	}
	return d.CoefficientInt64(), true
}

// smallBoundExps is how far from zero the exponents go whose bounds
// SmallCoefficient keeps.
const smallBoundExps = 24

// smallBounds holds ±2^53 at each exponent from -smallBoundExps to
// smallBoundExps. They are made once and never changed.
var smallBounds = func() (bs [2*smallBoundExps + 1]struct{ lo, hi decimal.Decimal }) {
	for i := range bs {
		exp := int32(i - smallBoundExps)
		bs[i].lo, bs[i].hi = decimal.New(-1<<53, exp), decimal.New(1<<53, exp)
	}
	return bs
}()

// AddInt64 returns x+y, reporting false when the sum overflows an int64.
func AddInt64(x, y int64) (int64, bool) {
	s := x + y
	return s, (s > x) == (y > 0)
}

// MulInt64 returns x*y, reporting false when the product's magnitude is
// 2^63 or more: when it overflows an int64, and for MinInt64 itself,
// which callers then take the slow path for.
func MulInt64(x, y int64) (int64, bool) {
	hi, lo := bits.Mul64(absUint64(x), absUint64(y))
	if hi != 0 || lo >= 1<<63 {
		return 0, false
	}
	p := int64(lo)
	if (x < 0) != (y < 0) {
		p = -p
	}
	return p, true
}

func absUint64(v int64) uint64 {
	if v < 0 {
		return uint64(-v) // -MinInt64 wraps to itself, 1<<63 as a uint64
	}
	return uint64(v)
}
