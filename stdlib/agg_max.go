package stdlib

import "github.com/stepping-io/stepping/types"

// maxAgg is max(x). A deletion can remove the greatest value, so it keeps
// them all; of equal values spelled apart (1.5, 1.50) it gives the first
// in written order, the last met going down.
type maxAgg struct{ multiset }

func newMax(AggCall) Aggregator { return maxAgg{} }

func (maxAgg) Shape() Shape { return BySpelling }

func (maxAgg) Result(_ Linear, m Multiset, _ int64) any {
	var out any
	m.Descend(func(v any, _ int64) bool {
		if out != nil && types.Compare(v, out) != 0 {
			return false
		}
		out = v
		return true
	})
	return out
}
