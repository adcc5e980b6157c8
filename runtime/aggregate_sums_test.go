package runtime

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// TestDecimalSumsMatchAdd checks that summing numerics by exponent in
// int64 and adding each sum with AddSum gives the state, sum and scales,
// that adding the values one by one gives, for sum and avg, with
// coefficients small and too large for the int64 path, and weights of
// either sign, given as decimals or as coefficients.
func TestDecimalSumsMatchAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"sum", "avg"} {
		impl, err := stdlib.Bind(name, stdlib.AggCall{Args: []types.Type{{Kind: types.Numeric}}, Result: types.Type{Kind: types.Numeric}})
		if err != nil {
			t.Fatal(err)
		}
		p := impl.(stdlib.Presummed)
		for trial := range 300 {
			one := stdlib.Linear{Sum: impl.Init()}
			batched := stdlib.Linear{Sum: impl.Init()}
			var sums decimalSums
			for range 1 + r.IntN(40) {
				var coef int64
				switch r.IntN(4) {
				case 0:
					coef = r.Int64() // too many digits for the fast path
				case 1:
					coef = r.Int64N(1 << 53)
				default:
					coef = r.Int64N(100_000)
				}
				if r.IntN(2) == 0 {
					coef = -coef
				}
				v := decimal.New(coef, int32(r.IntN(6)-4))
				w := int64(r.IntN(7) - 3)
				if r.IntN(10) == 0 {
					w = r.Int64N(4000) - 2000
				}
				if w == 0 {
					continue
				}
				one.N += w
				impl.Add(&one, v, w)
				batched.N += w
				// A product's coefficient (price * qty) comes as an
				// int64 of any size, by addCoef.
				added := false
				if r.IntN(2) == 0 {
					added = sums.addCoef(coef, v.Exponent(), w)
				} else {
					added = sums.add(v, w)
				}
				if !added {
					impl.Add(&batched, v, w)
				}
			}
			sums.flush(&batched, p)
			a, b := one.Sum.(decimal.Decimal), batched.Sum.(decimal.Decimal)
			if a.Exponent() != b.Exponent() || a.Coefficient().Cmp(b.Coefficient()) != 0 || !slices.Equal(one.Scales, batched.Scales) {
				t.Fatalf("%s trial %d: one by one %s (exp %d, scales %v), batched %s (exp %d, scales %v)",
					name, trial, a, a.Exponent(), one.Scales, b, b.Exponent(), batched.Scales)
			}
		}
	}
}
