package stdlib

import "github.com/shopspring/decimal"

// newCount binds count(), count(x) or count(distinct x).
func newCount(c AggCall) Aggregator {
	switch {
	case len(c.Args) == 0:
		return countRows{}
	case c.Distinct:
		return countDistinct{}
	}
	return countNonNull{}
}

// countRows is count(): the group's total weight, which the caller keeps
// anyway.
type countRows struct{ linear }

func (countRows) Init() any                                { return nil }
func (countRows) Add(*Linear, any, int64)                  {}
func (countRows) AddSum(*Linear, decimal.Decimal, int64)   {}
func (countRows) AddSumCoef(*Linear, int64, int32, int64)  {}
func (countRows) Result(_ Linear, _ Multiset, n int64) any { return n }

// countNonNull is count(x): the weight of the rows whose x is not NULL,
// which Linear.N is.
type countNonNull struct{ linear }

func (countNonNull) Init() any                                { return nil }
func (countNonNull) Add(*Linear, any, int64)                  {}
func (countNonNull) AddSum(*Linear, decimal.Decimal, int64)   {}
func (countNonNull) AddSumCoef(*Linear, int64, int32, int64)  {}
func (countNonNull) Result(s Linear, _ Multiset, _ int64) any { return s.N }

// countDistinct is count(distinct x): the number of distinct non-NULL
// values, so it keeps them, equal values (1.5, 1.50) as one.
type countDistinct struct{ multiset }

func (countDistinct) Shape() Shape { return ByValue }
func (countDistinct) Result(_ Linear, m Multiset, _ int64) any {
	return int64(m.Len())
}
