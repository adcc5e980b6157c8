package stdlib

// boolOr is bool_or(x). Its state is the weight of the rows whose x is
// true: some x is true when that is positive.
type boolOr struct{ linear }

func newBoolOr(AggCall) Aggregator { return boolOr{} }

func (boolOr) Init() any { return int64(0) }

func (boolOr) Add(s *Linear, v any, w int64) { s.Sum = addTrue(s.Sum, v, w) }

func (boolOr) Result(s Linear, _ Multiset, _ int64) any {
	if s.N == 0 {
		return nil
	}
	return s.Sum.(int64) > 0
}
