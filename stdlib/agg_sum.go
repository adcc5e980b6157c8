package stdlib

import (
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// newSum binds sum(x): exact in int64 for int2 and int4 (whose sum is
// int8), in decimal for int8 and numeric, float64 for floats.
func newSum(c AggCall) Aggregator {
	return sumAgg{zero: zeroSum(c.Args[0], false), scaled: c.Args[0].Kind == types.Numeric}
}

// sumAgg is sum(x). Its state is the running sum and, for numerics, the
// count of arguments by scale: Postgres gives a numeric sum the largest
// scale of the rows summed, which after deletions is that of the rows
// present, not of every row ever added.
type sumAgg struct {
	linear
	zero   any
	scaled bool // the argument is numeric: its scales are counted
}

func (a sumAgg) Init() any { return a.zero }

func (sumAgg) Add(s *Linear, v any, w int64) {
	s.Sum = addWeighted(s.Sum, v, w)
	countScale(s, v, w)
}

// AddSum adds n rows whose arguments sum to sum (see Presummed).
func (a sumAgg) AddSum(s *Linear, sum decimal.Decimal, n int64) { addSum(s, sum, n, a.scaled) }

// AddSumCoef adds n rows whose arguments sum to coef × 10^exp.
func (a sumAgg) AddSumCoef(s *Linear, coef int64, exp int32, n int64) {
	addSumCoef(s, coef, exp, n, a.scaled)
}

func (sumAgg) Result(s Linear, _ Multiset, _ int64) any {
	if s.N == 0 {
		return nil
	}
	if d, ok := s.Sum.(decimal.Decimal); ok {
		if scale := int32(maxScale(s.Scales)); d.Exponent() != -scale {
			return d.Round(scale)
		}
		// Of its scale already, as a sum mostly is: the state's own
		// value, not boxed again.
	}
	return s.Sum
}
