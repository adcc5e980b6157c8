package runtime

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/btree"
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
	key  zset.Row
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
		args, err := aggArgs(op, e.Row)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		k := types.KeyOf(key)
		if _, ok := groupKeys[k]; !ok {
			groupKeys[k] = key
			keys = append(keys, k)
		}
		changes[k] = append(changes[k], groupChange{args, e.Weight, key})
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
			if spelledApart(c.key) {
				st.addForm(c.key, c.w)
			}
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

// aggArgs evaluates, for one input row, what each aggregate adds to its
// state: its argument's value, or for an ordered aggregate the row's item
// (order keys, argument, separator).
func aggArgs(op *ir.Aggregate, row zset.Row) ([]any, error) {
	args := make([]any, len(op.Aggs))
	for i, a := range op.Aggs {
		if a.Arg == nil {
			continue
		}
		v, err := a.Arg.Eval(row)
		if err != nil {
			return nil, err
		}
		if !a.Ordered() {
			args[i] = v
			continue
		}
		item := make([]any, 0, len(a.OrderBy)+2)
		for _, k := range a.OrderBy {
			kv, err := k.Key.Eval(row)
			if err != nil {
				return nil, err
			}
			item = append(item, kv)
		}
		item = append(item, v)
		if a.Sep != nil {
			sep, err := a.Sep.Eval(row)
			if err != nil {
				return nil, err
			}
			item = append(item, sep)
		}
		args[i] = item
	}
	return args, nil
}

func newGroupState(key zset.Row, op *ir.Aggregate) *GroupState {
	st := &GroupState{Key: key, Accs: make([]Accumulator, len(op.Aggs))}
	for i, a := range op.Aggs {
		acc := &st.Accs[i]
		switch {
		case a.Ordered():
			acc.Ordered = true
			for _, k := range a.OrderBy {
				acc.Desc = append(acc.Desc, k.Desc)
			}
			acc.Values = NewItemMultiset(acc.Desc)
		case a.Name == "min" || a.Name == "max":
			acc.Spelled = true
			acc.Values = NewSpelledMultiset()
		case a.Distinct:
			acc.Values = NewMultiset()
		case a.Name == "sum" || a.Name == "avg":
			acc.Sum = zeroSum(a)
		case a.Name == "bool_and" || a.Name == "bool_or":
			acc.Sum = int64(0)
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
		if a.Ordered() {
			item := v.([]any)
			x := item[len(a.OrderBy)]
			if x != nil {
				acc.NonNull += c.w
			} else if a.Name == "string_agg" {
				continue // string_agg skips NULLs; the others keep them
			}
			addToMultiset(acc.Values, item, c.w)
			continue
		}
		acc.NonNull += c.w
		switch {
		case a.Distinct:
			addToMultiset(acc.Values, v, c.w)
		case a.Name == "bool_and" || a.Name == "bool_or":
			if v == true {
				acc.Sum = acc.Sum.(int64) + c.w
			}
		case a.Name == "sum" || a.Name == "avg":
			acc.Sum = addWeighted(acc.Sum, v, c.w)
			if d, ok := v.(decimal.Decimal); ok {
				scale := max(0, int(-d.Exponent()))
				for len(acc.Scales) <= scale {
					acc.Scales = append(acc.Scales, 0)
				}
				acc.Scales[scale] += c.w
			}
		case a.Name == "min" || a.Name == "max":
			addToMultiset(acc.Values, v, c.w)
		}
	}
}

// addToMultiset adds w copies of v to a multiset, removing v when its
// count reaches zero.
func addToMultiset(m *btree.BTreeG[ValueCount], v any, w int64) {
	item, found := m.Get(ValueCount{Value: v})
	if !found {
		item = ValueCount{Value: v}
	}
	item.Count += w
	if item.Count == 0 {
		m.Delete(item)
	} else {
		m.ReplaceOrInsert(item)
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
			switch {
			case a.Arg == nil:
				v = st.Count
			case a.Distinct:
				v = int64(acc.Values.Len())
			default:
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
				// Of the greatest value's spellings, the first in
				// written order: the last one met going down.
				acc.Values.Descend(func(vc ValueCount) bool {
					if types.Compare(vc.Value, m.Value) != 0 {
						return false
					}
					v = vc.Value
					return true
				})
			}
		case "bool_and":
			if acc.NonNull > 0 {
				v = acc.Sum.(int64) == acc.NonNull
			}
		case "bool_or":
			if acc.NonNull > 0 {
				v = acc.Sum.(int64) > 0
			}
		default:
			v = orderedResult(a, acc)
		}
		row = append(row, v)
	}
	return row
}

// orderedResult computes array_agg, string_agg, first or last from the
// group's items, in their order.
func orderedResult(a ir.AggFunc, acc *Accumulator) any {
	at := len(a.OrderBy) // where the value sits in an item
	switch a.Name {
	case "first":
		if m, ok := acc.Values.Min(); ok {
			return m.Value.([]any)[at]
		}
		return nil
	case "last":
		if m, ok := acc.Values.Max(); ok {
			return m.Value.([]any)[at]
		}
		return nil
	case "array_agg":
		out := make([]any, 0, acc.Values.Len())
		acc.Values.Ascend(func(vc ValueCount) bool {
			for range vc.Count {
				out = append(out, vc.Value.([]any)[at])
			}
			return true
		})
		return out
	case "string_agg":
		if acc.NonNull == 0 {
			return nil
		}
		var b strings.Builder
		first := true
		acc.Values.Ascend(func(vc ValueCount) bool {
			item := vc.Value.([]any)
			for range vc.Count {
				if !first && item[at+1] != nil {
					b.WriteString(item[at+1].(string))
				}
				b.WriteString(item[at].(string))
				first = false
			}
			return true
		})
		return b.String()
	}
	panic("runtime: unknown aggregate " + a.Name)
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

// spelledApart reports whether a key holds a numeric, whose equal values
// can be written differently (1.5, 1.50).
func spelledApart(key zset.Row) bool {
	for _, v := range key {
		switch x := v.(type) {
		case decimal.Decimal:
			return true
		case []any:
			if spelledApart(x) {
				return true
			}
		}
	}
	return false
}

// addForm counts w rows with the key spelled as key, and makes the
// group's key the first spelling present in order of written form.
func (st *GroupState) addForm(key zset.Row, w int64) {
	id := types.RowKey(key)
	found := false
	for i := range st.Forms {
		if types.RowKey(st.Forms[i].Key) == id {
			st.Forms[i].Count += w
			found = true
			break
		}
	}
	if !found {
		st.Forms = append(st.Forms, KeyForm{Key: key, Count: w})
	}
	kept := st.Forms[:0]
	best := ""
	for _, f := range st.Forms {
		if f.Count == 0 {
			continue
		}
		kept = append(kept, f)
		if fid := types.RowKey(f.Key); best == "" || fid < best {
			best, st.Key = fid, f.Key
		}
	}
	st.Forms = kept
}
