package stdlib

// boolAnd is bool_and(x). Its state is the weight of the rows whose x is
// true: every non-NULL x is true when that is Linear.N.
type boolAnd struct{ linear }

func newBoolAnd(AggCall) Aggregator { return boolAnd{} }

func (boolAnd) Init() any { return int64(0) }

func (boolAnd) Add(s *Linear, v any, w int64) { s.Sum = addTrue(s.Sum, v, w) }

func (boolAnd) Result(s Linear, _ Multiset, _ int64) any {
	if s.N == 0 {
		return nil
	}
	return s.Sum.(int64) == s.N
}

// addTrue adds w to the weight of true rows when v is true.
func addTrue(sum, v any, w int64) any {
	if v == true {
		return sum.(int64) + w
	}
	return sum
}
