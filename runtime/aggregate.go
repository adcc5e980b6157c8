package runtime

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/google/btree"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// groupChanges is a batch's changes to an aggregate with their
// arguments evaluated; a change is its position in the batch.
type groupChanges struct {
	d    batch
	args []any // the arguments of change i at i*nAggs
	n    int   // nAggs
	// small holds, at the same places as args, the numeric arguments of
	// sums that were read as int64 coefficients (ir.ScaledFunc); nil
	// when no aggregate's argument can be.
	small []smallArg
	// keys holds each change's own spelling of its group's key when the
	// key holds a numeric (see spelledApart); nil when no change's does.
	keys []zset.Row
}

func (gc *groupChanges) arg(i int32, agg int) any { return gc.args[int(i)*gc.n+agg] }

func (gc *groupChanges) weight(i int32) int64 { return gc.d[i].Weight }

// smallArg is a numeric argument as coef × 10^exp, when ok.
type smallArg struct {
	coef int64
	exp  int32
	ok   bool
}

// scaledArgs reports which of op's aggregates sum numerics that their
// arguments' ScaledFuncs can read, nil when none does.
func scaledArgs(op *ir.Aggregate, impls []stdlib.Aggregator) []bool {
	var out []bool
	for i, a := range op.Aggs {
		if _, presummed := impls[i].(stdlib.Presummed); presummed && a.Arg != nil && a.Arg.Scaled != nil && !a.Ordered() {
			if out == nil {
				out = make([]bool, len(op.Aggs))
			}
			out[i] = true
		}
	}
	return out
}

// aggregate updates the state of each group the step's changes touch and
// emits, per changed group, the retraction of its old row and the
// insertion of its new one.
//
// The batch is grouped once: each row's key is encoded into a reused
// buffer and looked up without allocating, the arguments of all rows go
// in one slab, and each group's changes are then applied together.
func (s *stepRun) aggregate(ctx context.Context, n *ir.Node, op *ir.Aggregate) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	nAggs := len(op.Aggs)
	bound, err := s.engine.aggregators(op)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	impls, scaled := bound.impls, bound.scaled
	nArgs, nSmall, nOf := len(d)*nAggs, 0, len(d)
	if scaled != nil {
		nSmall = nArgs
	}
	// w is what the step's commit writes, and the batch's scratch, in
	// one object.
	w := &aggWrite{rooms: bound.rooms}
	// A batch of one change has its slices on the stack: they are made
	// unconditionally, so that the compiler can put them there. A
	// bigger batch has them in a room kept from an earlier batch.
	room := len(d) > 1
	if room {
		w.room = w.takeRoom()
		nArgs, nSmall, nOf = 0, 0, 0
	}
	gc := &groupChanges{d: d, args: make([]any, nArgs), n: nAggs, small: make([]smallArg, nSmall)}
	of := make([]int32, nOf) // the group of each change
	if room {
		gc.args, gc.small, of = w.room.fit(len(d), nAggs, scaled != nil)
	}
	// groupKeys holds each group's key values. With a room (a batch of
	// more than one change), in its arrays, and the new groups' are
	// copied out once the store has said which are new (ownNewKeys).
	// Without (one change, so one group), the group's key is nil for
	// scratch's, on the stack, copied only when the group is new.
	var groupKeys []zset.Row
	keysInRoom := w.room != nil
	finder := groupFinder{rows: len(d), few: w.few[:0]}
	if keysInRoom {
		finder.slab, finder.ends, finder.spare, finder.list = w.room.keySlab[:0], w.room.ends[:0], &w.room.table, w.room.keyList
	}
	scratch := make(zset.Row, len(op.Key))
	var tmp [128]byte
	buf := tmp[:0] // on the stack, for a short key
	// On a worker, the split that gave it d encoded the keys: they are
	// read from there rather than encoded again.
	split := s.keysOf(n.Inputs[0].ID, d, op.Key)
	for i, e := range d {
		for j := range op.Key {
			v, err := op.Key[j].Eval(e.Row)
			if err != nil {
				return nil, fmt.Errorf("node n%d: %w", n.ID, err)
			}
			scratch[j] = v
		}
		args := gc.args[i*nAggs : (i+1)*nAggs : (i+1)*nAggs]
		var small []smallArg
		if scaled != nil {
			small = gc.small[i*nAggs : (i+1)*nAggs : (i+1)*nAggs]
		}
		if err := evalAggArgs(op, e.Row, args, scaled, small); err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		buf = buf[:0]
		if split != nil {
			buf = append(buf, split.of(i)...)
		} else {
			for _, v := range scratch {
				buf = types.AppendKey(buf, v)
			}
		}
		var key zset.Row
		if spelledApart(scratch) {
			key = slices.Clone(scratch)
			if gc.keys == nil {
				gc.keys = make([]zset.Row, len(d))
			}
			gc.keys[i] = key
		}
		g, found := finder.find(buf)
		switch {
		case found:
		case keysInRoom:
			// In the room's arrays, which groupKeys and keyVals never
			// are: so that, without a room, they can be on the stack.
			r := w.room
			if key == nil {
				start := len(r.keyVals)
				r.keyVals = append(r.keyVals, scratch...)
				key = r.keyVals[start:len(r.keyVals):len(r.keyVals)]
			}
			r.groupKeys = append(r.groupKeys, key)
		default:
			groupKeys = append(groupKeys, key) // nil, or a key of its own
		}
		of[i] = g
	}
	keys := finder.keys()
	var oneGroup [1][]int32 // room for a single group's changes, on the stack
	var byGroup [][]int32
	if w.room != nil {
		// The finder's arrays, grown, serve the next batch.
		w.room.keySlab, w.room.ends, w.room.keyList = finder.slab[:0], finder.ends[:0], finder.list
	}
	if w.room != nil && len(keys) > 1 {
		byGroup = w.room.sortByGroup(of, len(keys))
	} else {
		byGroup = sortByGroup(of, len(keys), oneGroup[:0])
	}
	out := make(batch, 0, 2*len(keys)) // a retraction and an insertion per group, at most
	groups := s.store.Groups(n.ID)
	olds, err := getGroups(ctx, groups, keys, w)
	if err != nil {
		return nil, err
	}
	if keysInRoom {
		groupKeys = w.room.groupKeys
		ownNewKeys(groupKeys, olds, len(op.Key))
	}
	news := w.one[:]
	if len(keys) > len(w.one) {
		w.room.news = fitLen(w.room.news, len(keys)) // a batch of groups has a room
		news = w.room.news
	}
	var slab *groupSlab
	if copies, accs, scales := slabSizes(olds); copies > 0 {
		if w.room == nil {
			w.room = w.takeRoom()
		}
		slab = &w.room.slab
		slab.fit(copies, accs, scales)
	}
	sums := &w.sums
	for i := range keys {
		old := olds[i]
		var st *GroupState
		if old == nil {
			key := groupKeys[i]
			if key == nil {
				key = slices.Clone(scratch) // the one change's
			}
			st = newGroupState(key, op, impls)
		} else {
			st = slab.clone(old)
		}
		cs := byGroup[i]
		st.addAll(op, &bound, gc, cs, sums)
		if gc.keys != nil {
			for _, c := range cs {
				if key := gc.keys[c]; key != nil {
					st.addForm(key, gc.weight(c))
				}
			}
		}
		if st.Count < 0 {
			return nil, fmt.Errorf("node n%d: group %s has negative weight %d: more rows deleted than inserted", n.ID, types.Format(st.Key, types.Type{Kind: types.Record}), st.Count)
		}
		news[i] = st
		oldRow := old.outputRow(op, impls)
		// A group whose key the step leaves as it was (no spelling of
		// it came or went) shows it as its old row does: the new row
		// takes the key's values from there, which the comparison reads
		// anyway, rather than from the state's key, and compares only
		// the aggregates' values.
		nKey := 0
		if oldRow != nil && st.row == nil && sameSlice(st.Key, old.Key) {
			nKey = len(st.Key)
			st.cacheRow(rowWithKey(oldRow[:nKey], st, op, impls))
		}
		newRow := st.outputRow(op, impls)
		if oldRow != nil && newRow != nil && types.SameRowKey(oldRow[nKey:], newRow[nKey:]) {
			continue
		}
		if oldRow != nil {
			out = append(out, zset.Entry{Row: oldRow, Weight: -1})
		}
		if newRow != nil {
			out = append(out, zset.Entry{Row: newRow, Weight: 1})
		}
	}
	w.groups, w.keys, w.olds, w.news = groups, keys, olds, news
	s.writes = append(s.writes, w.write)
	return out, nil
}

// aggWrite is an aggregate's step's state change, which its commit
// writes, with room for a small batch's scratch: one object a step
// rather than one for each.
type aggWrite struct {
	groups     Groups
	keys       []string
	olds, news []*GroupState
	sums       decimalSums // the batch's scratch for its sums
	// room is the batch's bigger scratch, from rooms, nil when it needs
	// none; the commit gives it back.
	room  *aggRoom
	rooms *sync.Pool
	// Room for the new and old states of a batch of one group, and for
	// the keys (groupFinder.few) of one of up to two.
	one    [1]*GroupState
	oneOld [1]*GroupState
	few    [2]string
}

// write puts the step's new states: the slab's copies go back into the
// states they were made from, and the store is given those.
func (w *aggWrite) write(ctx context.Context) error {
	for i, old := range w.olds {
		if old != nil && w.news[i].Count != 0 {
			old.takeFrom(w.news[i])
			w.news[i] = old
		}
	}
	if err := w.groups.Put(ctx, w.keys, w.news); err != nil {
		return err
	}
	if w.room != nil && w.room.keep() {
		// Nothing refers to the room's slab now: the states took
		// their copies' values, and the store has what it keeps. A
		// step that fails never gets here, and its room is dropped.
		w.room.release()
		w.rooms.Put(w.room)
	}
	w.room = nil
	return nil
}

// roomChanges is the most changes, and groups, of a batch whose room is
// kept for the next: a load's batches of thousands then reuse one room
// (a megabyte for 10,000 changes) rather than each making its own for
// the collector, and a step changing a few hundred groups, as a price
// change does, makes none. The pool keeps a room until the second
// collection after its last use, which the Go runtime forces within
// minutes of an idle engine; a batch bigger than this, whose room could
// be tens of megabytes, keeps none.
const roomChanges = 1 << 15

// keep reports whether the room is small enough to keep (roomChanges).
func (r *aggRoom) keep() bool {
	return cap(r.of) <= roomChanges && cap(r.slab.states) <= roomChanges
}

// takeRoom returns a room from rooms, or a new one.
func (w *aggWrite) takeRoom() *aggRoom {
	if r, ok := w.rooms.Get().(*aggRoom); ok {
		return r
	}
	return &aggRoom{}
}

// groupsInto is implemented by the memory stores' groups, which can
// give the states of keys in an array of the caller's.
type groupsInto interface {
	getInto(out []*GroupState, keys []string) []*GroupState
}

// getGroups is groups.Get, into w's room for one group, or its room's
// array for more, when the store can (groupsInto).
func getGroups(ctx context.Context, groups Groups, keys []string, w *aggWrite) ([]*GroupState, error) {
	into, ok := groups.(groupsInto)
	switch {
	case !ok:
		return groups.Get(ctx, keys)
	case len(keys) <= len(w.oneOld):
		return into.getInto(w.oneOld[:len(keys)], keys), nil
	case w.room != nil: // a batch of more than one group has one
		w.room.olds = fitLen(w.room.olds, len(keys))
		return into.getInto(w.room.olds, keys), nil
	}
	return groups.Get(ctx, keys)
}

// ownNewKeys gives each new group (olds' nil) whose key is in a room
// (not a key of its own, spelledApart's) a copy of it, all in one slab:
// the state keeps its key, the room is for the next batch.
func ownNewKeys(groupKeys []zset.Row, olds []*GroupState, width int) {
	n := 0
	for i, old := range olds {
		if old == nil && !spelledApart(groupKeys[i]) {
			n++
		}
	}
	if n == 0 {
		return
	}
	own := make([]any, 0, n*width)
	for i, old := range olds {
		if old == nil && !spelledApart(groupKeys[i]) {
			start := len(own)
			own = append(own, groupKeys[i]...)
			groupKeys[i] = own[start:len(own):len(own)]
		}
	}
}

// aggRoom is the scratch of an aggregate's batch of more than one
// change or of groups that exist: its changes' arguments and groups
// (groupChanges) and its slab of copied states. A room is kept from
// one batch to the next (boundAggs.rooms), so that a step changing a
// hundred groups does not make tens of kilobytes for the collector
// each time; the collector still frees the rooms that are not used.
type aggRoom struct {
	args  []any
	small []smallArg
	of    []int32
	slab  groupSlab
	// The groupFinder's arrays, and its list of the batch's keys.
	keySlab []byte
	ends    []int32
	table   keySlots
	keyList []string
	// sortByGroup's arrays, and the batch's new states.
	sizes, all []int32
	parts      [][]int32
	news, olds []*GroupState
	// The batch's groups' keys, before ownNewKeys.
	keyVals   []any
	groupKeys []zset.Row
}

// sortByGroup is the function sortByGroup, for more than one group, in
// the room's arrays.
func (r *aggRoom) sortByGroup(of []int32, n int) [][]int32 {
	r.sizes = fitLen(r.sizes, n)
	clear(r.sizes)
	r.all, r.parts = fitLen(r.all, len(of)), fitLen(r.parts, n)
	return sortByGroupIn(of, r.sizes, r.all, r.parts)
}

// fit returns the room's arrays sized for n changes to nAggs aggregates
// (small only when some are read as coefficients), zeroed but for of,
// which the caller sets whole.
func (r *aggRoom) fit(n, nAggs int, small bool) ([]any, []smallArg, []int32) {
	r.args = fitLen(r.args, n*nAggs)
	r.small = r.small[:0]
	if small {
		r.small = fitLen(r.small, n*nAggs)
	}
	r.of = fitLen(r.of, n)
	return r.args, r.small, r.of
}

// release drops what the room refers to and zeroes its arrays, for the
// next batch.
func (r *aggRoom) release() {
	clear(r.args)
	clear(r.small)
	clear(r.parts)
	clear(r.news)
	clear(r.olds)
	r.olds = r.olds[:0]
	clear(r.keyVals)
	clear(r.groupKeys)
	clear(r.keyList)
	r.keyList = r.keyList[:0]
	r.args, r.small, r.parts, r.news = r.args[:0], r.small[:0], r.parts[:0], r.news[:0]
	r.keyVals, r.groupKeys = r.keyVals[:0], r.groupKeys[:0]
	r.slab.release()
}

// fitLen returns s of length n, in s's array when it has room: zeroed
// when s was, as release leaves it.
func fitLen[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// groupFinder finds a batch's groups by their keys' encodings: by
// scanning while they are few, as a single change's step has, keeping
// each key as a string, then by their hashes, keeping the keys in one
// slab. keys then gives them as substrings of one string, so that a big
// batch makes one string, not one per group.
type groupFinder struct {
	rows  int      // the batch's changes: the most groups there can be
	few   []string // the keys while they are few, else nil
	slab  []byte   // the keys once they are many
	ends  []int32  // where each group's key ends in slab
	table keySlots // the keys by hash once they are many
	// spare, when not nil, is an earlier batch's table, whose arrays
	// the table takes when they are big enough; the finder leaves its
	// own there. list is likewise an array for keys' list.
	spare *keySlots
	list  []string
	// last is the group the last find by hash returned, plus one; 0
	// before the first. runs is how many of the finds since tried it
	// first found it, less how many did not.
	last, runs int32
}

// groupScan is the most groups a groupFinder scans.
const groupScan = 8

// runsGiveUp is how many more finds of a batch must miss the last group
// than find it for the finder to stop trying it first.
const runsGiveUp = 16

// key returns group g's key, in the slab.
func (f *groupFinder) key(g int32) []byte {
	start := int32(0)
	if g > 0 {
		start = f.ends[g-1]
	}
	return f.slab[start:f.ends[g]]
}

// find returns the group whose key is key, or adds one.
func (f *groupFinder) find(key []byte) (g int32, found bool) {
	if f.table.slots == nil {
		for g, k := range f.few {
			if k == string(key) {
				return int32(g), true
			}
		}
		if len(f.few) < groupScan {
			f.few = append(f.few, string(key))
			return int32(len(f.few) - 1), false
		}
		f.toHashes()
	}
	// The group found last is tried first, with no hash: a batch's
	// changes often come in runs of one group's (a basket's items, in
	// the order of a primary key that starts with the group's key). A
	// batch whose keys do not stops trying.
	if f.last > 0 && f.runs > -runsGiveUp {
		if bytes.Equal(f.key(f.last-1), key) {
			f.runs++
			return f.last - 1, true
		}
		f.runs--
	}
	h := hashKeyBytes(key)
	g, at, found := f.table.find(h, func(g int32) bool { return bytes.Equal(f.key(g), key) })
	if !found {
		g = f.add(h, at, key)
	}
	f.last = g + 1
	return g, found
}

// toHashes moves the few keys into the slab and files them by hash.
func (f *groupFinder) toHashes() {
	if f.spare != nil {
		f.table = newKeySlotsIn(f.spare.hashes, f.spare.slots, f.rows)
		*f.spare = f.table
	} else {
		f.table = newKeySlots(f.rows)
	}
	for _, k := range f.few {
		h := hashKeyBytes([]byte(k))
		_, at, _ := f.table.find(h, func(int32) bool { return false }) // the keys are distinct
		f.add(h, at, []byte(k))
	}
	f.few = nil
}

// add files key, of hash h, in slot at of the table, as a new group and
// returns it.
func (f *groupFinder) add(h, at uint64, key []byte) int32 {
	f.slab = append(f.slab, key...)
	f.ends = append(f.ends, int32(len(f.slab)))
	return f.table.add(h, at)
}

// keys returns the groups' keys, in the order they were found.
func (f *groupFinder) keys() []string {
	if f.table.slots == nil {
		return f.few
	}
	all := string(f.slab)
	f.list = fitLen(f.list, len(f.ends))
	out := f.list
	start := int32(0)
	for g, end := range f.ends {
		out[g] = all[start:end]
		start = end
	}
	return out
}

// firstPositions are the positions 0, 1, 2... of a batch's first
// changes, to be read and never written.
var firstPositions = [...]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// sortByGroup returns the changes (positions in the batch) of each of n
// groups, in their order in the batch: a stable counting sort into one
// backing array. A single group's changes are appended to one, which
// may be room on the caller's stack; a single group of a few changes,
// as a single change's step has, are the batch's first positions, which
// need no array of their own.
func sortByGroup(of []int32, n int, one [][]int32) [][]int32 {
	if n == 1 {
		if len(of) <= len(firstPositions) {
			return append(one, firstPositions[:len(of):len(of)])
		}
		all := make([]int32, len(of))
		for i := range all {
			all[i] = int32(i)
		}
		return append(one, all)
	}
	return sortByGroupIn(of, make([]int32, n), make([]int32, len(of)), make([][]int32, n))
}

// sortByGroupIn is sortByGroup's counting sort for several groups, in
// the arrays sizes (one per group, zeroed), all (one per change) and
// parts (one per group).
func sortByGroupIn(of, sizes, all []int32, parts [][]int32) [][]int32 {
	for _, g := range of {
		sizes[g]++
	}
	out, next := layOutIn(parts, all, sizes), sizes
	for i, g := range of {
		all[next[g]] = int32(i)
		next[g]++
	}
	return out
}

// layOut cuts all into one part per group, of the sizes given, in group
// order, each part's capacity its length, and turns sizes into where
// each part starts in all: where its first item goes, for the caller to
// advance as it fills the part.
func layOut[T any](all []T, sizes []int32) [][]T {
	return layOutIn(make([][]T, len(sizes)), all, sizes)
}

// layOutIn is layOut into parts, of one per group.
func layOutIn[T any](parts [][]T, all []T, sizes []int32) [][]T {
	var start int32
	for g, size := range sizes {
		parts[g] = all[start : start+size : start+size]
		sizes[g] = start
		start += size
	}
	return parts
}

// evalAggArgs evaluates, for one input row, what each aggregate adds to
// its state, into args, of one element per aggregate: its argument's
// value, or for an ordered aggregate the row's item (order keys,
// argument, separator). An aggregate that scaled marks takes its
// argument as a coefficient in small when its ScaledFunc can read it
// (leaving args' element nil), else as a value as the others do.
func evalAggArgs(op *ir.Aggregate, row zset.Row, args []any, scaled []bool, small []smallArg) error {
	for i := range op.Aggs {
		a := &op.Aggs[i] // not a copy: 120 bytes, for every row
		if a.Arg == nil {
			continue
		}
		if scaled != nil && scaled[i] {
			if c, exp, ok := a.Arg.Scaled(row); ok {
				small[i] = smallArg{c, exp, true}
				continue
			}
		}
		v, err := a.Arg.Eval(row)
		if err != nil {
			return err
		}
		if !a.Ordered() {
			args[i] = v
			continue
		}
		item := make([]any, 0, len(a.OrderBy)+2)
		for _, k := range a.OrderBy {
			kv, err := k.Key.Eval(row)
			if err != nil {
				return err
			}
			item = append(item, kv)
		}
		item = append(item, v)
		if a.Sep != nil {
			sep, err := a.Sep.Eval(row)
			if err != nil {
				return err
			}
			item = append(item, sep)
		}
		args[i] = item
	}
	return nil
}

// boundAggs is an Aggregate node's aggregators and which of them take
// their arguments as coefficients (scaledArgs).
type boundAggs struct {
	impls  []stdlib.Aggregator
	scaled []bool
	// Each aggregator's Shape, and the aggregator as a stdlib.Presummed
	// (nil when it is not one), asked once rather than per group.
	shapes    []stdlib.Shape
	presummed []stdlib.Presummed
	// rooms keeps the node's batches' scratch (aggRoom) from step to
	// step; a pool, since the node's partitions run side by side.
	rooms *sync.Pool
}

// aggregators returns the aggregators of an Aggregate node, bound on
// first use and kept: an Aggregator holds nothing of a step's.
func (e *Engine) aggregators(op *ir.Aggregate) (boundAggs, error) {
	if b, ok := e.aggs[op]; ok {
		return b, nil
	}
	impls, err := bindAggs(op)
	if err != nil {
		return boundAggs{}, err
	}
	if e.aggs == nil {
		e.aggs = map[*ir.Aggregate]boundAggs{}
	}
	b := boundAggs{impls: impls, scaled: scaledArgs(op, impls), rooms: &sync.Pool{},
		shapes: make([]stdlib.Shape, len(impls)), presummed: make([]stdlib.Presummed, len(impls))}
	for i, impl := range impls {
		b.shapes[i] = impl.Shape()
		b.presummed[i], _ = impl.(stdlib.Presummed)
	}
	e.aggs[op] = b
	return b, nil
}

// bindAggs returns the aggregator of each of the node's aggregates.
func bindAggs(op *ir.Aggregate) ([]stdlib.Aggregator, error) {
	out := make([]stdlib.Aggregator, len(op.Aggs))
	for i, a := range op.Aggs {
		impl, err := a.Aggregator()
		if err != nil {
			return nil, err
		}
		out[i] = impl
	}
	return out, nil
}

// newGroupState returns the state of a group with no rows: each
// aggregate's initial linear state and the multiset its shape asks for.
func newGroupState(key zset.Row, op *ir.Aggregate, impls []stdlib.Aggregator) *GroupState {
	st := newGroupStateOf(len(op.Aggs))
	st.Key = key
	for i := range op.Aggs {
		a := &op.Aggs[i]
		acc := &st.Accs[i]
		acc.Sum = impls[i].Init()
		switch impls[i].Shape() {
		case stdlib.ByItem:
			order := &MultisetOrder{Ordered: true}
			for _, k := range a.OrderBy {
				order.Desc = append(order.Desc, k.Desc)
			}
			acc.Values, acc.Order = NewItemMultiset(order.Desc), order
		case stdlib.BySpelling:
			acc.Values, acc.Order = NewSpelledMultiset(), &MultisetOrder{Spelled: true}
		case stdlib.ByValue:
			acc.Values = NewMultiset()
		}
	}
	return st
}

// addAll adds a group's changes cs, in order, each to the multiset of an
// aggregate that keeps one, else to its linear state, in sums, the
// batch's scratch. The numeric arguments of a sum or avg (a
// stdlib.Presummed) whose coefficients are small are summed exactly in
// int64, by scale, and added with one AddSum per scale: the state
// Presummed promises is the one Add gives row by row, without a decimal
// allocated per row.
func (st *GroupState) addAll(op *ir.Aggregate, bound *boundAggs, gc *groupChanges, cs []int32, sums *decimalSums) {
	for _, c := range cs {
		st.Count += gc.weight(c)
	}
	for i := range op.Aggs {
		a := &op.Aggs[i]
		if a.Arg == nil {
			continue
		}
		acc := &st.Accs[i]
		impl := bound.impls[i]
		switch bound.shapes[i] {
		case stdlib.ByItem:
			for _, c := range cs {
				v := gc.arg(c, i)
				if v == nil {
					continue
				}
				if item := v.([]any); item[len(a.OrderBy)] != nil {
					acc.NonNull += gc.weight(c)
				} else if !impl.KeepsNull() {
					continue
				}
				addToMultiset(acc.Values, v, gc.weight(c))
			}
		case stdlib.ByValue, stdlib.BySpelling:
			for _, c := range cs {
				v := gc.arg(c, i)
				if v == nil {
					continue
				}
				acc.NonNull += gc.weight(c)
				addToMultiset(acc.Values, v, gc.weight(c))
			}
		default:
			presummed := bound.presummed[i]
			// The batch's one Linear: handed to an interface, it is
			// on the heap, so not one per group.
			lin := &sums.lin
			*lin = acc.linear()
			if presummed != nil {
				sums.reset()
			}
			for _, c := range cs {
				v := gc.arg(c, i)
				if len(gc.small) != 0 {
					if x := gc.small[int(c)*gc.n+i]; x.ok {
						lin.N += gc.weight(c)
						if presummed != nil && sums.addCoef(x.coef, x.exp, gc.weight(c)) {
							continue
						}
						impl.Add(lin, decimal.New(x.coef, x.exp), gc.weight(c))
						continue
					}
				}
				if v == nil {
					continue
				}
				lin.N += gc.weight(c)
				if presummed != nil {
					if x, ok := v.(decimal.Decimal); ok && sums.add(x, gc.weight(c)) {
						continue
					}
				}
				impl.Add(lin, v, gc.weight(c))
			}
			if presummed != nil {
				sums.flush(lin, presummed)
			}
			acc.NonNull, acc.Sum, acc.Scales = lin.N, lin.Sum, lin.Scales
		}
	}
}

// decimalSums sums numerics of small coefficients exactly, in int64, one
// sum per exponent, with the total weight of the values summed. It
// keeps a few exponents in arrays, so that it allocates nothing: the
// values of a column mostly share one scale, and a value of a fifth
// exponent is added as a decimal instead.
type decimalSums struct {
	// lin is the linear state being added to, one for the batch.
	lin     stdlib.Linear
	n       int // the exponents in use
	exps    [4]int32
	coefs   [4]int64
	weights [4]int64
}

func (s *decimalSums) reset() { s.n = 0 }

// add adds w copies of x, reporting false (adding nothing) when x's
// coefficient, or the sum, would not fit in an int64.
func (s *decimalSums) add(x decimal.Decimal, w int64) bool {
	c, ok := types.SmallCoefficient(x)
	return ok && s.addCoef(c, x.Exponent(), w)
}

// addCoef is add of coef × 10^exp.
func (s *decimalSums) addCoef(coef int64, exp int32, w int64) bool {
	c, ok := types.MulInt64(coef, w)
	if !ok {
		return false
	}
	for i, e := range s.exps[:s.n] {
		if e != exp {
			continue
		}
		sum, ok := types.AddInt64(s.coefs[i], c)
		if !ok {
			return false
		}
		s.coefs[i] = sum
		s.weights[i] += w
		return true
	}
	if s.n == len(s.exps) {
		return false
	}
	s.exps[s.n], s.coefs[s.n], s.weights[s.n] = exp, c, w
	s.n++
	return true
}

// flush adds the sums to lin, one AddSum per exponent.
func (s *decimalSums) flush(lin *stdlib.Linear, p stdlib.Presummed) {
	for i, exp := range s.exps[:s.n] {
		p.AddSumCoef(lin, s.coefs[i], exp, s.weights[i])
	}
	s.reset()
}

// linear returns the accumulator's linear state.
func (acc *Accumulator) linear() stdlib.Linear {
	return stdlib.Linear{N: acc.NonNull, Sum: acc.Sum, Scales: acc.Scales}
}

// addToMultiset adds w copies of v to a multiset, removing v when its
// count reaches zero.
func addToMultiset(m *btree.BTreeG[ValueCount], v any, w int64) {
	item, found := m.Get(ValueCount{Value: v})
	if !found {
		item = ValueCount{Value: v}
	}
	item.Count += w
	if item.Count == 0 {
		m.Delete(item)
	} else {
		m.ReplaceOrInsert(item)
	}
}

// rowOf returns the output row of a group: key values then aggregate
// values; nil when the group has no rows.
func rowOf(st *GroupState, op *ir.Aggregate, impls []stdlib.Aggregator) zset.Row {
	if st == nil {
		return nil
	}
	return rowWithKey(st.Key, st, op, impls)
}

// rowWithKey is rowOf(st) given the values of its key, which may be
// another row's of the group; nil when the group has no rows.
func rowWithKey(key zset.Row, st *GroupState, op *ir.Aggregate, impls []stdlib.Aggregator) zset.Row {
	if st.Count == 0 {
		return nil
	}
	row := make(zset.Row, 0, len(key)+len(op.Aggs))
	for _, v := range key {
		// One at a time: a key is a value or two, for which a copy's
		// call costs more than the values.
		row = append(row, v)
	}
	for i := range op.Aggs {
		acc := &st.Accs[i]
		var m stdlib.Multiset
		if acc.Values != nil {
			m = treeMultiset{acc.Values}
		}
		row = append(row, impls[i].Result(acc.linear(), m, st.Count))
	}
	return row
}

// sameSlice reports whether a and b are one slice: the same elements,
// not merely equal ones.
func sameSlice(a, b zset.Row) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// outputRow is rowOf(st), computed once for each state: a group the
// step leaves alone keeps its row for the step that next changes it.
func (st *GroupState) outputRow(op *ir.Aggregate, impls []stdlib.Aggregator) zset.Row {
	if st == nil {
		return nil
	}
	if st.row == nil {
		row := rowOf(st, op, impls)
		st.cacheRow(row)
		return row
	}
	return unsafe.Slice(st.row, len(st.Key)+len(op.Aggs))
}

// cacheRow keeps row as the state's output row (see GroupState.row).
func (st *GroupState) cacheRow(row zset.Row) {
	if len(row) > 0 {
		st.row = unsafe.SliceData(row)
	}
}

// treeMultiset shows a group's B-tree multiset to its aggregator.
type treeMultiset struct{ t *btree.BTreeG[ValueCount] }

func (m treeMultiset) Len() int { return m.t.Len() }

func (m treeMultiset) Ascend(yield func(v any, n int64) bool) {
	m.t.Ascend(func(vc ValueCount) bool { return yield(vc.Value, vc.Count) })
}

func (m treeMultiset) Descend(yield func(v any, n int64) bool) {
	m.t.Descend(func(vc ValueCount) bool { return yield(vc.Value, vc.Count) })
}

// spelledApart reports whether a key holds a numeric, whose equal values
// can be written differently (1.5, 1.50).
func spelledApart(key zset.Row) bool {
	for _, v := range key {
		switch x := v.(type) {
		case decimal.Decimal:
			return true
		case []any:
			if spelledApart(x) {
				return true
			}
		}
	}
	return false
}

// addForm counts w rows with the key spelled as key, and makes the
// group's key the first spelling present in order of written form.
func (st *GroupState) addForm(key zset.Row, w int64) {
	var forms []KeyForm
	if st.Forms != nil {
		forms = *st.Forms
	}
	id := types.RowKey(key)
	found := false
	for i := range forms {
		if types.RowKey(forms[i].Key) == id {
			forms[i].Count += w
			found = true
			break
		}
	}
	if !found {
		forms = append(forms, KeyForm{Key: key, Count: w})
	}
	kept := forms[:0]
	best := ""
	for _, f := range forms {
		if f.Count == 0 {
			continue
		}
		kept = append(kept, f)
		if fid := types.RowKey(f.Key); best == "" || fid < best {
			best, st.Key = fid, f.Key
		}
	}
	if st.Forms != nil {
		*st.Forms = kept // the state's own: a copy's are copied too (cloneForms)
	} else {
		st.Forms = &kept
	}
}
