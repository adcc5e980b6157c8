package runtime

import (
	"context"
	"errors"
	"slices"
	"sync"
	"unsafe"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// This file runs a stateful operator on several workers, as DBSP does:
// the operator's state is split by key over the store's partitions
// (MemoryStore.split), and a step's changes at the operator are split
// the same way (the exchange), so that each worker runs the operator
// over its share of the changes against its own partition of the state,
// with no lock. The workers' outputs are concatenated in partition
// order, and their state writes wait for the step's commit, as one
// worker's do.

// keyFunc appends to buf the key under which a stateful operator files
// a row of one of its inputs (in an index, or as a group), encoded as
// the operator encodes it; vals is room for the key's values.
type keyFunc func(buf []byte, vals []any, row zset.Row) ([]byte, error)

// route is how an operator's changes are split over workers: by input,
// the key of a change, or nil for an input the operator reads through
// its state (a delay).
type route struct {
	keys []keyFunc
	// exprs are, by input, the key expressions keys evaluates, for an
	// operator that reads its inputs' keys as they are encoded (keysOf:
	// an integral, a join and an aggregate), which the split then
	// encodes for it; empty for the others.
	exprs [][]ir.Scalar
	width int // the most values a key has
}

// routeOf returns how node n's changes are split, or nil when n runs on
// one worker: a stateless operator (which needs no split), a fixpoint
// (whose iterations read one another's writes through an overlay), a
// temporal filter and its ordered index (whose ranges span keys), and an
// operator reading one input twice (which one split cannot serve).
func routeOf(n *ir.Node) *route {
	r := &route{}
	byExprs := func(key []ir.Scalar) keyFunc {
		r.width = max(r.width, len(key))
		return func(buf []byte, vals []any, row zset.Row) ([]byte, error) {
			b, _, err := appendKeyOf(buf, vals[:len(key)], key, row)
			return b, err
		}
	}
	wholeRow := func(buf []byte, _ []any, row zset.Row) ([]byte, error) {
		for _, v := range row {
			buf = types.AppendKey(buf, v)
		}
		return buf, nil
	}
	rowKey := func(buf []byte, _ []any, row zset.Row) ([]byte, error) {
		return types.AppendRowKey(buf, row), nil
	}
	// byKeys splits each input by its key expressions, keeping the keys
	// for the operator, which reads them (keysOf).
	byKeys := func(keys ...[]ir.Scalar) {
		for _, k := range keys {
			r.keys = append(r.keys, byExprs(k))
		}
		r.exprs = keys
	}
	switch op := n.Op.(type) {
	case *ir.Integrate:
		byKeys(op.Key)
	case *ir.Join:
		byKeys(op.LeftKey, op.RightKey)
	case *ir.SemiJoin:
		r.keys = []keyFunc{byExprs(op.LeftKey), byExprs(op.RightKey)}
	case *ir.Distinct:
		r.keys = []keyFunc{wholeRow}
	case *ir.SetOp:
		r.keys = []keyFunc{wholeRow, wholeRow}
	case *ir.Aggregate:
		byKeys(op.Key)
	case *ir.TopK:
		r.keys = []keyFunc{byExprs(op.Per)}
	case *ir.Window:
		r.keys = []keyFunc{byExprs(op.Per)}
	case *ir.Session:
		r.keys = []keyFunc{byExprs(op.Per)}
	case *ir.Stamp:
		r.keys = []keyFunc{rowKey}
	default:
		return nil
	}
	seen := map[int]bool{}
	for i := range r.keys {
		if seen[n.Inputs[i].ID] {
			return nil
		}
		seen[n.Inputs[i].ID] = true
	}
	return r
}

// DefaultParallelBatch is the fewest changes at an operator for which
// it runs on several workers, unless Options say otherwise: below it,
// splitting the changes and starting the workers costs more than they
// save.
const DefaultParallelBatch = 256

// exchange runs node n on the engine's workers when it is a stateful
// operator with enough changes, reporting whether it did. It splits
// each input's changes by key over the partitions, runs the operator on
// each partition's changes against that partition's state side by side,
// and concatenates the outputs in partition order. The state writes are
// kept for the commit, each partition's with those of the step's other
// exchanges (partWrites), to run side by side there.
func (s *stepRun) exchange(ctx context.Context, n *ir.Node) (batch, bool, error) {
	r := s.engine.routes[n.ID]
	if r == nil {
		return nil, false, nil
	}
	size := 0
	for i, k := range r.keys {
		if k != nil {
			size += len(s.in(n, i))
		}
	}
	if size < s.engine.parallelBatch() {
		return nil, false, nil
	}
	if op, ok := n.Op.(*ir.Aggregate); ok {
		// Bound here, once, rather than by the workers side by side.
		if _, err := s.engine.aggregators(op); err != nil {
			return nil, true, err
		}
	}
	nw := len(s.parts)
	split := make([][]batch, len(r.keys))            // input, partition
	splitKeys := make([][]*encodedKeys, len(r.keys)) // input, partition; nil unless split by expressions
	for i, k := range r.keys {
		if k == nil {
			continue
		}
		if i < len(r.exprs) {
			ks, err := s.splitByKey(n.Inputs[i].ID, s.in(n, i), r.exprs[i], nw)
			if err != nil {
				return nil, true, err
			}
			split[i], splitKeys[i] = ks.parts, ks.keys
			continue
		}
		var err error
		byRow := func(buf []byte, vals []any, e zset.Entry) ([]byte, error) { return k(buf, vals, e.Row) }
		if split[i], err = splitItems(s.engine.crew, s.in(n, i), nw, byRow, r.width, s.stepBatch(len(s.in(n, i)))); err != nil {
			return nil, true, err
		}
	}
	outs := make([]batch, nw)
	writes := make([][]func(context.Context) error, nw)
	run := s.engine.crew.run
	if !spread(split, nw, s.engine.parallelBatch()/4) {
		run = serially
	}
	err := run(nw, func(p int) error {
		w := &stepRun{
			engine:   s.engine,
			store:    s.parts[p],
			deltas:   make([]batch, len(s.deltas)),
			inputs:   s.inputs,
			now:      s.now,
			before:   s.before,
			backfill: s.backfill,
			arenas:   s.arenas,
		}
		for i, parts := range split {
			if parts != nil {
				w.deltas[n.Inputs[i].ID] = parts[p]
			}
			if splitKeys[i] != nil {
				// The partition's keys, encoded as the split read
				// them, for the operator (keysOf): a copy, whose
				// place in this worker's list is its own.
				ek := *splitKeys[i][p]
				ek.next = nil
				w.keep(n.Inputs[i].ID, &ek)
			}
		}
		var err error
		outs[p], err = w.eval(ctx, n)
		writes[p] = w.writes
		return err
	})
	if err != nil {
		return nil, true, err
	}
	for p, ws := range writes {
		if len(ws) == 0 {
			continue
		}
		if s.partWrites == nil {
			s.partWrites = make([][]func(context.Context) error, nw)
		}
		s.partWrites[p] = append(s.partWrites[p], ws...)
	}
	if s.engine.stepOnly[n.ID] {
		return s.joinUp(outs), true, nil
	}
	return concatBatches(outs), true, nil
}

// spread reports whether at least two of nw partitions have least
// changes or more, over the inputs split (by input, then partition; nil
// for an input not split): only then is running the partitions side by
// side worth handing one to a helper. Keys are often skewed (a group by
// a column of few values, a global aggregate's one group, a celebrity's
// followers): one partition then holds nearly every change, and the
// others' few are done sooner on the caller, after it, than handed off
// (on the scooters workload, one partition's part took 16 µs and the
// other's 195 µs).
func spread(split [][]batch, nw, least int) bool {
	busy := 0
	for p := range nw {
		n := 0
		for _, parts := range split {
			if parts != nil {
				n += len(parts[p])
			}
		}
		if n >= max(least, 1) {
			busy++
		}
	}
	return busy >= 2
}

// serially runs f(0), ..., f(n-1) in turn on the calling goroutine,
// stopping at the first error: parallel's results, without goroutines.
func serially(n int, f func(i int) error) error {
	for i := range n {
		if err := f(i); err != nil {
			return err
		}
	}
	return nil
}

// stepBatch returns room for n changes that live only until the step
// commits, in an arena the engine reuses from step to step (rowArena):
// a split's partitions, which only their operators read, or the joined
// up changes of a node that stepOnly marks. Nil, for a new array,
// outside a step's run.
func (s *stepRun) stepBatch(n int) batch {
	if s.arenas == nil {
		return nil
	}
	return s.takeArena().batch(n)[:n]
}

// joinUp is concatBatches in room from stepBatch.
func (s *stepRun) joinUp(bs []batch) batch { return appendBatches(s.stepBatch(sizeOf(bs))[:0], bs) }

// sizeOf returns the number of changes of the batches.
func sizeOf(bs []batch) int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// appendBatches appends the batches to d one after the other.
func appendBatches(d batch, bs []batch) batch {
	for _, b := range bs {
		d = append(d, b...)
	}
	return d
}

// splitItems splits items by the key key gives each over nw
// partitions, keeping the items of a partition in their order. Chunks of
// items are read side by side twice: once to find each item's partition
// and count the partitions' sizes, then to place each item in its
// partition's array, made to size, at the place its chunk's counts give
// it; no part is made per chunk to be joined up after.
//
// The partitions are parts of one array: room when it is given (of
// len(items), for a caller that reuses arrays), else a new one.
func splitItems[T any](cr *crew, items []T, nw int, key func(buf []byte, vals []any, it T) ([]byte, error), width int, room []T) ([][]T, error) {
	chunks := max(1, min(nw, len(items)/parallelWork))
	of := make([]int32, len(items))  // each item's partition
	counts := make([]int, chunks*nw) // chunk c's items in partition p at c*nw+p
	bounds := func(c int) (int, int) { return c * len(items) / chunks, (c + 1) * len(items) / chunks }
	err := cr.run(chunks, func(c int) error {
		lo, hi := bounds(c)
		count := counts[c*nw : (c+1)*nw]
		vals := make([]any, width)
		var tmp [64]byte
		buf := tmp[:0]
		for i := lo; i < hi; i++ {
			var err error
			if buf, err = key(buf[:0], vals, items[i]); err != nil {
				return err
			}
			p := partOf(buf, nw)
			of[i] = int32(p)
			count[p]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if room == nil {
		room = make([]T, len(items))
	}
	return placeSplit(cr, len(items), chunks, nw, of, counts, room, func(i int) T { return items[i] }), nil
}

// placeSplit places n items, read side by side in chunks as a split's
// first pass counted them, in their partitions' parts of room (of n),
// each partition's in their order: item i, given by at, goes to
// partition of[i], and counts holds chunk c's number of items in
// partition p at c*nw+p (which placeSplit uses up).
func placeSplit[T any](cr *crew, n, chunks, nw int, of []int32, counts []int, room []T, at func(i int) T) [][]T {
	// Turn the counts into where each chunk's items of each partition
	// start, and make the partitions' arrays.
	out := make([][]T, nw)
	start := 0
	for p := range nw {
		size := 0
		for c := range chunks {
			k := counts[c*nw+p]
			counts[c*nw+p] = size
			size += k
		}
		out[p] = room[start : start+size : start+size]
		start += size
	}
	_ = cr.run(chunks, func(c int) error {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		next := counts[c*nw : (c+1)*nw]
		for i := lo; i < hi; i++ {
			p := of[i]
			out[p][next[p]] = at(i)
			next[p]++
		}
		return nil
	})
	return out
}

// keyedSplit is a batch split by key expressions over partitions: each
// partition's changes, in their order, with their keys encoded.
type keyedSplit struct {
	from  int // the node whose changes d are
	d     batch
	key   []ir.Scalar
	parts []batch
	keys  []*encodedKeys // by partition
	next  *keyedSplit
}

// splitByKey splits d, node from's changes, by key over nw partitions,
// as splitItems does, encoding each change's key once: the partitions'
// operators read the keys the split encoded (keysOf) rather than
// encoding them again. A split is kept for the step, so that an
// operator whose input another split the same way (a join, after the
// integral of its input) splits nothing.
func (s *stepRun) splitByKey(from int, d batch, key []ir.Scalar, nw int) (*keyedSplit, error) {
	for ks := s.splits; ks != nil; ks = ks.next {
		if ks.from == from && sameKey(ks.key, key) && len(ks.d) == len(d) && len(ks.parts) == nw && (len(d) == 0 || &ks.d[0] == &d[0]) {
			return ks, nil
		}
	}
	ks, err := splitKeyed(s.engine.crew, d, key, nw, s.stepBatch(len(d)))
	if err != nil {
		return nil, err
	}
	ks.from, ks.next = from, s.splits
	s.splits = ks
	return ks, nil
}

// splitKeyed splits d by key over nw partitions, keeping the changes of
// a partition in their order, with each partition's keys encoded as
// encodeKeys encodes them. Like splitItems it reads chunks of d side by
// side twice: once to encode each change's key, find its partition and
// count the partitions' changes and key bytes, then to place each change
// and its key in its partition's arrays, made to size.
//
// The partitions' changes are parts of one array: room when it is given
// (of len(d)), else a new one.
func splitKeyed(cr *crew, d batch, key []ir.Scalar, nw int, room batch) (*keyedSplit, error) {
	chunks := max(1, min(nw, len(d)/parallelWork))
	of := make([]int32, len(d))      // each change's partition
	ends := make([]int32, len(d))    // where each change's key ends in its chunk's buffer
	var nulls []bool                 // each change's key has a NULL; nil when none has
	counts := make([]int, chunks*nw) // chunk c's changes in partition p at c*nw+p
	bytes := make([]int, chunks*nw)  // and their keys' bytes
	bufs := make([][]byte, chunks)
	var nullsOnce sync.Once
	bounds := func(c int) (int, int) { return c * len(d) / chunks, (c + 1) * len(d) / chunks }
	err := cr.run(chunks, func(c int) error {
		lo, hi := bounds(c)
		count, size := counts[c*nw:(c+1)*nw], bytes[c*nw:(c+1)*nw]
		var small [4]any
		vals := keyVals(small[:], key)
		buf := make([]byte, 0, 16*(hi-lo))
		for i := lo; i < hi; i++ {
			start := len(buf)
			var hasNull bool
			var err error
			if buf, hasNull, err = appendKeyOf(buf, vals, key, d[i].Row); err != nil {
				return err
			}
			if hasNull {
				nullsOnce.Do(func() { nulls = make([]bool, len(d)) })
				nulls[i] = true
			}
			p := partOf(buf[start:], nw)
			of[i], ends[i] = int32(p), int32(len(buf))
			count[p]++
			size[p] += len(buf) - start
		}
		bufs[c] = buf
		return nil
	})
	if err != nil {
		return nil, err
	}
	ks := &keyedSplit{d: d, key: key, parts: make([]batch, nw), keys: make([]*encodedKeys, nw)}
	keyBufs := make([][]byte, nw)
	if room == nil {
		room = make(batch, len(d))
	}
	start := 0
	for p := range nw {
		n, b := 0, 0
		for c := range chunks {
			k, kb := counts[c*nw+p], bytes[c*nw+p]
			counts[c*nw+p], bytes[c*nw+p] = n, b
			n, b = n+k, b+kb
		}
		ks.parts[p] = room[start : start+n : start+n]
		start += n
		keyBufs[p] = make([]byte, b)
		ek := &encodedKeys{d: ks.parts[p], key: key, ends: make([]int32, n)}
		if nulls != nil {
			ek.nulls = make([]bool, n)
		}
		ks.keys[p] = ek
	}
	_ = cr.run(chunks, func(c int) error {
		lo, hi := bounds(c)
		next, nextByte := counts[c*nw:(c+1)*nw], bytes[c*nw:(c+1)*nw]
		start := int32(0)
		for i := lo; i < hi; i++ {
			p := of[i]
			at, k := next[p], bufs[c][start:ends[i]]
			ks.parts[p][at] = d[i]
			copy(keyBufs[p][nextByte[p]:], k)
			nextByte[p] += len(k)
			ek := ks.keys[p]
			ek.ends[at] = int32(nextByte[p])
			if nulls != nil {
				ek.nulls[at] = nulls[i]
			}
			next[p]++
			start = ends[i]
		}
		return nil
	})
	for p, ek := range ks.keys {
		// Read as a string of the buffer itself, which nothing writes
		// to again (as encodeKeys does).
		ek.all = unsafe.String(unsafe.SliceData(keyBufs[p]), len(keyBufs[p]))
	}
	return ks, nil
}

// concatBatches returns the batches one after the other, in one.
func concatBatches(bs []batch) batch { return slices.Concat(bs...) }

// errBadRow stops a split at a row its key cannot be read from; the
// caller's run over the whole batch then says what is wrong with it.
var errBadRow = errors.New("bad row")

// viewChanges files in into the step's changes to each view of the
// circuit that has some, consolidated: on several workers, the views
// dealt to as many goroutines when the step's changes are many
// (viewGoroutines).
func (s *stepRun) viewChanges(into map[string]*zset.ZSet) {
	views := s.engine.circuit.Views
	size := 0
	for _, v := range views {
		size += len(s.deltas[v.Node.ID])
	}
	if size == 0 {
		return
	}
	n := s.engine.viewGoroutines(size, len(views))
	if n == 1 {
		for _, v := range views {
			if z := s.consolidated(v); z != nil {
				into[v.Name] = z
			}
		}
		return
	}
	// Views are dealt to goroutines in turn; each writes only its own.
	out := make([]*zset.ZSet, len(views))
	_ = s.engine.crew.run(n, func(w int) error {
		for i := w; i < len(views); i += n {
			out[i] = s.consolidated(views[i])
		}
		return nil
	})
	for i, v := range views {
		if out[i] != nil {
			into[v.Name] = out[i]
		}
	}
}

// consolidated returns view v's changes in the step as a Z-set, nil when
// it has none or they cancel out. Changes of one sign cannot cancel out,
// nor can an aggregate's (a changed group's old row and its new, which
// differ, and no two groups' rows alike, so they need no adding up:
// zset.Consolidated), a top-k's (each changed group's rows once, from
// one merge of its first rows before and after) or a recursive view's
// (each changed class's old row and new, which differ), so the view has
// changed and its Z-set adds them up only if it is read (zset.Lazy): a
// view that only feeds others, or whose contents are not kept, costs no
// hash of its rows. Other changes are added up at once, as the Result
// holds only the views that changed.
func (s *stepRun) consolidated(v *ir.View) *zset.ZSet {
	d := s.deltas[v.Node.ID]
	if len(d) == 0 {
		return nil
	}
	switch v.Node.Op.(type) {
	case *ir.Aggregate:
		return zset.Consolidated(d)
	case *ir.TopK, *ir.Fixpoint:
		// Not in a recursive view's body, whose changes add up
		// iterations'.
		if !s.engine.inBody[v.Node.ID] {
			return zset.Consolidated(d)
		}
	}
	if oneSign(d) || surelyChanged(d) {
		return zset.Lazy(d)
	}
	if z := zset.FromEntries(d...); !z.IsEmpty() {
		return z
	}
	return nil
}

// surelyChanged reports whether the changes d surely do not all cancel
// out, found without adding them up: their weights do not sum to zero,
// or the first row's do not (rows compared by representation, as a
// Z-set tells them apart). A view's changes that retract old rows and
// insert new ones, as a select over a group's totals makes, are then
// listed as changed and added up only when read; false says only that
// d must be added up to know.
func surelyChanged(d batch) bool {
	var sum, first int64
	for _, e := range d {
		sum += e.Weight
		if types.SameRowKey(e.Row, d[0].Row) {
			first += e.Weight
		}
	}
	return sum != 0 || first != 0
}

// oneSign reports whether the weights of d are all positive or all
// negative.
func oneSign(d batch) bool {
	positive := d[0].Weight > 0
	for _, e := range d {
		if e.Weight == 0 || e.Weight > 0 != positive {
			return false
		}
	}
	return true
}

// addContents adds each view's changes to its contents: on several
// workers, the views dealt to as many goroutines when the changes are
// many (viewGoroutines).
func (s *stepRun) addContents(changes map[string]*zset.ZSet) {
	e := s.engine
	// The kept views and their changes, found in one pass over the map:
	// a step's few views on the stack.
	type keptChanges struct {
		v *viewState
		d *zset.ZSet
	}
	var few [8]keptChanges
	kept, size := few[:0], 0
	for name, d := range changes {
		switch v := e.views[name]; {
		case v.kept:
			size += d.Len()
			kept = append(kept, keptChanges{v, d})
		case v.derived != nil:
			v.contents = nil // read again from the state when next read
		}
	}
	n := min(e.viewGoroutines(size, len(changes)), len(kept))
	if n <= 1 {
		for _, k := range kept {
			k.v.contents.AddAll(k.d, 1)
		}
		return
	}
	// The goroutines read a copy: the closure would otherwise move few
	// to the heap for every step.
	all := slices.Clone(kept)
	_ = e.crew.run(n, func(w int) error {
		for i := w; i < len(all); i += n {
			all[i].v.contents.AddAll(all[i].d, 1)
		}
		return nil
	})
}

// chunked runs node n on the workers when it is a row-by-row operator
// (filter, map, flat-map) with enough changes, reporting whether it did:
// each worker takes a run of consecutive changes, and the outputs are
// concatenated in order, so the output, and the error of the first bad
// change, are the same as on one worker.
func (s *stepRun) chunked(ctx context.Context, n *ir.Node) (batch, bool, error) {
	switch n.Op.(type) {
	case *ir.Filter, *ir.Map, *ir.FlatMap:
	default:
		return nil, false, nil
	}
	in := s.in(n, 0)
	if len(in) < max(s.engine.parallelBatch(), 2) {
		return nil, false, nil
	}
	chunks := min(len(s.parts), len(in))
	outs := make([]batch, chunks)
	err := s.engine.crew.run(chunks, func(c int) error {
		w := &stepRun{engine: s.engine, store: s.store, deltas: make([]batch, len(s.deltas))}
		w.deltas[n.Inputs[0].ID] = in[c*len(in)/chunks : (c+1)*len(in)/chunks]
		var err error
		outs[c], err = w.eval(ctx, n)
		return err
	})
	if err != nil {
		return nil, true, err
	}
	return concatBatches(outs), true, nil
}
