package stdlib

// lastAgg is last(x order by ...): x of the last row in order, NULL or not.
type lastAgg struct{ ordered }

func newLast(c AggCall) Aggregator { return lastAgg{ordered{at: c.OrderBy}} }

func (lastAgg) KeepsNull() bool { return true }

func (a lastAgg) Result(_ Linear, m Multiset, _ int64) any {
	var out any
	m.Descend(func(item any, _ int64) bool {
		out = item.([]any)[a.at]
		return false
	})
	return out
}
