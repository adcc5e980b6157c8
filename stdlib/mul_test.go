package stdlib_test

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// TestMulNumericInt checks the int64 path of numeric * integer against
// decimal's own Mul: same coefficient, same exponent.
func TestMulNumericInt(t *testing.T) {
	coefs := []int64{0, 1, -1, 7, -250, 99999, 1 << 40, -(1 << 53), 1<<53 + 3, math.MaxInt64, math.MinInt64}
	ys := []int64{0, 1, -1, 2, -3, 1000, 1 << 20, 1 << 31, -(1 << 40), math.MaxInt64, math.MinInt64}
	for _, c := range coefs {
		for _, e := range []int32{-4, -2, 0, 3} {
			x := decimal.New(c, e)
			for _, y := range ys {
				got, want := stdlib.MulNumericInt(x, y), x.Mul(decimal.NewFromInt(y))
				if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
					t.Errorf("%s * %d = %s (exp %d), want %s (exp %d)", x, y, got, got.Exponent(), want, want.Exponent())
				}
			}
		}
	}
}

// TestNumericArith checks numeric + numeric, numeric - numeric and
// numeric * integer, as the operators evaluate them (with their int64
// paths for small coefficients), against decimal's own Add, Sub and Mul:
// same coefficient, same exponent.
func TestNumericArith(t *testing.T) {
	numeric, int8 := types.Type{Kind: types.Numeric}, types.Type{Kind: types.Int8}
	op := func(o lang.Op, a, b types.Type) func(x, y any) (any, error) {
		_, f, err := stdlib.Arith(o, a, b)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	add, sub, mul, mulSwapped := op(lang.Add, numeric, numeric), op(lang.Sub, numeric, numeric), op(lang.Mul, numeric, int8), op(lang.Mul, int8, numeric)
	same := func(what string, got any, want decimal.Decimal) {
		t.Helper()
		d, ok := got.(decimal.Decimal)
		if !ok || d.Exponent() != want.Exponent() || d.Coefficient().Cmp(want.Coefficient()) != 0 {
			t.Errorf("%s = %v, want %s (exp %d)", what, got, want, want.Exponent())
		}
	}
	coefs := []int64{0, 1, -1, 7, -250, 1 << 40, 1<<53 - 1, -(1 << 53), 1<<53 + 3, math.MaxInt64, math.MinInt64}
	for _, cx := range coefs {
		for _, ex := range []int32{-2, 0, 3} {
			x := decimal.New(cx, ex)
			for _, cy := range coefs {
				for _, ey := range []int32{-2, 1} {
					y := decimal.New(cy, ey)
					r, _ := add(x, y)
					same(x.String()+" + "+y.String(), r, x.Add(y))
					r, _ = sub(x, y)
					same(x.String()+" - "+y.String(), r, x.Sub(y))
				}
				r, _ := mul(x, cy)
				same(x.String()+" * int", r, x.Mul(decimal.NewFromInt(cy)))
				r, _ = mulSwapped(cy, x)
				same("int * "+x.String(), r, x.Mul(decimal.NewFromInt(cy)))
			}
		}
	}
}
