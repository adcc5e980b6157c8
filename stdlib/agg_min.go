package stdlib

// minAgg is min(x). A deletion can remove the least value, so it keeps them
// all; of equal values spelled apart (1.5, 1.50) it gives the first in
// written order, as the multiset orders them.
type minAgg struct{ multiset }

func newMin(AggCall) Aggregator { return minAgg{} }

func (minAgg) Shape() Shape { return BySpelling }

func (minAgg) Result(_ Linear, m Multiset, _ int64) any {
	var out any
	m.Ascend(func(v any, _ int64) bool {
		out = v
		return false
	})
	return out
}
