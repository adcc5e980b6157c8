package stdlib

import "strings"

// stringAgg is string_agg(x, sep [order by ...]): the non-NULL values
// joined in order, each after the first preceded by its own row's
// separator; NULL when there are none.
type stringAgg struct{ ordered }

func newStringAgg(c AggCall) Aggregator { return stringAgg{ordered{at: c.OrderBy}} }

func (a stringAgg) Result(s Linear, m Multiset, _ int64) any {
	if s.N == 0 {
		return nil
	}
	var b strings.Builder
	first := true
	m.Ascend(func(v any, n int64) bool {
		item := v.([]any)
		for range n {
			if !first && item[a.at+1] != nil {
				b.WriteString(item[a.at+1].(string))
			}
			b.WriteString(item[a.at].(string))
			first = false
		}
		return true
	})
	return b.String()
}
