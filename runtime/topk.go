package runtime

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/google/btree"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Ranking is the ordered multiset of a top-k group's rows.
type Ranking struct {
	Desc []bool // per order key, whether it is descending
	Rows *btree.BTreeG[RankedRow]
}

// RankedRow is a row of a top-k group with its order key values and its
// multiplicity.
type RankedRow struct {
	Sort  []any    // the values of the order keys
	Row   zset.Row // the row
	ID    string   // types.RowKey(Row), the last tie-break
	Count int64
}

// NewRanking returns an empty ranking for order keys that are descending
// where desc says.
func NewRanking(desc []bool) *Ranking {
	r := &Ranking{Desc: desc}
	r.Rows = btree.NewG(16, func(a, b RankedRow) bool { return r.compare(a, b) < 0 })
	return r
}

// compare orders two ranked rows: by the order keys, each ascending with
// NULLs last or descending with NULLs first; then by the rows' columns
// in order, ascending with NULLs last; then by identity, so that rows
// equal as values but spelled differently (1.5, 1.50) have an order.
func (r *Ranking) compare(a, b RankedRow) int {
	for i, desc := range r.Desc {
		c := compareNullsLast(a.Sort[i], b.Sort[i])
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	if c := compareNullsLast(a.Row, b.Row); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// compareNullsLast orders values as types.Compare does, except that NULL
// sorts after every other value, inside arrays and records too, as in
// Postgres's ORDER BY ... ASC.
func compareNullsLast(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if x, ok := a.([]any); ok {
		y := b.([]any)
		for i := range min(len(x), len(y)) {
			if c := compareNullsLast(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	}
	return types.Compare(a, b)
}

// add adds w copies of a row; it fails when copies would go negative.
func (r *Ranking) add(row RankedRow, w int64) error {
	item, found := r.Rows.Get(row)
	if !found {
		item = row
		item.Count = 0
	}
	item.Count += w
	switch {
	case item.Count < 0:
		return fmt.Errorf("row %s has negative weight %d: more rows deleted than inserted", types.Format(row.Row, types.Type{Kind: types.Record}), item.Count)
	case item.Count == 0:
		r.Rows.Delete(item)
	default:
		r.Rows.ReplaceOrInsert(item)
	}
	return nil
}

// first adds to z the group's first n rows, each with weight w times the
// copies of it among them.
func (r *Ranking) first(n int64, z *zset.ZSet, w int64) {
	r.Rows.Ascend(func(it RankedRow) bool {
		take := min(it.Count, n)
		z.AddKeyed(it.ID, it.Row, w*take)
		n -= take
		return n > 0
	})
}

// topChange is one input change routed to its top-k group.
type topChange struct {
	row RankedRow
	w   int64
}

// topK updates the ranking of each group the step's changes touch and
// emits, per group, the difference between its first N rows after the
// changes and before them.
func (s *stepRun) topK(ctx context.Context, n *ir.Node, op *ir.TopK) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	var keys []string
	groupKeys := map[string]zset.Row{}
	changes := map[string][]topChange{}
	for _, e := range d {
		key, _, err := ir.EvalKey(op.Per, e.Row)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		sortKey := make([]any, len(op.By))
		for i, k := range op.By {
			if sortKey[i], err = k.Key.Eval(e.Row); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
		}
		k := types.KeyOf(key)
		if _, ok := groupKeys[k]; !ok {
			groupKeys[k] = key
			keys = append(keys, k)
		}
		changes[k] = append(changes[k], topChange{RankedRow{Sort: sortKey, Row: e.Row, ID: types.RowKey(e.Row)}, e.Weight})
	}
	desc := make([]bool, len(op.By))
	for i, k := range op.By {
		desc[i] = k.Desc
	}
	groups := s.store.Groups(n.ID)
	olds, err := groups.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	news := make([]*GroupState, len(keys))
	diff := zset.New()
	for i, k := range keys {
		old := olds[i]
		var st *GroupState
		if old == nil {
			st = &GroupState{Key: groupKeys[k], Ranked: NewRanking(desc)}
		} else {
			st = old.clone()
			old.Ranked.first(op.N, diff, -1)
		}
		for _, c := range changes[k] {
			st.Count += c.w
			if err := st.Ranked.add(c.row, c.w); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
		}
		st.Ranked.first(op.N, diff, 1)
		news[i] = st
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return groups.Put(ctx, keys, news) })
	return toBatch(diff), nil
}
