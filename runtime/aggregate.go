package runtime

import (
	"context"
	"fmt"

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
	impls, err := bindAggs(op)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
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
			st = newGroupState(groupKeys[k], op, impls)
		} else {
			st = old.clone()
		}
		for _, c := range changes[k] {
			st.add(op, impls, c)
			if spelledApart(c.key) {
				st.addForm(c.key, c.w)
			}
		}
		if st.Count < 0 {
			return nil, fmt.Errorf("node n%d: group %s has negative weight %d: more rows deleted than inserted", n.ID, types.Format(st.Key, types.Type{Kind: types.Record}), st.Count)
		}
		news[i] = st
		oldRow, newRow := rowOf(old, op, impls), rowOf(st, op, impls)
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

// bindAggs returns the aggregator of each of the node's aggregates.
func bindAggs(op *ir.Aggregate) ([]stdlib.Aggregator, error) {
	out := make([]stdlib.Aggregator, len(op.Aggs))
	for i, a := range op.Aggs {
		impl, err := a.Aggregator()
		if err != nil {
			return nil, err
		}
		out[i] = impl
	}
	return out, nil
}

// newGroupState returns the state of a group with no rows: each
// aggregate's initial linear state and the multiset its shape asks for.
func newGroupState(key zset.Row, op *ir.Aggregate, impls []stdlib.Aggregator) *GroupState {
	st := &GroupState{Key: key, Accs: make([]Accumulator, len(op.Aggs))}
	for i, a := range op.Aggs {
		acc := &st.Accs[i]
		acc.Sum = impls[i].Init()
		switch impls[i].Shape() {
		case stdlib.ByItem:
			acc.Ordered = true
			for _, k := range a.OrderBy {
				acc.Desc = append(acc.Desc, k.Desc)
			}
			acc.Values = NewItemMultiset(acc.Desc)
		case stdlib.BySpelling:
			acc.Spelled = true
			acc.Values = NewSpelledMultiset()
		case stdlib.ByValue:
			acc.Values = NewMultiset()
		}
	}
	return st
}

// add adds one change to the group: to the multiset of an aggregate that
// keeps one, else to its linear state.
func (st *GroupState) add(op *ir.Aggregate, impls []stdlib.Aggregator, c groupChange) {
	st.Count += c.w
	for i, a := range op.Aggs {
		acc := &st.Accs[i]
		v := c.args[i]
		if a.Arg == nil || v == nil {
			continue
		}
		impl := impls[i]
		switch impl.Shape() {
		case stdlib.ByItem:
			if item := v.([]any); item[len(a.OrderBy)] != nil {
				acc.NonNull += c.w
			} else if !impl.KeepsNull() {
				continue
			}
			addToMultiset(acc.Values, v, c.w)
		case stdlib.ByValue, stdlib.BySpelling:
			acc.NonNull += c.w
			addToMultiset(acc.Values, v, c.w)
		default:
			acc.NonNull += c.w
			lin := acc.linear()
			impl.Add(&lin, v, c.w)
			acc.Sum, acc.Scales = lin.Sum, lin.Scales
		}
	}
}

// linear returns the accumulator's linear state.
func (acc *Accumulator) linear() stdlib.Linear {
	return stdlib.Linear{N: acc.NonNull, Sum: acc.Sum, Scales: acc.Scales}
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

// rowOf returns the output row of a group: key values then aggregate
// values; nil when the group has no rows.
func rowOf(st *GroupState, op *ir.Aggregate, impls []stdlib.Aggregator) zset.Row {
	if st == nil || st.Count == 0 {
		return nil
	}
	row := make(zset.Row, 0, len(st.Key)+len(op.Aggs))
	row = append(row, st.Key...)
	for i := range op.Aggs {
		acc := &st.Accs[i]
		var m stdlib.Multiset
		if acc.Values != nil {
			m = treeMultiset{acc.Values}
		}
		row = append(row, impls[i].Result(acc.linear(), m, st.Count))
	}
	return row
}

// treeMultiset shows a group's B-tree multiset to its aggregator.
type treeMultiset struct{ t *btree.BTreeG[ValueCount] }

func (m treeMultiset) Len() int { return m.t.Len() }

func (m treeMultiset) Ascend(yield func(v any, n int64) bool) {
	m.t.Ascend(func(vc ValueCount) bool { return yield(vc.Value, vc.Count) })
}

func (m treeMultiset) Descend(yield func(v any, n int64) bool) {
	m.t.Descend(func(vc ValueCount) bool { return yield(vc.Value, vc.Count) })
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
