package runtime

import (
	"context"
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
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
	rg, err := s.rankedGroups(ctx, n, op.By, op.Per, d)
	if err != nil {
		return nil, err
	}
	news := make([]*GroupState, len(rg.keys))
	var out batch
	for i, g := range rg.groups {
		old := rg.olds[i]
		st, err := rg.changed(i)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		if positional(op) {
			// A place moves for every row after a change: the group's
			// output before against after, the rows that kept theirs
			// cancelling out.
			if out, err = appendGroupChange(out, op, old, st); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
			news[i] = st
			continue
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
	s.writes = append(s.writes, func(ctx context.Context) error { return rg.store.Put(ctx, rg.keys, news) })
	return out, nil
}

// markNeighbours adds to touched, by identity, the row and the rows before
// and after where it is (or would be) in ranking r.
func markNeighbours(r *Ranking, row RankedRow, touched map[string]RankedRow) {
	touched[row.identity()] = row
	if before, ok := neighbour(r, row, false); ok {
		touched[before.identity()] = before
	}
	if after, ok := neighbour(r, row, true); ok {
		touched[after.identity()] = after
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
			if f.Name == "lead" {
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

// positional reports whether a window gives rows their place.
func positional(op *ir.Window) bool {
	for _, f := range op.Funcs {
		if f.Positional() {
			return true
		}
	}
	return false
}

// appendGroupChange appends the change of a group's output from old (nil:
// none) to now, each output row's copies after less its copies before.
func appendGroupChange(out batch, op *ir.Window, old, now *GroupState) (batch, error) {
	z := zset.New()
	if old != nil {
		if err := groupRows(op, old.Ranked, func(row zset.Row) { z.Add(row, -1) }); err != nil {
			return out, err
		}
	}
	if err := groupRows(op, now.Ranked, func(row zset.Row) { z.Add(row, 1) }); err != nil {
		return out, err
	}
	return append(out, z.Entries()...), nil
}

// groupRows gives each output row of a group in order, a copy at a time:
// the row, then its functions' values. row_number counts copies; rank
// is one more than the copies before whose keys differ, dense_rank the
// number of distinct keys so far; an aggregate over a frame slides over
// the copies, each added once and removed once.
func groupRows(op *ir.Window, r *Ranking, emit func(zset.Row)) error {
	type copyOf struct {
		item  int
		rank  int64
		dense int64
	}
	var items []RankedRow
	r.Rows.Ascend(func(it RankedRow) bool {
		items = append(items, it)
		return true
	})
	var copies []copyOf
	var rank, dense int64
	for i, it := range items {
		if i == 0 || compareSortKeys(r, items[i-1], it) != 0 {
			rank, dense = int64(len(copies))+1, dense+1
		}
		for range it.Count {
			copies = append(copies, copyOf{i, rank, dense})
		}
	}
	frames := make([]*frame, len(op.Funcs))
	for j, f := range op.Funcs {
		if f.Aggregate() {
			var err error
			if frames[j], err = newFrame(f); err != nil {
				return err
			}
		}
	}
	for p, c := range copies {
		it := items[c.item]
		var before, after zset.Row
		if p > 0 {
			before = items[copies[p-1].item].Row
		}
		if p+1 < len(copies) {
			after = items[copies[p+1].item].Row
		}
		row := make(zset.Row, len(it.Row), len(it.Row)+len(op.Funcs))
		copy(row, it.Row)
		for j, f := range op.Funcs {
			var v any
			var err error
			switch {
			case f.Name == "row_number":
				v = int64(p) + 1
			case f.Name == "rank":
				v = c.rank
			case f.Name == "dense_rank":
				v = c.dense
			case f.Aggregate():
				leaving := zset.Row(nil)
				if q := p - f.Frame - 1; q >= 0 {
					leaving = items[copies[q].item].Row
				}
				v, err = frames[j].slide(f, it.Row, leaving)
			default:
				at := before
				if f.Name == "lead" {
					at = after
				}
				if at != nil {
					v, err = f.Arg.Eval(at)
				}
			}
			if err != nil {
				return err
			}
			row = append(row, v)
		}
		emit(row)
	}
	return nil
}

// frame is an aggregate's state over a window's frame of rows.
type frame struct {
	impl stdlib.Aggregator
	lin  stdlib.Linear
	rows int64
}

func newFrame(f ir.WindowFunc) (*frame, error) {
	call := stdlib.AggCall{Result: f.Type}
	if f.Arg.Type.Kind != types.Invalid {
		call.Args = []types.Type{f.Arg.Type}
	}
	impl, err := stdlib.Bind(f.Name, call)
	if err != nil {
		return nil, err
	}
	if impl.Shape() != stdlib.NoMultiset {
		return nil, fmt.Errorf("%s over a frame of rows is not supported", f.Name)
	}
	return &frame{impl: impl, lin: stdlib.Linear{Sum: impl.Init()}}, nil
}

// slide adds the row entering the frame and removes the one leaving it
// (nil when none does), and returns the aggregate over the frame.
func (fr *frame) slide(f ir.WindowFunc, entering, leaving zset.Row) (any, error) {
	for _, step := range []struct {
		row zset.Row
		w   int64
	}{{entering, 1}, {leaving, -1}} {
		if step.row == nil {
			continue
		}
		fr.rows += step.w
		if f.Arg.Type.Kind == types.Invalid {
			continue // count(): the rows alone
		}
		v, err := f.Arg.Eval(step.row)
		if err != nil {
			return nil, err
		}
		if v != nil {
			fr.lin.N += step.w
			fr.impl.Add(&fr.lin, v, step.w)
		}
	}
	return fr.impl.Result(fr.lin, nil, fr.rows), nil
}

// compareSortKeys compares two ranked rows by their order keys alone,
// as rank's ties are decided.
func compareSortKeys(r *Ranking, a, b RankedRow) int {
	for i, desc := range r.Desc {
		c := compareSortValues(a.Sort[i], b.Sort[i])
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
