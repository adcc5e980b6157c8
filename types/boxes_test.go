package types

import (
	"math"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

// TestBoxDecimal checks that BoxDecimal gives the decimal decimal.New
// gives, for coefficients at the edges of int64 and of zero's sign and
// for exponents either way, in one allocation; and that arithmetic on it
// leaves it as it was.
func TestBoxDecimal(t *testing.T) {
	if !decimalLayoutKnown {
		t.Fatal("decimal.Decimal's layout is not the one BoxDecimal builds: it falls back to decimal.New (see decimalFields)")
	}
	for _, coef := range []int64{0, 1, -1, 7, -12345, 1 << 31, 1<<32 + 5, -(1 << 53), math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		for _, exp := range []int32{0, -2, 3, -30} {
			want := decimal.New(coef, exp)
			got, ok := BoxDecimal(coef, exp).(decimal.Decimal)
			if !ok {
				t.Fatalf("BoxDecimal(%d, %d) is not a decimal.Decimal", coef, exp)
			}
			if got.String() != want.String() || got.Exponent() != want.Exponent() || got.Cmp(want) != 0 ||
				got.Coefficient().Cmp(want.Coefficient()) != 0 || got.Sign() != want.Sign() {
				t.Fatalf("BoxDecimal(%d, %d) = %s (exp %d), want %s", coef, exp, got, got.Exponent(), want)
			}
			if KeyOf([]any{got}) != KeyOf([]any{want}) || RowKey([]any{got}) != RowKey([]any{want}) {
				t.Fatalf("BoxDecimal(%d, %d) encodes unlike decimal.New's", coef, exp)
			}
			before := got.String()
			_ = got.Add(decimal.New(3, exp)).Neg().Mul(got)
			if got.String() != before {
				t.Fatalf("arithmetic changed BoxDecimal(%d, %d) to %s", coef, exp, got)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { sink = BoxDecimal(123456, -2) }); n != 1 {
		t.Fatalf("BoxDecimal makes %v objects, want 1", n)
	}
}

var sink any

// TestBoxText checks that BoxText gives b's string for lengths at and
// about each size it boxes in, in one allocation to 112 bytes, and that
// the string does not change when b does.
func TestBoxText(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 32, 33, 48, 49, 64, 65, 111, 112, 113, 500} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		want := string(b)
		got, ok := BoxText(b).(string)
		if !ok || got != want {
			t.Fatalf("BoxText of %d bytes = %q, want %q", n, got, want)
		}
		for i := range b {
			b[i] = '!'
		}
		if got != want {
			t.Fatalf("BoxText of %d bytes changed with its bytes", n)
		}
		b = []byte(want)
		allocs := testing.AllocsPerRun(50, func() { sink = BoxText(b) })
		if wantAllocs := map[bool]float64{true: 1, false: 2}[n <= 112]; n > 0 && allocs != wantAllocs {
			t.Fatalf("BoxText of %d bytes makes %v objects, want %v", n, allocs, wantAllocs)
		}
	}
}

// TestSameBox tells one box from an equal value's box of its own.
func TestSameBox(t *testing.T) {
	a := BoxDecimal(15, -1)
	b := BoxDecimal(15, -1)
	if !SameBox(a, a) || SameBox(a, b) || SameBox(BoxText([]byte("x")), BoxText([]byte("x"))) {
		t.Fatal("SameBox does not tell boxes apart by address")
	}
	if SameBox(any(int64(1000)), any(float64(1000))) {
		t.Fatal("SameBox took boxes of two types as one")
	}
}

// TestCompactDecimal checks that CompactDecimal gives a decimal that
// reads and encodes as the one given, in one object, and gives back
// as they are those that are one object already, those whose
// coefficient is too big for an int64, the zero Decimal, and values
// that are not decimals.
func TestCompactDecimal(t *testing.T) {
	huge := decimal.NewFromBigInt(new(big.Int).Lsh(big.NewInt(1), 70), -3)
	for _, d := range []decimal.Decimal{
		decimal.New(0, 0), decimal.New(1999, -2), decimal.New(-5, 3), decimal.RequireFromString("1.50"),
		decimal.RequireFromString("-0.000"), decimal.New(math.MaxInt64, -4), decimal.New(math.MinInt64, 0),
		decimal.RequireFromString("19.99").Mul(decimal.NewFromInt(3)), huge, {},
	} {
		var v any = d
		c := CompactDecimal(v)
		got, ok := c.(decimal.Decimal)
		if !ok {
			t.Fatalf("CompactDecimal(%s) is %T", d, c)
		}
		if got.String() != d.String() || got.Exponent() != d.Exponent() || RowKey([]any{got}) != RowKey([]any{d}) || KeyOf([]any{got}) != KeyOf([]any{d}) {
			t.Fatalf("CompactDecimal(%s) = %s (exp %d), which reads or encodes otherwise", d, got, got.Exponent())
		}
		keep := d.Coefficient().IsInt64() == false || d == (decimal.Decimal{})
		if keep != SameBox(c, v) {
			t.Fatalf("CompactDecimal(%s): given back as it was %v, want %v", d, SameBox(c, v), keep)
		}
		if !SameBox(CompactDecimal(c), c) {
			t.Fatalf("CompactDecimal(%s) made again from its own result", d)
		}
	}
	for _, v := range []any{nil, int64(3), "1.5", 1.5} {
		if !SameBox(CompactDecimal(v), v) {
			t.Fatalf("CompactDecimal(%#v) changed a value that is not a decimal", v)
		}
	}
	v := any(decimal.New(123456, -2))
	if n := testing.AllocsPerRun(100, func() { sink = CompactDecimal(v) }); n != 1 {
		t.Fatalf("CompactDecimal makes %v objects, want 1", n)
	}
}
