package stdlib

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// Aggregator is the implementation of one aggregate at one call site, its
// argument types fixed by Aggregate.New, so that nothing is chosen per
// row. It is shared by the incremental runtime, which keeps each group's
// state across steps, and by the from-scratch evaluator that checks it,
// which folds a group's rows into a fresh state: both drive it the same
// way, so an aggregate is written once.
//
// A group's state has two parts. The linear part (Linear) is changed by
// Add, a row at a time; a deleted row is added with a negative weight, so
// retraction is addition and the state never needs the group's rows. The
// ordered part, which the Shape asks for, is a multiset the caller keeps
// (the runtime in its Groups store) and hands to Result: an aggregate
// whose result a deletion can't undo from a sum (min, the rows of
// array_agg) keeps its values there.
type Aggregator interface {
	// Shape says which multiset, if any, the aggregate keeps.
	Shape() Shape
	// KeepsNull says whether a row whose argument is NULL still enters
	// the multiset (array_agg, first and last keep NULLs, the others skip
	// them). Such rows never reach Add nor count in Linear.N.
	KeepsNull() bool
	// Init returns the Sum of a group with no rows.
	Init() any
	// Add adds w copies of a row whose argument is v, not NULL, to the
	// linear state: w is negative for a deletion. It must not change the
	// value of s.Sum in place (it may replace it): states are copied
	// shallowly. It is called only for Shape NoMultiset.
	Add(s *Linear, v any, w int64)
	// Result returns the aggregate's value for a group of rows rows (the
	// total weight, NULL arguments included) with linear state s and
	// multiset m (nil for Shape NoMultiset).
	Result(s Linear, m Multiset, rows int64) any
}

// Presummed is implemented by the aggregators whose linear state can
// take many rows in one call, given only their number and the sum of
// their arguments: count, sum and avg over integers and numerics. The
// Postgres store's backfill sums a group's rows in SQL and hands the
// sums over. The state it gives is the one Add gives row by row.
type Presummed interface {
	// AddSum adds n rows whose arguments are not NULL and sum to sum
	// exactly; for a numeric argument, all n have the scale sum has, as
	// Postgres's sum of numerics of one scale has that scale. Linear.N
	// is the caller's, as for Add.
	AddSum(s *Linear, sum decimal.Decimal, n int64)
	// AddSumCoef is AddSum of the numeric coef × 10^exp. It makes no
	// decimal of it where the state's sum is one of that exponent with a
	// small coefficient, as a group's sum of prices is.
	AddSumCoef(s *Linear, coef int64, exp int32, n int64)
}

// addSum is AddSum for sum and avg: scaled says the argument is
// numeric, whose scales the state counts.
func addSum(s *Linear, sum decimal.Decimal, n int64, scaled bool) {
	switch x := s.Sum.(type) {
	case int64:
		s.Sum = x + sum.IntPart()
	case decimal.Decimal:
		if x.IsZero() && x.Exponent() >= sum.Exponent() {
			// What Add gives, without rescaling the zero a new group's
			// sum starts from to sum's exponent first.
			s.Sum = sum
		} else {
			s.Sum = x.Add(sum)
		}
	default:
		panic(fmt.Sprintf("stdlib: presummed rows for a %T sum", s.Sum))
	}
	if scaled {
		countScale(s, sum, n)
	}
}

// addSumCoef is AddSumCoef for sum and avg.
func addSumCoef(s *Linear, coef int64, exp int32, n int64, scaled bool) {
	if x, ok := s.Sum.(decimal.Decimal); ok {
		sum, fits := int64(0), false
		switch {
		case x.IsZero() && x.Exponent() >= exp:
			sum, fits = coef, true // as addSum takes a sum onto zero
		case x.Exponent() == exp:
			if c, ok := types.SmallCoefficient(x); ok {
				sum, fits = types.AddInt64(c, coef)
			}
		}
		if fits {
			// x.Add(coef × 10^exp), whose exponent is exp, made in
			// one object (a group's sum is made at each change).
			s.Sum = types.BoxDecimal(sum, exp)
			if scaled {
				countScaleAt(s, max(0, -int(exp)), n)
			}
			return
		}
	}
	addSum(s, decimal.New(coef, exp), n, scaled)
}

// Shape is the kind of multiset an aggregate keeps beside its linear
// state.
type Shape int

const (
	// NoMultiset aggregates keep only their linear state.
	NoMultiset Shape = iota
	// ByValue aggregates keep the non-NULL argument values, ordered by
	// value, equal values (1.5, 1.50) counted together.
	ByValue
	// BySpelling aggregates keep the non-NULL argument values ordered by
	// value, and equal values by their written form, so that the result
	// can be the first spelling present whatever rows came and went.
	BySpelling
	// ByItem aggregates keep one item per row: the row's order-key values,
	// then its arguments, ordered by the keys (each in its direction, NULL
	// after every value ascending), then by the rest ascending, NULLs
	// last, then by written form.
	ByItem
)

// Linear is the linear part of an aggregate's state in one group.
type Linear struct {
	// N is the total weight of the rows whose argument is not NULL; the
	// caller keeps it.
	N int64
	// Sum is the aggregator's running state, of its own representation
	// (an int64, float64 or decimal.Decimal sum, a count, a list of sums);
	// nil for aggregates with none.
	Sum any
	// Scales counts numeric arguments by scale (the index), so that a
	// result can take the scale Postgres gives it from the rows present
	// now, whatever rows came and went before.
	Scales []int64
}

// Multiset is read access to an ordered multiset of values (or items)
// and their multiplicities, kept by the caller in the order Shape says.
type Multiset interface {
	// Len is the number of entries; the multiplicities are not counted.
	Len() int
	// Ascend calls yield for each entry in order until it returns false.
	Ascend(yield func(v any, n int64) bool)
	// Descend calls yield for each entry in reverse order until it
	// returns false.
	Descend(yield func(v any, n int64) bool)
}

// AggCall is what an aggregator is bound to: one call's checked form.
type AggCall struct {
	Args     []types.Type // the arguments' types; none for count()
	Distinct bool         // count(distinct x)
	OrderBy  int          // the number of order keys
	Result   types.Type   // the type Check gave
}

// Bind returns the aggregator of a checked call of aggregate name.
func Bind(name string, c AggCall) (Aggregator, error) {
	a, ok := aggregates[name]
	if !ok {
		return nil, fmt.Errorf("unknown aggregate %s", name)
	}
	return a.New(c), nil
}

// linear is the common part of aggregates keeping no multiset, which skip
// NULLs.
type linear struct{}

func (linear) Shape() Shape    { return NoMultiset }
func (linear) KeepsNull() bool { return false }

// multiset is the common part of aggregates keeping their values in a
// multiset and nothing else.
type multiset struct{}

func (multiset) Init() any                     { return nil }
func (multiset) Add(s *Linear, v any, w int64) {}
func (multiset) KeepsNull() bool               { return false }

// numericSum is the state of a sum over arguments of type t: int64 for
// int2 and int4 when exact (wide is false), float64 for floats, else
// decimal.Decimal.
func zeroSum(t types.Type, wide bool) any {
	switch t.Kind {
	case types.Float4, types.Float8:
		return 0.0
	case types.Int2, types.Int4:
		if !wide {
			return int64(0)
		}
	}
	return decimal.Zero
}

// addWeighted returns sum + v*w in sum's representation.
func addWeighted(sum, v any, w int64) any {
	switch s := sum.(type) {
	case int64:
		return s + v.(int64)*w
	case float64:
		return s + v.(float64)*float64(w)
	case decimal.Decimal:
		d := toDecimal(v)
		if w != 1 {
			d = d.Mul(decimal.NewFromInt(w))
		}
		return s.Add(d)
	}
	panic(fmt.Sprintf("stdlib: bad sum %T", sum))
}

// toDecimal converts an integer or numeric argument to a decimal.
func toDecimal(v any) decimal.Decimal {
	if x, ok := v.(int64); ok {
		return decimal.NewFromInt(x)
	}
	return v.(decimal.Decimal)
}

// countScale counts w arguments of v's scale, when v is a numeric.
func countScale(s *Linear, v any, w int64) {
	d, ok := v.(decimal.Decimal)
	if !ok {
		return
	}
	countScaleAt(s, scaleOf(d), w)
}

// countScaleAt counts w arguments of the given scale.
func countScaleAt(s *Linear, scale int, w int64) {
	if len(s.Scales) <= scale {
		// In one step: a price's scale of 2 would otherwise grow the
		// counts three times.
		s.Scales = append(s.Scales, make([]int64, scale+1-len(s.Scales))...)
	}
	s.Scales[scale] += w
}

// maxScale is the largest scale among the arguments present.
func maxScale(scales []int64) int {
	for s := len(scales) - 1; s >= 0; s-- {
		if scales[s] > 0 {
			return s
		}
	}
	return 0
}
