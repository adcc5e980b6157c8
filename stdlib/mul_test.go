package stdlib_test

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/stdlib"
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
