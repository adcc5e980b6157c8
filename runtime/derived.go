package runtime

import (
	"context"
	"fmt"
	"slices"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
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
//
// A top-k's view is read from its state as well: each group's ranking
// of its rows, whose first rows are the view's.
//
// A recursive view is read from its fixpoint's state likewise: the
// support, which keeps each of the view's rows with the number of its
// derivations, and holds, at the end of every step, exactly the view's
// rows with a positive count.

// derivation says how a view's contents are read from the state of the
// aggregate, the top-k or the fixpoint that computes them rather than
// kept.
type derivation struct {
	state int // the aggregate's, the top-k's or the fixpoint's node
	// rowWise are the row-by-row nodes (filters, maps) from the state's
	// node up to the view's, in order; none when the view is that
	// node's.
	rowWise []int
}

// derivationOf returns how view v's contents are read from an
// aggregate's, a top-k's or a fixpoint's state, or nil when they must be
// kept:
// when v is not such a node's rows seen through row-by-row operators,
// or when the node is within a recursive view's body, whose state is an
// iteration's. With onlyFixpoints, for a program that reads the clock,
// an aggregate's or a top-k's view is kept, as such programs' views
// were before a fixpoint's were read from its state.
//
// A fixpoint whose rows hold a float is kept too: 0 and -0 are one class
// of its support, which may then hold both spellings, and the support
// does not say which the view holds.
func derivationOf(v *ir.View, inBody []bool, onlyFixpoints bool) *derivation {
	var rowWise []int
	for n := v.Node; ; n = n.Inputs[0] {
		switch n.Op.(type) {
		case *ir.Filter, *ir.Map, *ir.FlatMap:
			rowWise = append(rowWise, n.ID)
		case *ir.Aggregate, *ir.TopK:
			if inBody[n.ID] || onlyFixpoints {
				return nil
			}
			slices.Reverse(rowWise)
			return &derivation{state: n.ID, rowWise: rowWise}
		case *ir.Fixpoint:
			if inBody[n.ID] || !oneSpellingPerClass(n.Cols) {
				return nil
			}
			slices.Reverse(rowWise)
			return &derivation{state: n.ID, rowWise: rowWise}
		default:
			return nil
		}
	}
}

// oneSpellingPerClass reports whether values of columns cols encode as
// their class does, whatever they are (see spelledAsClass): whether no
// column holds a float or a numeric, in an array or a record either.
func oneSpellingPerClass(cols []ir.Column) bool {
	for _, c := range cols {
		if !typeSpelledAsClass(c.Type) {
			return false
		}
	}
	return true
}

func typeSpelledAsClass(t types.Type) bool {
	switch t.Kind {
	case types.Float4, types.Float8, types.Numeric:
		return false
	case types.Array:
		return typeSpelledAsClass(*t.Elem)
	case types.Record:
		for _, f := range t.Fields {
			if !typeSpelledAsClass(f.Type) {
				return false
			}
		}
	}
	return true
}

// derive reads the contents of a view that d derives from an
// aggregate's, a top-k's or a fixpoint's state: the groups' output rows,
// their first rows, or the rows of positive support, through the
// row-by-row operators above.
func (e *Engine) derive(ctx context.Context, d *derivation) (z *zset.ZSet, err error) {
	defer func() {
		// As in a step, a panic is a bug that must not reach the caller.
		if p := recover(); p != nil {
			z, err = nil, fmt.Errorf("internal error: %v", p)
		}
	}()
	var rows batch
	switch op := e.circuit.Nodes[d.state].Op.(type) {
	case *ir.Aggregate:
		bound, err := e.aggregators(op)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", d.state, err)
		}
		e.store.(*MemoryStore).eachGroup(d.state, func(st *GroupState) {
			if row := st.outputRow(op, bound.impls); row != nil {
				rows = append(rows, zset.Entry{Row: row, Weight: 1})
			}
		})
	case *ir.TopK:
		var top []RankedRow
		e.store.(*MemoryStore).eachGroup(d.state, func(st *GroupState) {
			top = st.Ranked.top(op.N, top[:0])
			for _, it := range top {
				rows = append(rows, zset.Entry{Row: it.Row, Weight: it.Count})
			}
		})
	case *ir.Fixpoint:
		e.store.(*MemoryStore).eachIndexed(d.state, func(es []zset.Entry) {
			for _, en := range es {
				if en.Weight > 0 {
					rows = append(rows, zset.Entry{Row: en.Row, Weight: 1})
				}
			}
		})
	}
	if len(d.rowWise) == 0 {
		// No two rows alike (a group's, its first rows, a class's): read
		// as they are, hashed only for a lookup.
		return zset.Consolidated(rows), nil
	}
	s := &stepRun{engine: e, store: e.store, deltas: make([]batch, len(e.circuit.Nodes)), now: e.lastNow, parts: e.parts}
	s.deltas[d.state] = rows
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
	for _, part := range s.partitions() {
		if g, ok := part.groups[id]; ok {
			g.states(f)
		}
	}
}

// eachIndexed calls f with the rows of each key of node id's index, in
// every partition when the index is split.
func (s *MemoryStore) eachIndexed(id int, f func([]zset.Entry)) {
	var buf []zset.Entry
	for _, part := range s.partitions() {
		if ix, ok := part.indexes[id]; ok {
			for _, b := range ix.buckets {
				buf = b.appendEntries(buf[:0])
				f(buf)
			}
		}
	}
}

// partitions returns the stores that hold s's state: its partitions when
// it is split, else s alone.
func (s *MemoryStore) partitions() []*MemoryStore {
	if s.parts == nil {
		return []*MemoryStore{s}
	}
	return s.parts
}
