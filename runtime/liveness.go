package runtime

import "github.com/stepping-io/stepping/ir"

// refreshLive works out, for an engine with Options.OutputsOnly, which
// nodes a step runs (see liveNodes); it is called again whenever a view
// starts being kept.
func (e *Engine) refreshLive() {
	if e.opts.OutputsOnly {
		e.live = e.liveNodes()
	}
}

// liveNodes marks, by node ID, the nodes whose changes a step needs when
// only the outputs' changes and the kept views' are wanted: every node
// that keeps state (which must see every change, whoever reads it
// later), every output's, kept view's, wanted view's and derived view's
// node, and the nodes these read. The others are views' parts that nothing needs: a feed's
// join of every follow with every post, under a timeline that joins only
// the newest posts, when nobody reads that join.
func (e *Engine) liveNodes() []bool {
	c := e.circuit
	live := make([]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		live[n.ID] = !stateless(n.Op)
	}
	for _, v := range c.Views {
		if vs := e.views[v.Name]; vs.kept || vs.wanted || vs.derived != nil {
			live[v.Node.ID] = true
		}
	}
	for _, o := range c.Outputs {
		live[o.View.Node.ID] = true
	}
	// Every node comes after its inputs: one pass from the last marks
	// what the live nodes read.
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if n := c.Nodes[i]; live[i] {
			for _, in := range n.Inputs {
				live[in.ID] = true
			}
		}
	}
	return live
}

// stateless reports whether an operator keeps no state of its own: its
// changes matter only to the nodes that read them. A join reads its
// sides' integrals, which their Integrate nodes keep.
func stateless(op ir.Op) bool {
	switch op.(type) {
	case *ir.Source, *ir.Filter, *ir.Map, *ir.FlatMap, *ir.Sum, *ir.Delay, *ir.Join, *ir.SemiJoin:
		return true
	}
	return false
}
