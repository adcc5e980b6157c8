package runtime

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// groupChange is one input change routed to its group, with its
// aggregate arguments evaluated.
type groupChange struct {
	args []any
	w    int64
}

// aggregate updates the state of each group the step's changes touch and
// emits, per changed group, the retraction of its old row and the
// insertion of its new one.
func (s *stepRun) aggregate(ctx context.Context, n *ir.Node, op *ir.Aggregate) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	var keys []string
	groupKeys := map[string]zset.Row{}
	changes := map[string][]groupChange{}
	for _, e := range d {
		key, _, err := ir.EvalKey(op.Key, e.Row)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		args := make([]any, len(op.Aggs))
		for i, a := range op.Aggs {
			if a.Arg != nil {
				if args[i], err = a.Arg.Eval(e.Row); err != nil {
					return nil, fmt.Errorf("node n%d: %w", n.ID, err)
				}
			}
		}
		k := types.KeyOf(key)
		if _, ok := groupKeys[k]; !ok {
			groupKeys[k] = key
			keys = append(keys, k)
		}
		changes[k] = append(changes[k], groupChange{args, e.Weight})
	}
	var out batch
	groups := s.store.Groups(n.ID)
	olds, err := groups.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	news := make([]*GroupState, len(keys))
	for i, k := range keys {
		old := olds[i]
		var st *GroupState
		if old == nil {
			st = newGroupState(groupKeys[k], op)
		} else {
			st = old.clone()
		}
		for _, c := range changes[k] {
			st.add(op, c)
		}
		if st.Count < 0 {
			return nil, fmt.Errorf("node n%d: group %s has negative weight %d: more rows deleted than inserted", n.ID, types.Format(st.Key, types.Type{Kind: types.Record}), st.Count)
		}
		news[i] = st
		oldRow, newRow := rowOf(old, op), rowOf(st, op)
		if oldRow != nil && newRow != nil && types.RowKey(oldRow) == types.RowKey(newRow) {
			continue
		}
		if oldRow != nil {
			out = append(out, zset.Entry{Row: oldRow, Weight: -1})
		}
		if newRow != nil {
			out = append(out, zset.Entry{Row: newRow, Weight: 1})
		}
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return groups.Put(ctx, keys, news) })
	return out, nil
}

func newGroupState(key zset.Row, op *ir.Aggregate) *GroupState {
	st := &GroupState{Key: key, Accs: make([]Accumulator, len(op.Aggs))}
	for i, a := range op.Aggs {
		switch a.Name {
		case "min", "max":
			st.Accs[i].Values = NewMultiset()
		case "sum", "avg":
			st.Accs[i].Sum = zeroSum(a)
		}
	}
	return st
}

// zeroSum is the additive identity of the accumulator's representation.
func zeroSum(a ir.AggFunc) any {
	switch a.Arg.Type.Kind {
	case types.Float4, types.Float8:
		return 0.0
	case types.Int2, types.Int4:
		if a.Name == "sum" {
			return int64(0)
		}
	}
	return decimal.Zero
}

func (st *GroupState) add(op *ir.Aggregate, c groupChange) {
	st.Count += c.w
	for i, a := range op.Aggs {
		acc := &st.Accs[i]
		v := c.args[i]
		if a.Arg == nil || v == nil {
			continue
		}
		acc.NonNull += c.w
		switch a.Name {
		case "sum", "avg":
			acc.Sum = addWeighted(acc.Sum, v, c.w)
			if d, ok := v.(decimal.Decimal); ok {
				scale := max(0, int(-d.Exponent()))
				for len(acc.Scales) <= scale {
					acc.Scales = append(acc.Scales, 0)
				}
				acc.Scales[scale] += c.w
			}
		case "min", "max":
			item, found := acc.Values.Get(ValueCount{Value: v})
			if !found {
				item = ValueCount{Value: v}
			}
			item.Count += c.w
			if item.Count == 0 {
				acc.Values.Delete(item)
			} else {
				acc.Values.ReplaceOrInsert(item)
			}
		}
	}
}

// addWeighted returns sum + v*w in sum's representation.
func addWeighted(sum, v any, w int64) any {
	switch s := sum.(type) {
	case int64:
		return s + v.(int64)*w
	case float64:
		return s + v.(float64)*float64(w)
	case decimal.Decimal:
		var d decimal.Decimal
		switch x := v.(type) {
		case int64:
			d = decimal.NewFromInt(x)
		case decimal.Decimal:
			d = x
		}
		if w != 1 {
			d = d.Mul(decimal.NewFromInt(w))
		}
		return s.Add(d)
	}
	panic(fmt.Sprintf("runtime: bad accumulator %T", sum))
}

// rowOf returns the output row of a group: key values then aggregate
// values; nil when the group has no rows.
func rowOf(st *GroupState, op *ir.Aggregate) zset.Row {
	if st == nil || st.Count == 0 {
		return nil
	}
	row := make(zset.Row, 0, len(st.Key)+len(op.Aggs))
	row = append(row, st.Key...)
	for i, a := range op.Aggs {
		acc := &st.Accs[i]
		var v any
		switch a.Name {
		case "count":
			if a.Arg == nil {
				v = st.Count
			} else {
				v = acc.NonNull
			}
		case "sum":
			if acc.NonNull > 0 {
				v = acc.Sum
				if d, ok := v.(decimal.Decimal); ok {
					v = d.Round(int32(maxScale(acc.Scales)))
				}
			}
		case "avg":
			if acc.NonNull > 0 {
				v = average(acc.Sum, acc.NonNull)
			}
		case "min":
			if m, ok := acc.Values.Min(); ok {
				v = m.Value
			}
		case "max":
			if m, ok := acc.Values.Max(); ok {
				v = m.Value
			}
		}
		row = append(row, v)
	}
	return row
}

func average(sum any, n int64) any {
	switch s := sum.(type) {
	case float64:
		return s / float64(n)
	case decimal.Decimal:
		return stdlib.NumericDiv(s, decimal.NewFromInt(n))
	}
	panic(fmt.Sprintf("runtime: bad average accumulator %T", sum))
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
