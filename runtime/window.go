package runtime

import (
	"context"
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/zset"
)

// window keeps, per group, the group's rows ordered as top-k keeps them
// (GroupState.Ranked), and emits for each change the output rows it
// alters: a row's own, and those of the rows next to it, whose lag or
// lead it changes. A change costs O(log group size) per changed row,
// whatever the group's size.
func (s *stepRun) window(ctx context.Context, n *ir.Node, op *ir.Window) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	keys, groups, err := routeTopChanges(&ir.TopK{By: op.By, Per: op.Per}, d)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	desc := descending(op.By)
	store := s.store.Groups(n.ID)
	olds, err := store.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	news := make([]*GroupState, len(keys))
	var out batch
	for i, g := range groups {
		old := olds[i]
		var st *GroupState
		if old == nil {
			st = &GroupState{Key: g.key, Ranked: NewRanking(desc)}
		} else {
			st = old.clone()
		}
		// The rows whose output may change: each changed row and its
		// neighbours, before the changes and after them.
		touched := map[string]RankedRow{}
		if old != nil {
			for _, c := range g.changes {
				markNeighbours(old.Ranked, c.row, touched)
			}
		}
		for _, c := range g.changes {
			st.Count += c.w
			if err := st.Ranked.add(c.row, c.w); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
		}
		for _, c := range g.changes {
			markNeighbours(st.Ranked, c.row, touched)
		}
		for _, r := range touched {
			if old != nil {
				if out, err = appendWindowRows(out, op, old.Ranked, r, -1); err != nil {
					return nil, fmt.Errorf("node n%d: %w", n.ID, err)
				}
			}
			if out, err = appendWindowRows(out, op, st.Ranked, r, 1); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
		}
		news[i] = st
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return store.Put(ctx, keys, news) })
	return out, nil
}

// markNeighbours adds to touched, by ID, the row and the rows before
// and after where it is (or would be) in ranking r.
func markNeighbours(r *Ranking, row RankedRow, touched map[string]RankedRow) {
	touched[row.ID] = row
	if before, ok := neighbour(r, row, false); ok {
		touched[before.ID] = before
	}
	if after, ok := neighbour(r, row, true); ok {
		touched[after.ID] = after
	}
}

// neighbour returns the row of r just after row (or just before it),
// whether or not row itself is in r.
func neighbour(r *Ranking, row RankedRow, after bool) (RankedRow, bool) {
	var found RankedRow
	ok := false
	visit := func(it RankedRow) bool {
		if r.compare(it, row) == 0 {
			return true // row itself: go on to the next
		}
		found, ok = it, true
		return false
	}
	if after {
		r.Rows.AscendGreaterOrEqual(row, visit)
	} else {
		r.Rows.DescendLessOrEqual(row, visit)
	}
	return found, ok
}

// appendWindowRows appends, with weight sign, the output rows of row as
// ranking r holds it, nothing when r does not: each copy of the row with
// the functions' values at the copy before and after it. The first copy
// follows the row before in r, the last precedes the row after; copies
// between follow and precede copies of the row itself.
func appendWindowRows(out batch, op *ir.Window, r *Ranking, row RankedRow, sign int64) (batch, error) {
	it, ok := r.Rows.Get(row)
	if !ok {
		return out, nil
	}
	var prev, next zset.Row
	if p, ok := neighbour(r, it, false); ok {
		prev = p.Row
	}
	if nx, ok := neighbour(r, it, true); ok {
		next = nx.Row
	}
	emit := func(before, after zset.Row, copies int64) error {
		if copies <= 0 {
			return nil
		}
		o := make(zset.Row, len(it.Row), len(it.Row)+len(op.Funcs))
		copy(o, it.Row)
		for _, f := range op.Funcs {
			at := before
			if f.Lead {
				at = after
			}
			var v any
			if at != nil {
				var err error
				if v, err = f.Arg.Eval(at); err != nil {
					return err
				}
			}
			o = append(o, v)
		}
		out = append(out, zset.Entry{Row: o, Weight: sign * copies})
		return nil
	}
	var err error
	if it.Count == 1 {
		err = emit(prev, next, 1)
	} else {
		err = emit(prev, it.Row, 1)
		if err == nil {
			err = emit(it.Row, it.Row, it.Count-2)
		}
		if err == nil {
			err = emit(it.Row, next, 1)
		}
	}
	return out, err
}
