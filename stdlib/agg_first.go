package stdlib

// firstAgg is first(x order by ...): x of the first row in order, NULL or
// not.
type firstAgg struct{ ordered }

func newFirst(c AggCall) Aggregator { return firstAgg{ordered{at: c.OrderBy}} }

func (firstAgg) KeepsNull() bool { return true }

func (a firstAgg) Result(_ Linear, m Multiset, _ int64) any {
	var out any
	m.Ascend(func(item any, _ int64) bool {
		out = item.([]any)[a.at]
		return false
	})
	return out
}
