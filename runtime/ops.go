package runtime

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// stepRun is one step in progress: the changes computed so far, and the
// state writes to make if the step succeeds.
type stepRun struct {
	engine *Engine
	store  Store // the engine's store, or a fixpoint's overlay of it
	deltas []batch
	inputs map[string]batch
	writes []func(context.Context) error
	// partWrites are the state writes of the operators that ran on the
	// workers (exchange), by partition: the commit runs each
	// partition's side by side with the others', in one go for the
	// step rather than one for each operator. Nil when there are none.
	partWrites [][]func(context.Context) error
	// now is the step's time; before is the previous step's, set by the
	// clock node when the clock moved (nil when it did not, or in the
	// first step).
	now    time.Time
	before *time.Time
	// backfill marks a pass computing new views over what is there
	// (Engine.Extend): their constants enter then, whatever the step.
	backfill bool
	// parts are the store's partitions when the stateful operators run
	// on several workers (see exchange); nil on one worker, and in a
	// worker's own run.
	parts []Store
	// encoded are the keys integrate encoded of large batches, for a
	// join of the same batch by the same key (see keysOf): a list, so
	// that a step, most of which have none, is made no larger than a
	// pointer.
	encoded *encodedKeys
	// splits are the batches the exchange split by key, for another
	// exchange of the same batch by the same key (see splitByKey).
	splits *keyedSplit
	// arenas are the step's arenas of join rows (see rowArena), shared
	// with the workers' runs; nil in a run that takes none.
	arenas *stepArenas
}

// batch is a step's changes at one node: a Z-set written as a list of
// entries that may repeat a row (their weights add up). Operators pass
// batches along without hashing every intermediate row; only state, and
// the changes reported for views, are consolidated.
type batch = []zset.Entry

func toBatch(z *zset.ZSet) batch {
	b := make(batch, 0, z.Len())
	z.Each(func(row zset.Row, w int64) { b = append(b, zset.Entry{Row: row, Weight: w}) })
	return b
}

func (s *stepRun) in(n *ir.Node, i int) batch { return s.deltas[n.Inputs[i].ID] }

// insertsFresh reports whether each row that node n, an Integrate,
// files with weight 1 is one its index does not hold: n integrates a
// table with a primary key, whose steps insert a row only for a key the
// table does not hold, or after retracting the key's old row (resolve),
// and a row of the same representation as the old one would have
// cancelled it out. Watermarks are the exception: their sweeps take rows
// out of integrals that the table still holds, so a later delete leaves
// a retraction in the index that the same row inserted again must meet.
func (e *Engine) insertsFresh(n *ir.Node) bool {
	src, ok := n.Inputs[0].Op.(*ir.Source)
	if !ok || e.watermarked {
		return false
	}
	t := e.tables[src.Table]
	return t != nil && len(t.input.PrimaryKey) > 0
}

// integral returns the index behind input i of n, which is z⁻¹(I x).
func (s *stepRun) integral(n *ir.Node, i int) Index {
	delay := n.Inputs[i]
	return s.store.Index(delay.Inputs[0].ID)
}

func (s *stepRun) eval(ctx context.Context, n *ir.Node) (batch, error) {
	if s.passes(n) {
		return s.in(n, 0), nil
	}
	if s.parts != nil {
		if out, ran, err := s.exchange(ctx, n); ran {
			return out, err
		}
		if out, ran, err := s.chunked(ctx, n); ran {
			return out, err
		}
	}
	switch op := n.Op.(type) {
	case *ir.Source:
		return s.inputs[op.Table], nil
	case *ir.Constant:
		if s.engine.steps == 0 || s.backfill {
			return toBatch(op.Rows), nil
		}
		return nil, nil
	case *ir.Filter:
		return s.filter(n, op)
	case *ir.Map:
		return s.mapRows(n, op)
	case *ir.Sum:
		var out batch
		for i := range n.Inputs {
			out = append(out, s.in(n, i)...)
		}
		return out, nil
	case *ir.Integrate:
		return s.integrate(n, op)
	case *ir.Clock:
		return s.clock(ctx, op)
	case *ir.FlatMap:
		return s.flatMap(n, op)
	case *ir.TemporalFilter:
		return s.temporalFilter(ctx, n, op)
	case *ir.OrderedIntegrate:
		return s.orderedIntegrate(n, op)
	case *ir.Delay:
		return nil, nil // read through the index by its consumer
	case *ir.Join:
		return s.join(ctx, n, op)
	case *ir.SemiJoin:
		return s.semiJoin(ctx, n, op)
	case *ir.Distinct:
		return s.distinct(ctx, n)
	case *ir.Aggregate:
		return s.aggregate(ctx, n, op)
	case *ir.SetOp:
		return s.setOp(ctx, n, op)
	case *ir.TopK:
		return s.topK(ctx, n, op)
	case *ir.Window:
		return s.window(ctx, n, op)
	case *ir.Stamp:
		return s.stamp(ctx, n)
	case *ir.Session:
		return s.session(ctx, n, op)
	case *ir.Fixpoint:
		return s.fixpoint(ctx, n, op)
	case *ir.Recurse, *ir.Import:
		return s.deltas[n.ID], nil // set by the fixpoint running the body
	}
	return nil, fmt.Errorf("node n%d: operator %s is not implemented", n.ID, n.Op.Name())
}

// filter keeps the changes whose rows satisfy op's predicate. It and
// mapRows are functions of their own, not cases of eval, so that eval
// has no defer: a function with a defer it cannot open-code pays for
// running its defers at every return, which was a single change's
// step's cost at each of its nodes.
func (s *stepRun) filter(n *ir.Node, op *ir.Filter) (batch, error) {
	in := s.in(n, 0)
	out := make(batch, 0, len(in))
	if len(in) == 0 {
		return out, nil // no frame to borrow
	}
	frame := ir.BorrowFrame(op.Pred.FrameSize())
	defer ir.ReturnFrame(frame)
	for _, e := range in {
		v, err := op.Pred.EvalIn(e.Row, *frame)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		if v == true {
			out = append(out, e)
		}
	}
	return out, nil
}

// mapRows evaluates op's expressions over each change's row.
func (s *stepRun) mapRows(n *ir.Node, op *ir.Map) (batch, error) {
	in := s.in(n, 0)
	out := make(batch, 0, len(in))
	if len(in) == 0 {
		return out, nil // no frame to borrow
	}
	frame := ir.BorrowFrame(frameSize(op.Exprs))
	defer ir.ReturnFrame(frame)
	rows := pairRows{left: len(in)}
	for _, e := range in {
		r := rows.row(len(op.Exprs))
		for i := range op.Exprs {
			var err error
			if r[i], err = op.Exprs[i].EvalIn(e.Row, *frame); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
		}
		out = append(out, zset.Entry{Row: r, Weight: e.Weight})
	}
	return out, nil
}

// frameSize returns the size of a frame that every one of exprs can be
// evaluated in (see ir.Scalar.EvalIn): a batch's rows, evaluated in
// turn, share one frame, borrowed for the batch, rather than each
// evaluation borrowing its own.
func frameSize(exprs []ir.Scalar) int {
	n := 0
	for i := range exprs {
		n = max(n, exprs[i].FrameSize())
	}
	return n
}

// integrate schedules the addition of its input's changes to its index.
func (s *stepRun) integrate(n *ir.Node, op *ir.Integrate) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	ix := s.store.Index(n.ID)
	// The memory store's index (and a fixpoint's overlay of one) encodes
	// a row whose key it is not given only to hash it: no string per row.
	inMemory := inMemory(ix)
	// The keys are encoded one after the other and made one string, each
	// change's key a part of it: one allocation for the batch's keys,
	// not one a change. (An index keeps a key of its own: see
	// memIndex.Update.)
	var keys string
	var ends []int32
	if ek := s.keysOf(n.Inputs[0].ID, d, op.Key); len(d) > smallBatch || ek != nil {
		if ek == nil {
			var err error
			if ek, err = encodeKeys(d, op.Key); err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
			s.keep(n.Inputs[0].ID, ek)
		}
		if ku, ok := ix.(keyedUpdater); ok {
			// Filed from the keys as they are: no KeyedChange per
			// change.
			s.fileKeyed(ku, n, ek.all, ek.ends, ek.d)
			return nil, nil
		}
		if ov, ok := ix.(*overlayIndex); ok {
			s.updateOverlay(ov, ek.all, ek.ends, d)
			return nil, nil
		}
		keys, ends = ek.all, ek.ends
	} else {
		var small [4]any
		vals := keyVals(small[:], op.Key)
		var tmp [128]byte
		var tmpEnds [smallBatch]int32
		buf := tmp[:0] // on the stack
		ends = tmpEnds[:0]
		for _, e := range d {
			var err error
			buf, _, err = appendKeyOf(buf, vals, op.Key, e.Row)
			if err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
			ends = append(ends, int32(len(buf)))
		}
		keys = string(buf)
		if ov, ok := ix.(*overlayIndex); ok {
			s.updateOverlay(ov, keys, slices.Clone(ends), d) // off the stack
			return nil, nil
		}
		if ku, ok := ix.(keyedUpdater); ok {
			// As a big batch is: a table's rows are filed unhashed
			// (memBucket.addFresh), and must go this way to be found
			// as the table's (memBucket.addStored).
			s.fileKeyed(ku, n, keys, slices.Clone(ends), d) // ends off the stack
			return nil, nil
		}
	}
	changes := make([]KeyedChange, 0, len(d))
	for i, e := range d {
		c := KeyedChange{Key: keys[keyStart(ends, i):ends[i]], Row: e.Row, Weight: e.Weight}
		if !inMemory {
			c.RowKey = types.RowKey(e.Row)
		}
		changes = append(changes, c)
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return ix.Update(ctx, changes) })
	return nil, nil
}

// fileKeyed schedules for the commit ku's filing of d, node n's
// changes, change i's key ending at ends[i] in keys: as fresh when n
// integrates a keyed table (Engine.insertsFresh).
func (s *stepRun) fileKeyed(ku keyedUpdater, n *ir.Node, keys string, ends []int32, d batch) {
	fresh := s.engine.insertsFresh(n)
	s.writes = append(s.writes, func(context.Context) error {
		ku.updateKeyed(keys, ends, d, fresh)
		return nil
	})
}

// keyedUpdater is an index that files a batch's changes from their keys
// encoded in one string (memIndex.updateKeyed), as the memory store's
// are, split over partitions or not.
type keyedUpdater interface {
	updateKeyed(keys string, ends []int32, d []zset.Entry, fresh bool)
}

// updateOverlay schedules the addition of d, change i's key ending at
// ends[i] in keys, to a fixpoint's overlay: it keeps the keys as they
// are and files them when next read, with no KeyedChange per change,
// nor a row key, which it makes only of the net changes it flushes to a
// store that needs them.
func (s *stepRun) updateOverlay(ov *overlayIndex, keys string, ends []int32, d batch) {
	s.writes = append(s.writes, func(context.Context) error {
		ov.updateKeyed(keys, ends, d)
		return nil
	})
}

// encodedKeys is the keys of a batch's changes by one key, each encoded
// once: every change's key, with a NULL or not, one after the other in
// one string.
type encodedKeys struct {
	from  int // the node whose changes d are
	d     batch
	key   []ir.Scalar
	all   string
	ends  []int32 // by change, where its key ends in all
	nulls []bool  // by change, whether its key has a NULL; nil when none has
	next  *encodedKeys
}

// encodeKeys evaluates key over every row of d and encodes it.
func encodeKeys(d batch, key []ir.Scalar) (*encodedKeys, error) {
	var small [4]any
	vals := keyVals(small[:], key)
	buf, ends := make([]byte, 0, 16*len(d)), make([]int32, 0, len(d))
	var nulls []bool
	for i, e := range d {
		var hasNull bool
		var err error
		buf, hasNull, err = appendKeyOf(buf, vals, key, e.Row)
		if err != nil {
			return nil, err
		}
		if hasNull {
			if nulls == nil {
				nulls = make([]bool, len(d))
			}
			nulls[i] = true
		}
		ends = append(ends, int32(len(buf)))
	}
	// The keys are read as a string of buf itself, which nothing writes
	// to again: not copied into one, as a big batch's string(buf) was.
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	return &encodedKeys{d: d, key: key, all: all, ends: ends, nulls: nulls}, nil
}

// of returns the key of change i.
func (ek *encodedKeys) of(i int) string { return ek.all[keyStart(ek.ends, i):ek.ends[i]] }

// keep remembers ek, the keys of node from's changes, for keysOf: an
// integral's keys are a join's, of the same changes, and integrate runs
// first. It replaces the keys of an earlier batch of from by the same
// key, as a fixpoint's next iteration makes.
func (s *stepRun) keep(from int, ek *encodedKeys) {
	ek.from = from
	at := &s.encoded
	for *at != nil && !((*at).from == from && sameKey((*at).key, ek.key)) {
		at = &(*at).next
	}
	if *at != nil {
		ek.next = (*at).next
	}
	*at = ek
}

// keysOf returns the keys by key of d, node from's changes, when
// integrate encoded them, or nil. Batches are never changed once made,
// and the kept ones stay alive: a batch at the same place is the same.
func (s *stepRun) keysOf(from int, d batch, key []ir.Scalar) *encodedKeys {
	for ek := s.encoded; ek != nil; ek = ek.next {
		if ek.from == from && sameKey(ek.key, key) && len(ek.d) == len(d) && (len(d) == 0 || &ek.d[0] == &d[0]) {
			return ek
		}
	}
	return nil
}

// sameKey reports whether a and b are the same key expressions: the same
// slice, as the lowering gives an integral and its join.
func sameKey(a, b []ir.Scalar) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// appendKeyOf evaluates key over row and appends the encoding of its
// values, as types.KeyOf gives it, to buf; vals, of one element per key
// expression, holds the values meanwhile. hasNull reports a NULL value;
// the error is ir.EvalKey's. A caller that reuses buf and vals, and only
// looks the key up (m[string(b)]), allocates nothing.
func appendKeyOf(buf []byte, vals []any, key []ir.Scalar, row zset.Row) (b []byte, hasNull bool, err error) {
	for i := range key {
		v, err := key[i].Eval(row) // not a copy of the Scalar: 224 bytes
		if err != nil {
			return buf, false, err
		}
		hasNull = hasNull || v == nil
		vals[i] = v
	}
	for _, v := range vals {
		buf = types.AppendKey(buf, v)
	}
	return buf, hasNull, nil
}

// keyVals returns room for the values of key: small, of a caller's
// array, or made.
func keyVals(small []any, key []ir.Scalar) []any {
	if len(key) > len(small) {
		return make([]any, len(key))
	}
	return small[:len(key)]
}

// keyed is a change with its join key: the position of the change in its
// batch and of the key in its keyedRows' keys.
type keyed struct{ k, i int32 }

// keyedRows is a batch's changes with their join keys, in order of first
// appearance, each distinct key encoded once: the keys are parts of one
// string. A large batch finds its keys by their hashes, each computed
// once, in a table of positions rather than through a map of strings,
// which hashed a key again at every probe and made a string of each.
type keyedRows struct {
	d    batch
	keys []string
	// table finds the keys by their hashes (hashKey); empty for a small
	// batch, whose few keys are compared in turn.
	table keySlots
	rows  []keyed // the changes whose key has no NULL
}

// smallBatch is the most changes a batch has for keyAll to find keys by
// comparing them in turn rather than through a table.
const smallBatch = 8

// keySlots finds a batch's distinct keys by their hashes: hashes holds
// each key's hash, in order of first appearance, and slots, an
// open-addressed table made for the batch's size up front, 1 + the
// position of each key, placed by its (folded) hash. The keys are the
// caller's, which tells them apart when hashes meet.
type keySlots struct {
	hashes []uint64
	slots  []int32
}

// newKeySlots returns a table for up to n keys: slots a power of two at
// least twice n, so that probes stay short.
func newKeySlots(n int) keySlots { return newKeySlotsIn(nil, nil, n) }

// newKeySlotsIn is newKeySlots in the arrays hashes and slots when they
// have room.
func newKeySlotsIn(hashes []uint64, slots []int32, n int) keySlots {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if cap(hashes) < n {
		hashes = make([]uint64, 0, n)
	}
	if cap(slots) < size {
		slots = make([]int32, size)
	} else {
		slots = slots[:size]
		clear(slots)
	}
	return keySlots{hashes: hashes[:0], slots: slots}
}

// find returns the position of the key of hash h that same says is the
// one sought; else found is false and at is the slot a new key of that
// hash goes in (see add).
func (t *keySlots) find(h uint64, same func(k int32) bool) (k int32, at uint64, found bool) {
	mask := uint64(len(t.slots) - 1)
	for at = fold(h) & mask; t.slots[at] != 0; at = (at + 1) & mask {
		if k := t.slots[at] - 1; fold(t.hashes[k]) == fold(h) && same(k) {
			return k, at, true
		}
	}
	return 0, at, false
}

// add files a new key of hash h in slot at, which find gave, and returns
// its position.
func (t *keySlots) add(h uint64, at uint64) int32 {
	k := int32(len(t.hashes))
	t.slots[at] = k + 1
	t.hashes = append(t.hashes, h)
	return k
}

// find returns the position in kr.keys of key, of hash h; h is read only
// when kr has a table (see needsHash).
func (kr *keyedRows) find(h uint64, key string) (int32, bool) {
	if !kr.needsHash() {
		for k, s := range kr.keys {
			if s == key {
				return int32(k), true
			}
		}
		return 0, false
	}
	k, _, found := kr.table.find(h, func(k int32) bool { return kr.keys[k] == key })
	return k, found
}

// needsHash reports whether find reads the hash of the key it looks for.
func (kr *keyedRows) needsHash() bool { return kr.table.slots != nil }

// hash returns the hash of key k: the one computed when it was met, or,
// in a small batch, which has none, a new one.
func (kr *keyedRows) hash(k int) uint64 {
	if kr.needsHash() {
		return kr.table.hashes[k]
	}
	return hashKey(kr.keys[k])
}

// entry returns the change of r.
func (kr *keyedRows) entry(r keyed) *zset.Entry { return &kr.d[r.i] }

// keyAll evaluates key over every row of d, dropping rows whose key has a
// NULL, which never join. A large batch's keys are found by their hashes
// in the keys ek holds, which integrate encoded (nil: keyAll encodes
// them). A small batch's keys are encoded one after the other into one
// buffer, a key met before taken back out of it, and the buffer made one
// string at the end: one allocation for the batch's keys.
//
// A large batch's rows are grouped in sc's arrays, when it is not nil,
// which the caller may reuse once it is done with the result (see
// keyScratch).
func keyAll(d batch, key []ir.Scalar, ek *encodedKeys, sc *keyScratch) (keyedRows, error) {
	if len(d) == 0 {
		return keyedRows{}, nil
	}
	if len(d) > smallBatch {
		if ek == nil {
			var err error
			if ek, err = encodeKeys(d, key); err != nil {
				return keyedRows{}, err
			}
		}
		if sc == nil {
			sc = &keyScratch{}
		}
		return groupKeys(ek, sc), nil
	}
	out := keyedRows{d: d, rows: make([]keyed, 0, len(d))}
	var small [4]any
	vals := keyVals(small[:], key)
	var tmp [128]byte
	var tmpEnds [smallBatch]int32
	buf, ends := tmp[:0], tmpEnds[:0] // on the stack
	for i, e := range d {
		start := len(buf)
		var hasNull bool
		var err error
		buf, hasNull, err = appendKeyOf(buf, vals, key, e.Row)
		if err != nil {
			return keyedRows{}, err
		}
		if hasNull {
			buf = buf[:start]
			continue
		}
		b, k := buf[start:], int32(len(ends))
		for j := range ends {
			if string(buf[keyStart(ends, j):ends[j]]) == string(b) {
				k = int32(j)
				buf = buf[:start] // met before: its first encoding serves
				break
			}
		}
		if k == int32(len(ends)) {
			ends = append(ends, int32(len(buf)))
		}
		out.rows = append(out.rows, keyed{k, int32(i)})
	}
	all := string(buf)
	out.keys = make([]string, len(ends))
	for k := range ends {
		out.keys[k] = all[keyStart(ends, k):ends[k]]
	}
	return out, nil
}

// groupKeys groups the changes of ek.d by their keys, each hashed once,
// through a table of the keys' positions, in sc's arrays.
func groupKeys(ek *encodedKeys, sc *keyScratch) keyedRows {
	d := ek.d
	sc.fit(len(d))
	out := keyedRows{d: d, rows: sc.rows, table: keySlots{hashes: sc.hashes, slots: sc.slots}}
	// Each key as the change that has it first, until the keys are
	// known: a string each for them all would take twice the room.
	firsts := sc.firsts
	for i := range d {
		if ek.nulls != nil && ek.nulls[i] {
			continue
		}
		key := ek.of(i)
		h := hashKey(key)
		k, at, found := out.table.find(h, func(k int32) bool { return ek.of(int(firsts[k])) == key })
		if !found {
			k = out.table.add(h, at)
			firsts = append(firsts, int32(i))
		}
		out.rows = append(out.rows, keyed{k, int32(i)})
	}
	out.keys = make([]string, len(firsts))
	for k, i := range firsts {
		out.keys[k] = ek.of(int(i))
	}
	return out
}

// keyScratch is the arrays groupKeys groups a batch's rows by key in:
// scratch of the join that asked, which a join's next big batch reuses
// (Engine.keyScratch) rather than making its own for the collector. A
// keyedRows made in them is read only until the join returns; none of
// them holds a pointer.
type keyScratch struct {
	rows   []keyed
	firsts []int32
	hashes []uint64
	slots  []int32
}

// keyScratchRows is the most rows of a batch whose scratch is kept for
// the next.
const keyScratchRows = 1 << 16

// fit empties the arrays and gives them room for n rows, the table of
// slots sized for n keys as newKeySlots sizes it and zeroed.
func (sc *keyScratch) fit(n int) {
	t := newKeySlotsIn(sc.hashes, sc.slots, n)
	sc.hashes, sc.slots = t.hashes, t.slots
	if cap(sc.rows) < n {
		sc.rows, sc.firsts = make([]keyed, 0, n), make([]int32, 0, n)
	}
	sc.rows, sc.firsts = sc.rows[:0], sc.firsts[:0]
}

// takeKeyScratch returns scratch for a batch of n rows: nil for a small
// batch, which keyAll groups without.
func (s *stepRun) takeKeyScratch(n int) *keyScratch {
	if n <= smallBatch {
		return nil
	}
	if sc, ok := s.engine.keyScratch.Get().(*keyScratch); ok {
		return sc
	}
	return &keyScratch{}
}

// giveKeyScratch gives back scratch takeKeyScratch gave, when it is not
// too big to keep.
func (s *stepRun) giveKeyScratch(sc *keyScratch) {
	if sc != nil && cap(sc.rows) <= keyScratchRows {
		s.engine.keyScratch.Put(sc)
	}
}

// keyStart returns where key k starts in a buffer of keys that end at
// ends.
func keyStart(ends []int32, k int) int32 {
	if k == 0 {
		return 0
	}
	return ends[k-1]
}

func concat(a, b zset.Row) zset.Row {
	r := make(zset.Row, 0, len(a)+len(b))
	return append(append(r, a...), b...)
}

// join computes Δl⋈Δr + Δl⋈z⁻¹(I r) + z⁻¹(I l)⋈Δr, looking up each side's
// integral once for all the keys of the other side's changes. Under a
// key that only one side changed, every pair of rows comes out once as
// it is; under a key both sides changed, where a side deletes, the
// three terms are summed per pair (see bothChanged), so that a pair
// joined and unjoined in the same step, whose terms cancel, never comes
// out for later operators to see.
func (s *stepRun) join(ctx context.Context, n *ir.Node, op *ir.Join) (batch, error) {
	l, r := s.in(n, 0), s.in(n, 1)
	lsc, rsc := s.takeKeyScratch(len(l)), s.takeKeyScratch(len(r))
	defer s.giveKeyScratch(lsc)
	defer s.giveKeyScratch(rsc)
	dl, err := keyAll(l, op.LeftKey, s.keysOf(n.Inputs[0].ID, l, op.LeftKey), lsc)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	dr, err := keyAll(r, op.RightKey, s.keysOf(n.Inputs[1].ID, r, op.RightKey), rsc)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	if len(dl.rows) == 0 && len(dr.rows) == 0 {
		return nil, nil
	}
	var rightBefore, leftBefore [][]zset.Entry // z⁻¹(I r) under dl's keys, z⁻¹(I l) under dr's
	if len(dl.rows) > 0 {
		if rightBefore, err = s.integral(n, 3).Lookup(ctx, dl.keys); err != nil {
			return nil, err
		}
	}
	if len(dr.rows) > 0 {
		if leftBefore, err = s.integral(n, 2).Lookup(ctx, dr.keys); err != nil {
			return nil, err
		}
	}
	both := matchKeys(&dl, &dr)
	size := both.size(&dl, &dr, rightBefore, leftBefore)
	pairs := pairRows{left: size, picks: s.picksOf(n)}
	var out batch
	if s.arenas != nil && s.engine.arenaJoins[n.ID] {
		pairs.arena = s.takeArena()
		out = pairs.arena.batch(size)
	} else {
		out = make(batch, 0, size)
	}
	for _, l := range dl.rows {
		if both.leftOnly(l.k) {
			le := dl.entry(l)
			for _, r := range rightBefore[l.k] {
				out = append(out, zset.Entry{Row: pairs.concat(le.Row, r.Row), Weight: le.Weight * r.Weight})
			}
		}
	}
	for _, r := range dr.rows {
		if both.rightOnly(r.k) {
			re := dr.entry(r)
			for _, l := range leftBefore[r.k] {
				out = append(out, zset.Entry{Row: pairs.concat(l.Row, re.Row), Weight: l.Weight * re.Weight})
			}
		}
	}
	if both.any {
		j := bothChanged{left: dl.byKey(), right: dr.byKey(), ids: map[string]int32{}}
		for lk, rk := range both.right {
			if rk >= 0 {
				out = j.appendPairs(out, &pairs, &dl, &dr, int32(lk), rk, leftBefore[rk], rightBefore[lk])
			}
		}
	}
	return out, nil
}

// distinct keeps one row per class of equal rows (rows equal as SQL's =
// says: 1.5 and 1.50 are one class): the class's representative, the
// present row of smallest identity, so the choice is deterministic. It
// emits -old +new representative for every class whose representative
// changed, which includes a class appearing or disappearing.
func (s *stepRun) distinct(ctx context.Context, n *ir.Node) (batch, error) {
	d := zset.FromEntries(s.in(n, 0)...)
	if d.IsEmpty() {
		return nil, nil
	}
	var keys []string
	changes := map[string][]zset.Entry{}
	d.Each(func(row zset.Row, w int64) {
		k := types.KeyOf(row)
		if _, ok := changes[k]; !ok {
			keys = append(keys, k)
		}
		changes[k] = append(changes[k], zset.Entry{Row: row, Weight: w})
	})
	found, err := s.integral(n, 1).Lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out batch
	for i, k := range keys {
		before := zset.FromEntries(found[i]...)
		after := before.Plus(zset.FromEntries(changes[k]...))
		old, now := representative(before), representative(after)
		if old != nil && now != nil && types.SameRowKey(old, now) {
			continue
		}
		if old != nil {
			out = append(out, zset.Entry{Row: old, Weight: -1})
		}
		if now != nil {
			out = append(out, zset.Entry{Row: now, Weight: 1})
		}
	}
	return out, nil
}

// representative returns the row of smallest identity among the rows of
// positive weight, or nil when there is none.
func representative(z *zset.ZSet) zset.Row {
	var best zset.Row
	bestKey := ""
	z.Each(func(row zset.Row, w int64) {
		if w <= 0 {
			return
		}
		if k := types.RowKey(row); best == nil || k < bestKey {
			best, bestKey = row, k
		}
	})
	return best
}
