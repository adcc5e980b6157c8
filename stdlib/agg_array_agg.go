package stdlib

// arrayAgg is array_agg(x [order by ...]): the values of the group's
// rows, NULLs included, in order, so it keeps the rows' items.
type arrayAgg struct{ ordered }

func newArrayAgg(c AggCall) Aggregator { return arrayAgg{ordered{at: c.OrderBy}} }

func (arrayAgg) KeepsNull() bool { return true }

func (a arrayAgg) Result(_ Linear, m Multiset, _ int64) any {
	out := make([]any, 0, m.Len())
	m.Ascend(func(item any, n int64) bool {
		for range n {
			out = append(out, item.([]any)[a.at])
		}
		return true
	})
	return out
}

// ordered is the common part of the aggregates whose result depends on
// an order of the rows: they keep one item per row (order keys, then
// arguments) and the argument sits at index at of an item.
type ordered struct {
	multiset
	at int
}

func (ordered) Shape() Shape { return ByItem }
