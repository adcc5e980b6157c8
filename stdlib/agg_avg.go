package stdlib

import "github.com/shopspring/decimal"

// newAvg binds avg(x): a float64 sum for floats, else a decimal one (the
// mean of integers is numeric).
func newAvg(c AggCall) Aggregator { return avgAgg{zero: zeroSum(c.Args[0], true)} }

// avgAgg is avg(x): the running sum divided by the weight of non-NULL
// arguments, as Postgres divides numerics.
type avgAgg struct {
	linear
	zero any
}

func (a avgAgg) Init() any { return a.zero }

func (avgAgg) Add(s *Linear, v any, w int64) {
	s.Sum = addWeighted(s.Sum, v, w)
	countScale(s, v, w)
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
