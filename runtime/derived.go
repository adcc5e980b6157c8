package runtime

import (
	"context"
	"fmt"
	"slices"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/zset"
)

// A view computed by an aggregate has its contents already: the
// aggregate's state keeps every group with its output row, which is the
// integral of the aggregate's changes. So the engine does not keep a
// second copy of such a view, a hash map of every row that each step
// would retract from and insert into, but reads the groups when the view
// is read. A view that maps or filters an aggregate's rows, row by row,
// is read the same way, by running those operators over the groups'
// rows.

// derivation says how a view's contents are read from the state of the
// aggregate that computes them rather than kept.
type derivation struct {
	agg int // the aggregate's node
	// rowWise are the row-by-row nodes (filters, maps) from the
	// aggregate's up to the view's, in order; none when the view is the
	// aggregate's.
	rowWise []int
}

// derivationOf returns how view v's contents are read from an
// aggregate's state, or nil when they must be kept: when v is not an
// aggregate's rows seen through row-by-row operators, or when the
// aggregate is within a recursive view's body, whose state is an
// iteration's.
func derivationOf(v *ir.View, inBody []bool) *derivation {
	var rowWise []int
	for n := v.Node; ; n = n.Inputs[0] {
		switch n.Op.(type) {
		case *ir.Filter, *ir.Map, *ir.FlatMap:
			rowWise = append(rowWise, n.ID)
		case *ir.Aggregate:
			if inBody[n.ID] {
				return nil
			}
			slices.Reverse(rowWise)
			return &derivation{agg: n.ID, rowWise: rowWise}
		default:
			return nil
		}
	}
}

// derive reads the contents of a view that d derives from an
// aggregate's state: the groups' output rows, through the row-by-row
// operators above the aggregate.
func (e *Engine) derive(ctx context.Context, d *derivation) (z *zset.ZSet, err error) {
	defer func() {
		// As in a step, a panic is a bug that must not reach the caller.
		if p := recover(); p != nil {
			z, err = nil, fmt.Errorf("internal error: %v", p)
		}
	}()
	op := e.circuit.Nodes[d.agg].Op.(*ir.Aggregate)
	bound, err := e.aggregators(op)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", d.agg, err)
	}
	var rows batch
	e.store.(*MemoryStore).eachGroup(d.agg, func(st *GroupState) {
		if row := st.outputRow(op, bound.impls); row != nil {
			rows = append(rows, zset.Entry{Row: row, Weight: 1})
		}
	})
	if len(d.rowWise) == 0 {
		// One row a group, no two alike: read as they are, hashed only
		// for a lookup.
		return zset.Consolidated(rows), nil
	}
	s := &stepRun{engine: e, store: e.store, deltas: make([]batch, len(e.circuit.Nodes)), now: e.lastNow, parts: e.parts}
	s.deltas[d.agg] = rows
	for _, id := range d.rowWise {
		if s.deltas[id], err = s.eval(ctx, e.circuit.Nodes[id]); err != nil {
			return nil, err
		}
	}
	return zset.FromEntries(s.deltas[d.rowWise[len(d.rowWise)-1]]...), nil
}

// eachGroup calls f with each group of node id's state, in every
// partition when the state is split.
func (s *MemoryStore) eachGroup(id int, f func(*GroupState)) {
	stores := s.parts
	if stores == nil {
		stores = []*MemoryStore{s}
	}
	for _, part := range stores {
		if g, ok := part.groups[id]; ok {
			g.states(f)
		}
	}
}
