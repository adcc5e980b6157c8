package runtime

import (
	"context"
	"fmt"
	"slices"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// DefaultMaxIterations is the number of iterations of one recursive view
// within one step after which the step fails, unless Options say
// otherwise: a recursion that derives new rows forever never reaches its
// fixpoint.
const DefaultMaxIterations = 100_000

// fixRun is one step of a fixpoint in progress. The recursive view V is
// a set whose rows are identified by their equality class (the checker
// keeps numerics, whose spelling equality does not decide, out of
// recursive views). The fixpoint keeps, in its own index, the support
// of each row: its weight in base + body(V), the number of ways it is
// derived in one step. At the end of every step V is exactly the set of
// rows of positive support.
type fixRun struct {
	n       *ir.Node
	op      *ir.Fixpoint
	support *overlayIndex
	body    *stepRun // the body's run, its deltas reset every iteration
	ticks   int
	limit   int
	pass    int32           // stamps the support's classes met in a round
	changes []supportChange // addSupport's result, reused
	deleted []classRow      // the support's classes whose row phase 1 deleted from V
	added   []*overlayKey   // those whose row phase 2 added to V
	buf     []byte          // supportOf's encoding of a row, reused
}

// fixpoint maintains a recursive view by DRed (delete and re-derive),
// each phase iterating the body semi-naively:
//
//  1. Overdelete. The deleted rows of the base and of the body's outer
//     inputs are fed to the body; every row of V that loses a
//     derivation is deleted from V and fed back, until no more rows
//     lose one. What remains of V is derivable without any deleted row.
//  2. Re-derive and insert. The inserted rows of the base and of the
//     outer inputs are fed to the body; every row of positive support
//     that is not in V (an overdeleted row still derivable, or a new
//     one) is added to V and fed back, until no row is added.
//
// The body's state always integrates exactly what it was fed, so after
// the two phases V is the least fixpoint over the new inputs.
func (s *stepRun) fixpoint(ctx context.Context, n *ir.Node, op *ir.Fixpoint) (batch, error) {
	baseNeg, basePos := split(s.in(n, 0))
	importNeg, importPos := map[int]batch{}, map[int]batch{}
	changed := len(baseNeg) > 0 || len(basePos) > 0
	for _, b := range op.Body {
		if _, ok := b.Op.(*ir.Import); ok {
			importNeg[b.ID], importPos[b.ID] = split(s.deltas[b.Inputs[0].ID])
			changed = changed || len(importNeg[b.ID]) > 0 || len(importPos[b.ID]) > 0
		}
	}
	if !changed {
		return nil, nil // neither the base nor the body's inputs changed: nor does V
	}
	ov := newOverlayStore(s.store)
	f := &fixRun{
		n: n, op: op, support: ov.index(n.ID),
		body:  &stepRun{engine: s.engine, store: ov, deltas: make([]batch, len(s.deltas))},
		limit: s.engine.maxIterations(),
	}
	if err := f.overdelete(ctx, baseNeg, importNeg); err != nil {
		return nil, err
	}
	if err := f.rederive(ctx, basePos, importPos); err != nil {
		return nil, err
	}
	s.writes = append(s.writes, ov.flush)
	return f.changeOfV(), nil
}

// classRow is a class of the support with the row of V it stands for.
type classRow struct {
	kv  *overlayKey
	row zset.Row
}

// changeOfV returns the change of V: the rows deleted and not added
// back, and the rows added. Rows of different classes differ; a class
// deleted and added back changes only if its row's spelling does.
func (f *fixRun) changeOfV() batch {
	out := make(batch, 0, len(f.deleted)+len(f.added))
	back := func(c *overlayKey) bool {
		return c.deleted > 0 && c.wasAdded && rowKeyOf(f.deleted[c.deleted-1].row) == rowKeyOf(c.addedRow)
	}
	for _, c := range f.deleted {
		if !back(c.kv) {
			out = append(out, zset.Entry{Row: c.row, Weight: -1})
		}
	}
	for _, c := range f.added {
		if !back(c) {
			out = append(out, zset.Entry{Row: c.addedRow, Weight: 1})
		}
	}
	return out
}

// overdelete runs phase 1, marking the classes of the rows it deletes
// from V in the support and listing them in f.deleted.
func (f *fixRun) overdelete(ctx context.Context, baseNeg batch, importNeg map[int]batch) error {
	d, err := f.tick(ctx, nil, importNeg)
	if err != nil {
		return err
	}
	round := joined(baseNeg, d)
	for {
		f.addSupport(round)
		var feed batch
		for _, e := range toBatch(zset.FromEntries(round...)) {
			if e.Weight >= 0 {
				continue
			}
			if c := f.support.key(types.KeyOf(e.Row)); c.deleted == 0 {
				f.deleted = append(f.deleted, classRow{c, e.Row})
				c.deleted = int32(len(f.deleted))
				feed = append(feed, zset.Entry{Row: e.Row, Weight: -1})
			}
		}
		if len(feed) == 0 {
			return nil
		}
		if round, err = f.tick(ctx, feed, nil); err != nil {
			return err
		}
	}
}

// rederive runs phase 2, marking the classes of the rows it adds to V
// in the support and listing them in f.added.
func (f *fixRun) rederive(ctx context.Context, basePos batch, importPos map[int]batch) error {
	d, err := f.tick(ctx, nil, importPos)
	if err != nil {
		return err
	}
	round := joined(basePos, d)
	// Overdeleted rows may be derivable still, with no new derivation.
	var classes []*overlayKey
	f.pass++
	for _, c := range f.deleted {
		c.kv.mark = f.pass
		classes = append(classes, c.kv)
	}
	for {
		changes := f.addSupport(round)
		classes = grow(classes, len(changes))
		for _, c := range changes {
			if c.w > 0 && c.kv.mark != f.pass {
				c.kv.mark = f.pass
				classes = append(classes, c.kv)
			}
		}
		feed, err := f.underived(ctx, classes)
		if err != nil {
			return err
		}
		if len(feed) == 0 {
			return nil
		}
		if round, err = f.tick(ctx, feed, nil); err != nil {
			return err
		}
		classes = classes[:0]
		f.pass++
	}
}

// underived returns, for V, the rows of the candidate classes that have
// positive support but are not in V, and records them as added.
func (f *fixRun) underived(ctx context.Context, classes []*overlayKey) (batch, error) {
	if len(classes) == 0 {
		return nil, nil
	}
	if err := f.support.load(ctx, classes); err != nil {
		return nil, err
	}
	feed := make(batch, 0, len(classes))
	hashes := make([]uint64, 0, len(classes))
	f.added = grow(f.added, len(classes))
	for _, c := range classes {
		row, h := c.positiveHashed()
		if row == nil {
			continue
		}
		inV := c.wasAdded || c.deleted == 0 && c.positive(true) != nil
		if !inV {
			c.wasAdded, c.addedRow = true, row
			f.added = append(f.added, c)
			feed = append(feed, zset.Entry{Row: row, Weight: 1})
			hashes = append(hashes, h)
		}
	}
	// The support hashed the rows' row keys: the integrals of V file
	// them by those hashes rather than encode each row again.
	f.support.store.fed, f.support.store.fedHashes = feed, hashes
	return feed, nil
}

// positiveRow returns the row of positive weight among entries, or nil.
// A class of the support holds one row: its rows are spelled as their
// class.
func positiveRow(es []zset.Entry) zset.Row {
	for _, e := range es {
		if e.Weight > 0 {
			return e.Row
		}
	}
	return nil
}

// supportChange is a change to the support with the class it touches.
type supportChange struct {
	kv *overlayKey
	w  int64
}

// addSupport adds changes of base + body(V) to the support and returns,
// for each, its class.
func (f *fixRun) addSupport(d batch) []supportChange {
	out := grow(f.changes[:0], len(d))
	for _, e := range d {
		kv, h := f.supportOf(e.Row)
		kv.add(h, e.Row, e.Weight)
		out = append(out, supportChange{kv, e.Weight})
	}
	f.changes = out
	return out
}

// supportOf returns the support's class of row and the hash of the
// row's row key. The row is encoded into a reused buffer: a string is
// made only for a class met for the first time. The support is read
// straight from its keys: only the fixpoint writes it, never through
// Update, so no update waits to be filed.
func (f *fixRun) supportOf(row zset.Row) (*overlayKey, uint64) {
	f.buf = types.AppendRowKey(f.buf[:0], row)
	h := hashKeyBytes(f.buf)
	if !spelledAsClass(row) {
		return f.support.key(types.KeyOf(row)), h
	}
	kv := f.support.keys.findBytes(h, f.buf)
	if kv == nil {
		kv = f.support.insert(h, string(f.buf), true)
	}
	return kv, h // the row key is the class, of the same hash
}

// tick runs the body once: the changes rec to V and imports to the outer
// inputs go in, the changes of body(V) come out, and the body's state
// takes the changes before the next tick.
func (f *fixRun) tick(ctx context.Context, rec batch, imports map[int]batch) (batch, error) {
	f.ticks++
	if f.ticks > f.limit {
		return nil, fmt.Errorf("node n%d: recursive view %s reached no fixpoint in %d iterations: does it derive new rows forever?", f.n.ID, f.op.View, f.limit)
	}
	b := f.body
	for _, n := range f.op.Body {
		b.deltas[n.ID] = nil
	}
	b.deltas[f.op.Rec.ID] = rec
	for id, d := range imports {
		b.deltas[id] = d
	}
	for _, n := range f.op.Body {
		d, err := b.eval(ctx, n)
		if err != nil {
			return nil, err
		}
		b.deltas[n.ID] = d
	}
	for _, w := range b.writes {
		if err := w(ctx); err != nil {
			return nil, err
		}
	}
	b.writes = b.writes[:0]
	return b.deltas[f.op.Out.ID], nil
}

// joined returns the changes of a then b, a or b itself when the other
// has none: a round's rows are only read.
func joined(a, b batch) batch {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	return append(append(make(batch, 0, len(a)+len(b)), a...), b...)
}

// grow returns s with room for n more elements, doubling its capacity
// when it must grow: append grows a long slice by a quarter at a time,
// and a fixpoint's lists, appended to round after round, would be
// copied over and over.
func grow[S ~[]E, E any](s S, n int) S {
	if len(s)+n <= cap(s) {
		return s
	}
	return slices.Grow(s, max(n, 2*cap(s)-len(s)))
}

// split consolidates a batch and splits it into its deletions and its
// insertions. A batch of insertions only (a load) is returned as it is,
// its rows unconsolidated: only a deletion must be known to be one, and
// the support adds up the insertions of a row.
func split(d batch) (neg, pos batch) {
	if !slices.ContainsFunc(d, func(e zset.Entry) bool { return e.Weight < 0 }) {
		return nil, d
	}
	for _, e := range toBatch(zset.FromEntries(d...)) {
		if e.Weight < 0 {
			neg = append(neg, e)
		} else {
			pos = append(pos, e)
		}
	}
	return neg, pos
}
