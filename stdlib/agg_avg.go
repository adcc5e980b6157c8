package stdlib

import (
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// newAvg binds avg(x): a float64 sum for floats, else a decimal one (the
// mean of integers is numeric).
func newAvg(c AggCall) Aggregator {
	return avgAgg{zero: zeroSum(c.Args[0], true), scaled: c.Args[0].Kind == types.Numeric}
}

// avgAgg is avg(x): the running sum divided by the weight of non-NULL
// arguments, as Postgres divides numerics.
type avgAgg struct {
	linear
	zero   any
	scaled bool // the argument is numeric: its scales are counted
}

func (a avgAgg) Init() any { return a.zero }

func (avgAgg) Add(s *Linear, v any, w int64) {
	s.Sum = addWeighted(s.Sum, v, w)
	countScale(s, v, w)
}

// AddSum adds n rows whose arguments sum to sum (see Presummed).
func (a avgAgg) AddSum(s *Linear, sum decimal.Decimal, n int64) { addSum(s, sum, n, a.scaled) }

// AddSumCoef adds n rows whose arguments sum to coef × 10^exp.
func (a avgAgg) AddSumCoef(s *Linear, coef int64, exp int32, n int64) {
	addSumCoef(s, coef, exp, n, a.scaled)
}

func (avgAgg) Result(s Linear, _ Multiset, _ int64) any {
	if s.N == 0 {
		return nil
	}
	if f, ok := s.Sum.(float64); ok {
		return f / float64(s.N)
	}
	return NumericDiv(s.Sum.(decimal.Decimal), decimal.NewFromInt(s.N))
}
