package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/zset"
)

// Extend returns an engine running circuit c, which extends the engine's
// circuit with new views, computing only those: from the current
// contents of the tables and views they read, in one pass at time t,
// while every existing view keeps its state and contents. The new engine
// takes over the store and the contents; e must not be used after a
// successful Extend. Its result holds each new view's contents.
//
// c extends e's circuit when its first nodes are e's, in the same order
// and with the same operators (every view e has keeps its fingerprint
// and its node), and its new nodes read, of e's nodes, only tables' and
// views' own: a new node sharing an intermediate node of an old view
// would need that node's history. When c does not, ok is false and
// nothing changes: build the engine from scratch instead.
func (e *Engine) Extend(ctx context.Context, c *ir.Circuit, t time.Time) (next *Engine, res *Result, ok bool, err error) {
	if e.opts.NoContents || !extends(c, e.circuit) {
		return nil, nil, false, nil
	}
	old := len(e.circuit.Nodes)
	// What the new nodes may read of the old: a relation's node, whose
	// changes so far add up to the relation's contents.
	contents := map[int]*zset.ZSet{}
	for _, in := range e.circuit.Inputs {
		contents[in.Node.ID] = e.tables[in.Name].contents()
	}
	views := map[int]*viewState{}
	for _, v := range e.circuit.Views {
		views[v.Node.ID] = e.views[v.Name]
	}
	for _, n := range c.Nodes[old:] {
		for _, in := range n.Inputs {
			if _, isTable := contents[in.ID]; in.ID >= old || isTable {
				continue
			}
			v, isView := views[in.ID]
			if !isView {
				return nil, nil, false, nil
			}
			z, err := e.viewContents(ctx, v)
			if err != nil {
				return nil, nil, false, err
			}
			contents[in.ID] = z
		}
	}
	next = NewWithOptions(c, e.store, e.opts)
	next.steps = e.steps
	for name, ts := range e.tables {
		next.tables[name] = ts
	}
	for name, vs := range e.views {
		next.views[name] = vs
	}
	next.refreshLive()
	res, err = next.backfill(ctx, t, old, contents)
	if err != nil {
		return nil, nil, false, err
	}
	return next, res, true, nil
}

// extends reports whether circuit c begins with old: the same inputs,
// the same nodes in the same order, and every view of old unchanged.
func extends(c, old *ir.Circuit) bool {
	if len(c.Nodes) < len(old.Nodes) || len(c.Inputs) != len(old.Inputs) || (old.Clock == nil) != (c.Clock == nil) {
		return false
	}
	for i, n := range old.Nodes {
		m := c.Nodes[i]
		if m.Op.Name() != n.Op.Name() || len(m.Inputs) != len(n.Inputs) {
			return false
		}
		for j := range n.Inputs {
			if m.Inputs[j].ID != n.Inputs[j].ID {
				return false
			}
		}
	}
	was, now := ir.ViewFingerprints(old), ir.ViewFingerprints(c)
	for key, text := range was {
		if now[key] != text {
			return false
		}
	}
	for _, v := range old.Views {
		nv := viewNamed(c, v.Name)
		if nv == nil || nv.Node.ID != v.Node.ID {
			return false
		}
	}
	return true
}

func viewNamed(c *ir.Circuit, name string) *ir.View {
	for _, v := range c.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// backfill computes the nodes from first on, given as the changes of the
// older nodes they read those nodes' contents, and commits their state
// and the new views' contents. No step is counted: the old views take
// no step, and the new ones start where the program is.
func (e *Engine) backfill(ctx context.Context, t time.Time, first int, contents map[int]*zset.ZSet) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("computing the new views: internal error: %v", p)
		}
	}()
	s := &stepRun{
		engine:   e,
		store:    e.store,
		deltas:   make([]batch, len(e.circuit.Nodes)),
		now:      t.UTC().Round(time.Microsecond),
		backfill: true,
		inputs:   map[string]batch{},
	}
	for id, z := range contents {
		s.deltas[id] = toBatch(z)
	}
	for _, n := range e.circuit.Nodes[first:] {
		if e.inBody[n.ID] {
			continue
		}
		d, err := s.eval(ctx, n)
		if err != nil {
			return nil, stepError(e.steps+1, e.nodeView[n.ID], n, err)
		}
		s.deltas[n.ID] = d
	}
	res = &Result{Step: e.steps, Changes: map[string]*zset.ZSet{}}
	for _, v := range e.circuit.Views {
		if v.Node.ID < first {
			continue
		}
		d := zset.FromEntries(s.deltas[v.Node.ID]...)
		res.Changes[v.Name] = d
	}
	for _, w := range s.writes {
		if err := w(ctx); err != nil {
			return nil, fmt.Errorf("computing the new views: writing state: %w", err)
		}
	}
	for name, d := range res.Changes {
		// A new view is read at once (the REPL shows it), so its
		// contents are kept from the start, unless they are read from
		// an aggregate's state.
		if v := e.views[name]; v.derived == nil {
			v.kept = true
			v.contents.AddAll(d, 1)
		}
	}
	return res, nil
}
