package runtime

import (
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/zset"
)

// joinPlans says how each join makes its rows: with the columns of a
// projection that alone reads them (joinPicks), and in an arena of the
// engine's when an aggregate alone reads them (joinArenas).
func joinPlans(c *ir.Circuit, inBody []bool) (picks [][]int, passes, arenas []bool) {
	readers := make([]int, len(c.Nodes))
	for _, n := range c.Nodes {
		for _, in := range n.Inputs {
			readers[in.ID]++
		}
	}
	for _, v := range c.Views {
		readers[v.Node.ID]++ // its changes are read as the view's
	}
	picks, passes = joinPicks(c, inBody, readers)
	return picks, passes, joinArenas(c, inBody, readers)
}

// stepOnly marks, by node ID, the nodes whose changes only joins,
// aggregates and integrals read, none of which keeps the changes' array
// past the step or passes it on as its own (an integral files the rows,
// a join and an aggregate make changes of their own): an operator run on
// the workers joins up such a node's changes in an arena's room, reused
// from step to step (see rowArena), rather than in an array of their
// own. A view's node is never marked, as the Result holds its changes,
// nor a node of a recursive view's body, which runs its own way.
func stepOnly(c *ir.Circuit, inBody []bool) []bool {
	out := make([]bool, len(c.Nodes))
	read := make([]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		allowed := !inBody[n.ID]
		switch n.Op.(type) {
		case *ir.Join, *ir.Aggregate, *ir.Integrate:
		default:
			allowed = false
		}
		for _, in := range n.Inputs {
			out[in.ID] = allowed && (out[in.ID] || !read[in.ID])
			read[in.ID] = true
		}
	}
	for _, v := range c.Views {
		out[v.Node.ID] = false
	}
	for id, body := range inBody {
		out[id] = out[id] && !body
	}
	return out
}

// joinArenas marks, by node ID, the joins whose rows one aggregate alone
// reads: it keeps their values, never the rows, so the rows can live in
// arenas reused from step to step (see rowArena).
func joinArenas(c *ir.Circuit, inBody []bool, readers []int) []bool {
	out := make([]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		if _, ok := n.Op.(*ir.Aggregate); !ok || inBody[n.ID] {
			continue
		}
		join := n.Inputs[0]
		if _, ok := join.Op.(*ir.Join); ok && readers[join.ID] == 1 && !inBody[join.ID] {
			out[join.ID] = true
		}
	}
	return out
}

// joinPicks finds the joins whose rows only a projection of plain
// columns reads (a select of some of the two sides' columns), so that
// the join makes each pair's row with those columns alone, rather than
// a row of both sides' columns that the projection copies again. A
// feed's join of follows with posts makes one row per pair, not two.
//
// It returns, by node ID, the columns of the pair a join keeps (nil
// for a join that keeps them all) and the projections that pass their
// join's rows through. A join is left whole when it is a view (its rows
// are the view's changes), when any other node reads it, or when it is
// part of a recursive view's body, which runs its own way. A program
// extended with new views reads an old node's contents only where a new
// node reads it: a join read by an old projection and a new one is
// left whole, so a projection never passes through rows its join did
// not make for it.
func joinPicks(c *ir.Circuit, inBody []bool, readers []int) (picks [][]int, passes []bool) {
	for _, n := range c.Nodes {
		m, ok := n.Op.(*ir.Map)
		if !ok || len(n.Inputs) != 1 || inBody[n.ID] {
			continue
		}
		join := n.Inputs[0]
		if _, ok := join.Op.(*ir.Join); !ok || readers[join.ID] != 1 || inBody[join.ID] {
			continue
		}
		cols := make([]int, len(m.Exprs))
		for i, x := range m.Exprs {
			if cols[i], ok = x.Column(); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		if picks == nil {
			picks, passes = make([][]int, len(c.Nodes)), make([]bool, len(c.Nodes))
		}
		picks[join.ID], passes[n.ID] = cols, true
	}
	return picks, passes
}

// picksOf returns the columns join node n keeps of each pair, nil for
// all.
func (s *stepRun) picksOf(n *ir.Node) []int {
	if s.engine.picks == nil {
		return nil
	}
	return s.engine.picks[n.ID]
}

// passes reports whether node n is a projection whose join made its
// rows already (see joinPicks).
func (s *stepRun) passes(n *ir.Node) bool {
	return s.engine.passes != nil && s.engine.passes[n.ID]
}

// pick returns a new row of the columns pick of a's columns followed by
// b's.
func (p *pairRows) pick(a, b zset.Row) zset.Row {
	r := p.row(len(p.picks))
	for i, c := range p.picks {
		if c < len(a) {
			r[i] = a[c]
		} else {
			r[i] = b[c-len(a)]
		}
	}
	return r
}
