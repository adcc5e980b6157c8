package runtime

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/zset"
)

// Presummer builds the state of an Aggregate node's groups from rows
// counted and summed elsewhere: the Postgres store's backfill has SQL
// count and sum each group's rows, and gets from here the state, and the
// row, that running the rows through the node one by one would give.
type Presummer struct {
	op    *ir.Aggregate
	impls []stdlib.Aggregator
	sums  []stdlib.Presummed
}

// NewPresummer returns the Presummer of an Aggregate node, or an error
// when one of its aggregates is not one whose state a count and a sum
// make (stdlib.Presummed: count, sum and avg; not count(distinct), nor
// an aggregate keeping a multiset).
func NewPresummer(op *ir.Aggregate) (*Presummer, error) {
	impls, err := bindAggs(op)
	if err != nil {
		return nil, err
	}
	p := &Presummer{op: op, impls: impls, sums: make([]stdlib.Presummed, len(impls))}
	for i, impl := range impls {
		s, ok := impl.(stdlib.Presummed)
		if !ok || impl.Shape() != stdlib.NoMultiset {
			return nil, fmt.Errorf("aggregate %s cannot be presummed", op.Aggs[i].Name)
		}
		p.sums[i] = s
	}
	return p, nil
}

// New returns the state of the group of key with no rows. Keys holding
// numerics, whose spellings a group counts (GroupState.Forms), are not
// for a Presummer: SQL groups their spellings together.
func (p *Presummer) New(key zset.Row) *GroupState { return newGroupState(key, p.op, p.impls) }

// Add adds rows rows of weight one to group st: nonNull[i] of them have
// a non-NULL argument to aggregate i, and those arguments sum to sums[i],
// all of that sum's scale when they are numerics (add rows of different
// scales in separate calls). For count(), whose argument is none,
// nonNull[i] and sums[i] are not read.
func (p *Presummer) Add(st *GroupState, rows int64, nonNull []int64, sums []decimal.Decimal) {
	st.Count += rows
	st.row = nil
	for i := range p.op.Aggs {
		if p.op.Aggs[i].Arg == nil || nonNull[i] == 0 {
			continue
		}
		acc := &st.Accs[i]
		acc.NonNull += nonNull[i]
		lin := acc.linear()
		p.sums[i].AddSum(&lin, sums[i], nonNull[i])
		acc.Sum, acc.Scales = lin.Sum, lin.Scales
	}
}

// Row returns the node's output row for group st: its key, then its
// aggregates' values; nil when the group has no rows.
func (p *Presummer) Row(st *GroupState) zset.Row { return rowOf(st, p.op, p.impls) }
