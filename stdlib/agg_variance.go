package stdlib

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// variance is variance(x), the sample variance (Postgres's var_samp), or
// with sqrt set stddev(x), the sample standard deviation (stddev_samp),
// over integers and numerics. Postgres computes both in numeric from the
// count n, the sum of x and the sum of x², as
// (n·Σx² − (Σx)²) / (n·(n−1)); those are linear, so a deletion subtracts
// exactly what its insertion added, and the result is Postgres's to the
// last digit: the numerator is exact, the division and the square root
// are rounded as Postgres rounds them.
type variance struct {
	linear
	sqrt bool
}

func newVariance(AggCall) Aggregator { return variance{} }

func newStddev(AggCall) Aggregator { return variance{sqrt: true} }

// Init returns the sums of x and of x², as a list so that it is stored
// like any other value.
func (variance) Init() any { return []any{decimal.Zero, decimal.Zero} }

func (variance) Add(s *Linear, v any, w int64) {
	sums := s.Sum.([]any)
	x, wd := toDecimal(v), decimal.NewFromInt(w)
	s.Sum = []any{
		sums[0].(decimal.Decimal).Add(x.Mul(wd)),
		sums[1].(decimal.Decimal).Add(x.Mul(x).Mul(wd)),
	}
	countScale(s, v, w)
}

// Result follows Postgres's numeric_stddev_internal: NULL below 2 rows;
// the numerator at twice the largest scale of the arguments (exact: the
// scale of its products); 0, unscaled, when it is 0; else the quotient
// at the scale numeric division chooses, and the square root of that
// rounded quotient at the same scale.
func (a variance) Result(s Linear, _ Multiset, _ int64) any {
	if s.N < 2 {
		return nil
	}
	sums := s.Sum.([]any)
	sumX, sumX2 := sums[0].(decimal.Decimal), sums[1].(decimal.Decimal)
	n := decimal.NewFromInt(s.N)
	num := n.Mul(sumX2).Sub(sumX.Mul(sumX)).Round(int32(2 * maxScale(s.Scales)))
	if num.Sign() <= 0 {
		return decimal.Zero
	}
	v := NumericDiv(num, n.Mul(decimal.NewFromInt(s.N-1)))
	if !a.sqrt {
		return v
	}
	return sqrtRound(v, scaleOf(v))
}

// sqrtRound returns the square root of d ≥ 0 rounded half away from zero
// to scale digits: the root truncated one digit further, then rounded,
// which is the correctly rounded root, as Postgres's sqrt_var gives.
func sqrtRound(d decimal.Decimal, scale int) decimal.Decimal {
	// d·10^(2(scale+1)) is an integer when d has at most 2·scale+2
	// digits after the point; d's own scale is at most scale here.
	shifted := d.Shift(int32(2 * (scale + 1))).BigInt()
	root := new(big.Int).Sqrt(shifted)
	root.Add(root, big.NewInt(5))
	root.Quo(root, big.NewInt(10))
	return decimal.NewFromBigInt(root, -int32(scale))
}

// exactNumber checks the argument of stddev and variance: an integer or
// a numeric, whose sums are exact.
func exactNumber(name string) func([]types.Type) (types.Type, error) {
	return func(args []types.Type) (types.Type, error) {
		if err := arity(name, args, 1); err != nil {
			return types.Type{}, err
		}
		switch args[0].Kind {
		case types.Int2, types.Int4, types.Int8, types.Numeric:
			return types.Type{Kind: types.Numeric, Nullable: true, Scale: -1}, nil
		case types.Float4, types.Float8:
			return types.Type{}, fmt.Errorf("%s of %s is not supported: its sums would be inexact; convert to numeric, %s(numeric(x))", name, args[0], name)
		}
		return types.Type{}, fmt.Errorf("%s wants an integer or a numeric, got %s", name, args[0])
	}
}
