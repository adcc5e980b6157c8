package runtime

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"unsafe"

	"github.com/google/btree"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Store keeps the state of a circuit's stateful operators. A step reads
// through it in batches (one call per operator, never per row, so a
// database-backed store makes one round trip per index) and writes all
// its changes at commit.
type Store interface {
	// Index returns the state of the Integrate node with the given ID.
	Index(id int) Index
	// Groups returns the state of the Aggregate node with the given ID.
	Groups(id int) Groups
	// Ordered returns the state of the OrderedIntegrate node with the
	// given ID.
	Ordered(id int) OrderedIndex
}

// OrderedChange is one change to an ordered Z-set.
type OrderedChange struct {
	Key    []byte // types.OrderKey of the row's key value
	RowKey string // types.RowKey of the row
	Row    zset.Row
	Weight int64
}

// OrderedIndex is an integrated Z-set ordered by a key: the rows of a
// range of keys are read at once.
type OrderedIndex interface {
	// Range returns the rows whose key k has lo <= k <= hi, in byte order.
	Range(ctx context.Context, lo, hi []byte) ([]zset.Entry, error)
	// Update adds changes to the integral.
	Update(ctx context.Context, changes []OrderedChange) error
}

// KeyedChange is one change to an indexed Z-set.
type KeyedChange struct {
	Key    string // types.RowKey of the index key
	RowKey string // types.RowKey of the row
	Row    zset.Row
	Weight int64
}

// Index is an integrated Z-set indexed by a key.
type Index interface {
	// Lookup returns, for each key, the rows integrated under it. The
	// caller must not change the slices returned, which may be the
	// store's own, nor keep them past the next Update.
	Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error)
	// Update adds changes to the integral.
	Update(ctx context.Context, changes []KeyedChange) error
}

// Groups is the per-group state of an aggregate.
type Groups interface {
	// Get returns the state of each group, nil for a group with no rows.
	Get(ctx context.Context, keys []string) ([]*GroupState, error)
	// Put replaces the state of each group; a state with Count zero
	// removes the group.
	Put(ctx context.Context, keys []string, states []*GroupState) error
}

// GroupState is what an aggregate, or a top-k, keeps for one group.
type GroupState struct {
	Key   zset.Row
	Count int64 // total weight of the group's rows
	Accs  []Accumulator
	// Ranked is a top-k group's rows in their order; nil for an
	// aggregate.
	Ranked *Ranking
	// Forms counts the spellings of a key that holds numerics (1.5 and
	// 1.50 are one group), so that the group shows the first spelling
	// present in order of written form whatever came and went; nil for
	// keys without numerics. A pointer, not the slice, so that the
	// states of other keys, most groups, fit a smaller allocation.
	Forms *[]KeyForm
	// row caches the group's output row (rowOf), so that the step that
	// next changes the group retracts it without computing it again: a
	// pointer to its first column (the row has the group's key and one
	// column per aggregate), nil until computed, which keeps the state
	// in a smaller allocation than the row's slice would. It is kept
	// only in memory: whatever changes the state in place clears it.
	row *any
}

// KeyForm is one spelling of a group's key and how many rows have it.
type KeyForm struct {
	Key   zset.Row
	Count int64
}

// Accumulator is the state of one aggregate function in one group, as
// stored: its linear part (NonNull, Sum, Scales: a stdlib.Linear) and the
// multiset its stdlib.Aggregator's Shape asks for. The aggregator decides
// what Sum holds; the store only encodes it.
type Accumulator struct {
	NonNull int64 // total weight of rows whose argument is not NULL
	// Sum is the aggregator's running state: for sum and avg an int64,
	// decimal.Decimal or float64 sum; for bool_and and bool_or, the int64
	// weight of the rows whose argument is true; for stddev and variance
	// the decimal sums of x and x², as a list.
	Sum any
	// Scales counts the numeric arguments by their scale (index), so that
	// a sum shows the scale Postgres would give it from the rows present
	// now (the largest of theirs), whatever rows came and went before.
	Scales []int64
	// Values is an ordered multiset: for min, max and count(distinct),
	// of argument values, equal values (1.5, 1.50) counted together; for
	// the ordered aggregates, of items (see Ordered).
	Values *btree.BTreeG[ValueCount]
	// Order says how Values orders them, for the multisets that are not
	// of plain values ordered by value; nil for the others and for
	// aggregates without one. (A pointer, not the fields, so that a
	// group of a sum and a count fits a smaller allocation.)
	Order *MultisetOrder
}

// MultisetOrder says how an accumulator's multiset orders its values.
type MultisetOrder struct {
	// Ordered marks Values as a multiset of items, one per row of
	// array_agg, string_agg, first or last: the row's order keys, then
	// its argument, then (string_agg) its separator. Items are ordered
	// by the keys, each descending where Desc says so, then by the rest
	// ascending, NULL after every value; items equal by all of that but
	// spelled differently (1.5, 1.50) by their spelling.
	Ordered bool
	// Desc says which order keys of Ordered's items are descending.
	Desc []bool
	// Spelled marks Values, of min or max, as telling equal values
	// spelled differently (1.5, 1.50) apart, so that the result is the
	// first spelling present in written order, as a run from scratch
	// gives, whatever rows came and went.
	Spelled bool
}

// ValueCount is a value of an ordered multiset with its multiplicity.
type ValueCount struct {
	Value any
	Count int64
}

func lessValueCount(a, b ValueCount) bool { return types.Compare(a.Value, b.Value) < 0 }

// newBTree returns an empty B-tree of the degree that orders its items by
// less and keeps no node it frees for reuse. btree.NewG gives each tree a
// free list with room for 32 nodes, 256 bytes before any node is freed:
// a program keeps a tree per group (a top-k's ranking, a min's
// multiset), most groups fit a node or two, and their trees seldom free
// one, which the collector then takes back.
func newBTree[T any](degree int, less btree.LessFunc[T]) *btree.BTreeG[T] {
	return btree.NewWithFreeListG(degree, less, btree.NewFreeListG[T](0))
}

// NewMultiset returns an empty multiset of values ordered by value.
func NewMultiset() *btree.BTreeG[ValueCount] {
	return newBTree(16, lessValueCount)
}

// NewSpelledMultiset returns an empty multiset of values ordered by
// value, and equal values by their written form.
func NewSpelledMultiset() *btree.BTreeG[ValueCount] {
	return newBTree(16, func(a, b ValueCount) bool {
		if c := types.Compare(a.Value, b.Value); c != 0 {
			return c < 0
		}
		return types.RowKey([]any{a.Value}) < types.RowKey([]any{b.Value})
	})
}

// NewItemMultiset returns an empty multiset of ordered-aggregate items
// ([order keys..., value, ...]) whose order keys go in the directions
// desc gives (true for descending).
func NewItemMultiset(desc []bool) *btree.BTreeG[ValueCount] {
	return newBTree(16, func(a, b ValueCount) bool {
		return CompareItems(a.Value.([]any), b.Value.([]any), desc) < 0
	})
}

// CompareItems orders two ordered-aggregate items: by each order key, in
// its direction, then by the rest ascending, NULL after every value (so
// first in a descending key, as in Postgres); then, items being equal by
// value, by their spelling, so that the order is total.
func CompareItems(a, b []any, desc []bool) int {
	for i := range a {
		c := types.CompareNullsLast(a[i], b[i])
		if i < len(desc) && desc[i] {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(types.RowKey(a), types.RowKey(b))
}

// groupWithAccs is a group's state with room for the accumulators of up
// to two aggregates, allocated together.
type groupWithAccs struct {
	GroupState
	accs [2]Accumulator
}

// newGroupStateOf returns an empty state with n accumulators, in one
// allocation when n is small.
func newGroupStateOf(n int) *GroupState {
	if n <= 2 {
		b := &groupWithAccs{}
		b.Accs = b.accs[:n:n]
		return &b.GroupState
	}
	return &GroupState{Accs: make([]Accumulator, n)}
}

// clone copies the state so that a step can change it without touching
// the committed version (the B-tree copies lazily, on write).
func (g *GroupState) clone() *GroupState {
	c := newGroupStateOf(len(g.Accs))
	c.Key, c.Count = g.Key, g.Count
	copy(c.Accs, g.Accs)
	for i := range c.Accs {
		c.Accs[i].Scales = append([]int64(nil), c.Accs[i].Scales...)
		if c.Accs[i].Values != nil {
			c.Accs[i].Values = c.Accs[i].Values.Clone()
		}
	}
	if g.Ranked != nil {
		c.Ranked = &Ranking{Desc: g.Ranked.Desc, Rows: g.Ranked.Rows.Clone()}
	}
	c.Forms = cloneForms(g.Forms)
	return c
}

// cloneForms returns a copy of a state's Forms that the copy can change
// without touching the original.
func cloneForms(f *[]KeyForm) *[]KeyForm {
	if f == nil {
		return nil
	}
	c := slices.Clone(*f)
	return &c
}

// groupSlab holds the step's copies of the groups a batch changes: the
// states, their accumulators and their scale counts, each in one array,
// so that a batch makes no object per group. The copies live only until
// the step commits, when takeFrom copies each back into the state it
// was made from: nothing of a slab outlives its step, so its arrays can
// serve the aggregate's next batch (aggRoom), and one long-lived group
// cannot hold a batch's worth of memory.
type groupSlab struct {
	states []GroupState
	accs   []Accumulator
	scales []int64
}

// slabSizes counts the states olds that are not nil, their accumulators
// and their scale counts: what a slab of copies of them holds.
func slabSizes(olds []*GroupState) (n, accs, scales int) {
	for _, g := range olds {
		if g == nil {
			continue
		}
		n++
		accs += len(g.Accs)
		for _, a := range g.Accs {
			scales += len(a.Scales)
		}
	}
	return n, accs, scales
}

// fit empties the slab and gives it room for n states, accs
// accumulators and scales scale counts, in the arrays it has when they
// are big enough.
func (s *groupSlab) fit(n, accs, scales int) {
	s.states, s.accs, s.scales = fitLen(s.states, n)[:0], fitLen(s.accs, accs)[:0], fitLen(s.scales, scales)[:0]
}

// release drops what the slab's copies refer to, so that a slab kept
// for another batch keeps nothing of this one's alive.
func (s *groupSlab) release() {
	clear(s.states)
	clear(s.accs)
	s.states, s.accs, s.scales = s.states[:0], s.accs[:0], s.scales[:0]
}

// clone is GroupState.clone into the slab, which fit sized for g.
func (s *groupSlab) clone(g *GroupState) *GroupState {
	s.states = append(s.states, GroupState{Key: g.Key, Count: g.Count, Forms: cloneForms(g.Forms)})
	c := &s.states[len(s.states)-1]
	start := len(s.accs)
	s.accs = append(s.accs, g.Accs...)
	c.Accs = s.accs[start:len(s.accs):len(s.accs)]
	for i := range c.Accs {
		a := &c.Accs[i]
		if a.Scales != nil {
			start := len(s.scales)
			s.scales = append(s.scales, a.Scales...)
			a.Scales = s.scales[start:len(s.scales):len(s.scales)]
		}
		if a.Values != nil {
			a.Values = a.Values.Clone()
		}
	}
	if g.Ranked != nil {
		c.Ranked = &Ranking{Desc: g.Ranked.Desc, Rows: g.Ranked.Rows.Clone()}
	}
	return c
}

// takeFrom makes g the state c, a copy of g a step changed, keeping
// g's own arrays of accumulators and scale counts, so that nothing of a
// groupSlab outlives its step.
func (g *GroupState) takeFrom(c *GroupState) {
	g.Key, g.Count, g.Ranked, g.Forms, g.row = c.Key, c.Count, c.Ranked, c.Forms, c.row
	for i := range g.Accs {
		scales := g.Accs[i].Scales
		if n := len(c.Accs[i].Scales); c.Accs[i].Scales == nil {
			scales = nil
		} else if cap(scales) >= n {
			scales = scales[:n]
			copy(scales, c.Accs[i].Scales)
		} else {
			scales = slices.Clone(c.Accs[i].Scales)
		}
		g.Accs[i] = c.Accs[i]
		g.Accs[i].Scales = scales
	}
}

// MemoryStore keeps operator state in memory. It is safe for use by one
// engine at a time.
type MemoryStore struct {
	indexes map[int]*memIndex
	groups  map[int]*memGroups
	ordered map[int]*memOrdered
	// parts, when an engine splits the state over workers
	// (Options.Workers), are the partitions that keep the indexes and
	// groups, each key in one (see split); indexes and groups are then
	// empty, and Index and Groups route each key to its partition.
	parts         []*MemoryStore
	routedIndexes map[int]*partIndex
	routedGroups  map[int]*partGroups
	// crew runs the partitions' work side by side; nil with none.
	crew *crew
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{indexes: map[int]*memIndex{}, groups: map[int]*memGroups{}, ordered: map[int]*memOrdered{}}
}

// Ordered returns the in-memory ordered index of node id.
func (s *MemoryStore) Ordered(id int) OrderedIndex {
	o, ok := s.ordered[id]
	if !ok {
		o = &memOrdered{tree: newBTree(16, lessOrdered)}
		s.ordered[id] = o
	}
	return o
}

// orderedEntry is a row of an ordered index with its weight, placed by
// its key and, among equal keys, its row key.
type orderedEntry struct {
	key, rowKey string
	zset.Entry
}

func lessOrdered(a, b orderedEntry) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.rowKey < b.rowKey
}

// memOrdered is an ordered index in a B-tree.
type memOrdered struct {
	tree *btree.BTreeG[orderedEntry]
}

func (o *memOrdered) Range(_ context.Context, lo, hi []byte) ([]zset.Entry, error) {
	var out []zset.Entry
	o.tree.AscendGreaterOrEqual(orderedEntry{key: string(lo)}, func(e orderedEntry) bool {
		if e.key > string(hi) {
			return false
		}
		out = append(out, e.Entry)
		return true
	})
	return out, nil
}

func (o *memOrdered) Update(_ context.Context, changes []OrderedChange) error {
	for _, c := range changes {
		probe := orderedEntry{key: string(c.Key), rowKey: c.RowKey}
		e, ok := o.tree.Get(probe)
		if !ok {
			e = probe
			e.Row = c.Row
		}
		e.Weight += c.Weight
		if e.Weight == 0 {
			o.tree.Delete(probe)
			continue
		}
		o.tree.ReplaceOrInsert(e)
	}
	return nil
}

// Index returns the in-memory index of node id, creating it on first use.
func (s *MemoryStore) Index(id int) Index {
	if s.parts != nil {
		return s.routedIndex(id)
	}
	ix, ok := s.indexes[id]
	if !ok {
		ix = &memIndex{buckets: map[string]*memBucket{}}
		s.indexes[id] = ix
	}
	return ix
}

// Groups returns the in-memory group state of node id.
func (s *MemoryStore) Groups(id int) Groups {
	if s.parts != nil {
		return s.routedGroup(id)
	}
	g, ok := s.groups[id]
	if !ok {
		g = newMemGroups()
		s.groups[id] = g
	}
	return g
}

// memIndex maps an index key to the rows under it. It keeps a hash of
// each row's row key (types.RowKey), which a change may leave empty: the
// index then encodes the row itself.
type memIndex struct {
	buckets map[string]*memBucket
	free    []memBucket // room for the next buckets made (see put)
}

// rowSeed hashes row keys; the hashes live only in memory.
var rowSeed = maphash.MakeSeed()

// memBucket is the rows under one index key. A bucket of one row, as
// many keys have, keeps it as an entry, which Lookup hands out as it is.
// A bucket that has held two keeps, for each row, a pointer to its first
// column (the rows of an index all have its input's columns) beside 32
// bits of the hash of its row key, two rows to an element of one array:
// 12 bytes a row, one object that grows, where an entry and a hash took
// 40 bytes in two. Its weights are kept only once one is not 1, as in an
// index of a table's rows none is; Lookup makes the entries. Once the
// bucket holds more than bucketScan rows, a map from the full hash to
// position finds its rows. The row keys themselves are not kept: rows
// whose keys share a hash are told apart by encoding the rows again.
// The index of a keyed table's rows (Engine.insertsFresh) files them
// without hashing them while it scans, and finds one that leaves by its
// place in memory (addFresh, addStored): hashing rows' encodings was 4%
// of the CPU of loading the shop's line items.
type memBucket struct {
	// first is the bucket's row while rows is nil: a key of one row
	// costs one object, the bucket, and its lookup makes nothing.
	first    [1]zset.Entry
	firstTag uint32
	width    int32 // the columns of every row in rows
	n        int32 // the number of rows
	// unhashed says that rows were filed without hashing them
	// (addFresh), with the tag 0: find then looks for a row by its
	// place in memory first, and compares those rows with it by
	// encoding them.
	unhashed bool
	// rows holds the rows once the bucket has held two: row i in
	// rows[i/2] at i%2, a place past n empty.
	rows []rowPair
	// more holds what few buckets need: nil while every weight is 1
	// and the rows are few enough to scan.
	more *bucketMore
}

// rowPair is two rows of a bucket: each a pointer to its first column
// and the tag of its row key's hash (tagOf). Two to an element, so that
// the tags fill the room a pointer would leave after one.
type rowPair struct {
	cols [2]*any
	tags [2]uint32
}

// bucketMore is the part of a bucket that few buckets need.
type bucketMore struct {
	// weights holds the rows' weights, by position; nil while every
	// weight is 1.
	weights []int64
	// at, hashes and same find the rows of a bucket of many; nil while
	// they are few enough to scan by their tags.
	at map[uint64]int32
	// hashes is the full hash of each row, by position, for at.
	hashes []uint64
	// same holds the positions of rows whose hash a row in at has too:
	// found by scanning, almost always empty.
	same []int32
}

// bucketScan is the most rows a bucket finds a row among without a map,
// by scanning its tags: half a kilobyte read in order, cheaper than the
// cache misses of a map lookup, and no map to keep.
const bucketScan = 128

// bucketRowHash is the hash with rowSeed of a row's row key, for the
// rows of a bucket whose full hashes it did not keep, as it makes its
// map; a test makes hashes collide through it.
var bucketRowHash = func(row zset.Row) uint64 {
	var tmp [128]byte
	h, _ := hashRowKey(tmp[:0], "", row)
	return h
}

// len returns the number of rows.
func (b *memBucket) len() int { return int(b.n) }

// row returns row i; its capacity is its length.
func (b *memBucket) row(i int) zset.Row {
	if b.rows == nil {
		return b.first[0].Row
	}
	return unsafe.Slice(b.rows[i>>1].cols[i&1], b.width)
}

// weight returns the weight of row i.
func (b *memBucket) weight(i int) int64 {
	if b.rows == nil {
		return b.first[0].Weight
	}
	if b.more == nil || b.more.weights == nil {
		return 1
	}
	return b.more.weights[i]
}

// entry returns row i with its weight.
func (b *memBucket) entry(i int) zset.Entry { return zset.Entry{Row: b.row(i), Weight: b.weight(i)} }

// setWeight makes w, not zero, the weight of row i.
func (b *memBucket) setWeight(i int, w int64) {
	if b.rows == nil {
		b.first[0].Weight = w
		return
	}
	if b.more == nil || b.more.weights == nil {
		if w == 1 {
			return
		}
		b.weighAll()
	}
	b.more.weights[i] = w
}

// weighAll makes the weights of the rows, all 1, so that one can be
// other.
func (b *memBucket) weighAll() {
	if b.more == nil {
		b.more = &bucketMore{}
	}
	ws := make([]int64, b.n, 2*cap(b.rows))
	for i := range ws {
		ws[i] = 1
	}
	b.more.weights = ws
}

// cols returns a pointer to row's first column, which is what the bucket
// keeps of it: a bucket's rows all have the columns of its first.
func (b *memBucket) cols(row zset.Row) *any {
	if len(row) != int(b.width) {
		panic(fmt.Sprintf("runtime: a row of %d columns in an index of rows of %d", len(row), b.width))
	}
	return unsafe.SliceData(row)
}

// find returns the position of row, whose row key hashes to h, or -1;
// taken reports whether the map holds a row of hash h.
func (b *memBucket) find(h uint64, row zset.Row) (_ int, taken bool) {
	if b.more != nil && b.more.at != nil {
		m := b.more
		i, taken := m.at[h]
		if taken && types.SameRowKey(b.row(int(i)), row) {
			return int(i), true
		}
		for _, i := range m.same {
			if m.hashes[i] == h && types.SameRowKey(b.row(int(i)), row) {
				return int(i), taken
			}
		}
		return -1, taken
	}
	tag := tagOf(h)
	if b.unhashed {
		if i := b.stored(row); i >= 0 {
			return i, false
		}
	}
	if b.rows == nil {
		if b.n == 1 && b.tagMatches(b.firstTag, tag) && types.SameRowKey(b.first[0].Row, row) {
			return 0, false
		}
		return -1, false
	}
	for i := range int(b.n) {
		if p := &b.rows[i>>1]; b.tagMatches(p.tags[i&1], tag) && types.SameRowKey(unsafe.Slice(p.cols[i&1], b.width), row) {
			return i, false
		}
	}
	return -1, false
}

// tagMatches reports whether a row of tag t may be the row of tag tag:
// the same tag, or none (a row filed unhashed).
func (b *memBucket) tagMatches(t, tag uint32) bool { return t == tag || b.unhashed && t == 0 }

// stored returns the position of row itself, the row whose columns are
// row's own, or -1. A table's row retracted is the row the table kept
// and its index was given, so a bucket finds it without encoding
// anything; rows are never changed once filed, so the same columns are
// the same row.
func (b *memBucket) stored(row zset.Row) int {
	if len(row) == 0 {
		return -1
	}
	cols := unsafe.SliceData(row)
	if b.rows == nil {
		if b.n == 1 && len(b.first[0].Row) == len(row) && unsafe.SliceData(b.first[0].Row) == cols {
			return 0
		}
		return -1
	}
	if len(row) != int(b.width) {
		return -1
	}
	for i := range int(b.n) {
		if b.rows[i>>1].cols[i&1] == cols {
			return i
		}
	}
	return -1
}

// insert adds row with weight w, not zero, whose row key hashes to h;
// taken is what find said of h.
func (b *memBucket) insert(h uint64, row zset.Row, w int64, taken bool) {
	if b.rows == nil && b.n == 0 {
		b.first[0], b.firstTag, b.n = zset.Entry{Row: slices.Clip(row), Weight: w}, tagOf(h), 1
		return
	}
	if b.rows == nil {
		// A second row: the first moves into rows.
		f := b.first[0]
		b.width = int32(len(f.Row))
		b.rows = []rowPair{{cols: [2]*any{b.cols(f.Row)}, tags: [2]uint32{b.firstTag}}}
		b.first[0] = zset.Entry{}
		if f.Weight != 1 {
			b.weighAll()
			b.more.weights[0] = f.Weight
		}
	}
	i := int(b.n)
	if i&1 == 0 {
		b.rows = append(b.rows, rowPair{})
	}
	p := &b.rows[i>>1]
	p.cols[i&1], p.tags[i&1] = b.cols(row), tagOf(h)
	b.n++
	if m := b.more; m != nil && m.weights != nil {
		m.weights = append(m.weights, w)
	} else if w != 1 {
		b.weighAll()
		b.more.weights[i] = w
	}
	switch m := b.more; {
	case m != nil && m.at != nil:
		m.hashes = append(m.hashes, h)
		if taken {
			m.same = append(m.same, int32(i))
		} else {
			m.at[h] = int32(i)
		}
	case b.n > bucketScan:
		b.mapRows(h)
	}
}

// mapRows makes the map of a bucket grown past bucketScan rows, whose
// last row's row key hashes to h: the others' hashes are made again.
func (b *memBucket) mapRows(h uint64) {
	if b.more == nil {
		b.more = &bucketMore{}
	}
	m := b.more
	m.at, m.hashes = make(map[uint64]int32, 2*b.n), make([]uint64, b.n, 2*b.n)
	for i := range b.n - 1 {
		m.hashes[i] = bucketRowHash(b.row(int(i)))
	}
	m.hashes[b.n-1] = h
	for i, x := range m.hashes {
		b.place(x, int32(i))
	}
}

// place files position i, of hash h, in at, or in same when at has a
// row of that hash.
func (b *memBucket) place(h uint64, i int32) {
	m := b.more
	if _, taken := m.at[h]; taken {
		m.same = append(m.same, i)
	} else {
		m.at[h] = i
	}
}

// unplace removes position i, of hash h, from at or same; a row of the
// same hash in same takes its place in at.
func (b *memBucket) unplace(h uint64, i int32) {
	m := b.more
	if j, ok := m.at[h]; ok && j == i {
		delete(m.at, h)
		for k, s := range m.same {
			if m.hashes[s] == h {
				m.at[h] = s
				m.same = slices.Delete(m.same, k, k+1)
				break
			}
		}
		return
	}
	m.same = slices.DeleteFunc(m.same, func(s int32) bool { return s == i })
}

// remove removes the row at position i, moving the last row into its
// place. A bucket's arrays shrink as it loses most of its rows, and its
// map goes when it is down to half of bucketScan, so that a key that
// once held many rows does not keep their room.
func (b *memBucket) remove(i int) {
	if b.rows == nil {
		b.first[0], b.firstTag, b.n = zset.Entry{}, 0, 0
		return
	}
	last := int(b.n) - 1
	m := b.more
	mapped := m != nil && m.at != nil
	if mapped {
		b.unplace(m.hashes[i], int32(i))
		if i != last {
			b.unplace(m.hashes[last], int32(last))
		}
	}
	p, q := &b.rows[i>>1], &b.rows[last>>1]
	p.cols[i&1], p.tags[i&1] = q.cols[last&1], q.tags[last&1]
	q.cols[last&1], q.tags[last&1] = nil, 0
	b.n--
	if last&1 == 0 {
		b.rows = b.rows[:last>>1]
	}
	if m != nil && m.weights != nil {
		m.weights[i] = m.weights[last]
		m.weights = m.weights[:last]
	}
	if mapped {
		m.hashes[i] = m.hashes[last]
		m.hashes = m.hashes[:last]
		if i != last {
			b.place(m.hashes[i], int32(i))
		}
		if b.n <= bucketScan/2 {
			m.at, m.hashes, m.same = nil, nil, nil
			if m.weights == nil {
				b.more = nil
			}
		}
	}
	if cap(b.rows) >= 16 && 4*len(b.rows) <= cap(b.rows) {
		b.rows = slices.Clone(b.rows)
		if m != nil && m.weights != nil {
			m.weights = slices.Clone(m.weights)
		}
		if m != nil && m.hashes != nil {
			m.hashes = slices.Clone(m.hashes)
		}
	}
}

// appendEntries appends the bucket's rows, with their weights, to dst.
func (b *memBucket) appendEntries(dst []zset.Entry) []zset.Entry {
	if b.rows == nil {
		return append(dst, b.first[:b.n]...)
	}
	start := len(dst)
	dst = slices.Grow(dst, int(b.n))[:start+int(b.n)]
	out, width := dst[start:], int(b.width)
	for i := range out {
		out[i] = zset.Entry{Row: unsafe.Slice(b.rows[i>>1].cols[i&1], width), Weight: 1}
	}
	if b.more != nil && b.more.weights != nil {
		for i, w := range b.more.weights {
			out[i].Weight = w
		}
	}
	return dst
}

// Lookup returns each key's entries: a bucket of one row's own entry,
// not a copy, and the others' entries made in one array for the call.
// The caller reads them before the step commits, as every operator
// does, and never changes them. Their capacity is their length, so
// appending to one copies it.
func (ix *memIndex) Lookup(_ context.Context, keys []string) ([][]zset.Entry, error) {
	return lookupBuckets(keys, func(k string) *memBucket { return ix.buckets[k] }), nil
}

// lookupBuckets is Lookup over the buckets that find returns by key (nil
// for a key with none).
func lookupBuckets(keys []string, find func(string) *memBucket) [][]zset.Entry {
	out := make([][]zset.Entry, len(keys))
	// The buckets whose entries are made, by key: on the stack while
	// few.
	type made struct {
		i int
		b *memBucket
	}
	var few [4]made
	many, n := few[:0], 0
	for i, k := range keys {
		b := find(k)
		switch {
		case b == nil:
		case b.rows == nil:
			out[i] = b.first[:b.n:b.n]
		default:
			many = append(many, made{i, b})
			n += b.len()
		}
	}
	if n == 0 {
		return out
	}
	all := make([]zset.Entry, 0, n)
	for _, m := range many {
		start := len(all)
		all = m.b.appendEntries(all)
		out[m.i] = all[start:len(all):len(all)]
	}
	return out
}

func (ix *memIndex) Update(_ context.Context, changes []KeyedChange) error {
	u := memUpdate{ix: ix}
	var tmp [128]byte
	buf := tmp[:0] // on the stack, for a short row
	for _, c := range changes {
		buf = u.add(buf, c.Key, c.RowKey, c.Row, c.Weight)
	}
	return nil
}

// updateKeyed adds the changes d, the key of change i being
// keys[ends[i-1]:ends[i]] (from 0 for the first), as Update does: for a
// caller that has the batch's keys in one string, so that it need not
// make a KeyedChange of each change. With fresh (Engine.insertsFresh),
// a change of weight 1 is a row its bucket does not hold, and any other
// retracts a row the index was given itself.
func (ix *memIndex) updateKeyed(keys string, ends []int32, d []zset.Entry, fresh bool) {
	u := memUpdate{ix: ix}
	var tmp [128]byte
	buf := tmp[:0]
	start := int32(0)
	for i, e := range d {
		key := keys[start:ends[i]]
		switch {
		case !fresh:
			buf = u.add(buf, key, "", e.Row, e.Weight)
		case e.Weight == 1:
			buf = u.to(key).addFresh(buf, e.Row)
		default:
			buf = u.to(key).addStored(buf, e.Row, e.Weight)
			u.settle()
		}
		start = ends[i]
	}
}

// updateKeyedHashed is updateKeyed for a caller that has the hash of
// each change's row key with rowSeed already, hashes[i] of change i, as
// a fixpoint's overlay has of the rows it added to its view.
func (ix *memIndex) updateKeyedHashed(keys string, ends []int32, d []zset.Entry, hashes []uint64) {
	u := memUpdate{ix: ix}
	start := int32(0)
	for i, e := range d {
		u.to(keys[start:ends[i]]).addHashed(hashes[i], e.Row, e.Weight)
		u.settle()
		start = ends[i]
	}
}

// memUpdate is an update of a memory index in progress: the bucket of
// the last change's key, which the next change most often shares.
type memUpdate struct {
	ix   *memIndex
	b    *memBucket
	bkey string
}

// add adds w copies of row, whose row key is rk (or, when rk is empty,
// is encoded into buf, which add returns for reuse), under key.
func (u *memUpdate) add(buf []byte, key, rk string, row zset.Row, w int64) []byte {
	buf = u.to(key).add(buf, rk, row, w)
	u.settle()
	return buf
}

// to returns the bucket of key: the last change's when key is its.
func (u *memUpdate) to(key string) *memBucket {
	if u.b == nil || key != u.bkey {
		// Its own copy: a change's key may be part of a string of the
		// whole batch's keys.
		u.b, u.bkey = u.ix.bucket(key, false), key
	}
	return u.b
}

// settle drops the bucket of the last change from the index when that
// change took its last row.
func (u *memUpdate) settle() {
	if u.b.len() == 0 {
		delete(u.ix.buckets, u.bkey)
		u.b = nil
	}
}

// bucket returns the bucket of key, making it when it is new. own says
// that the index may keep key itself: a string made for it alone, not a
// part of a longer one, which the index copies.
func (ix *memIndex) bucket(key string, own bool) *memBucket {
	if b := ix.buckets[key]; b != nil {
		return b
	}
	if !own {
		key = strings.Clone(key)
	}
	return ix.put(key)
}

// put makes the bucket of key, which the index must not hold, and files
// it under key itself.
func (ix *memIndex) put(key string) *memBucket {
	if len(ix.free) == 0 {
		ix.free = make([]memBucket, bucketChunk)
	}
	b := &ix.free[0]
	ix.free = ix.free[1:]
	ix.buckets[key] = b
	return b
}

// bucketChunk is how many buckets an index allocates at once: a load
// that makes many keys makes few objects, and a bucket kept long keeps
// at most a chunk's worth of room alive with it.
const bucketChunk = 32

// add adds w copies of row, whose row key is rk (or, when rk is empty,
// is encoded into buf, which add returns for reuse), to the bucket. A
// row whose weight comes to zero is removed.
func (b *memBucket) add(buf []byte, rk string, row zset.Row, w int64) []byte {
	h, buf := hashRowKey(buf, rk, row)
	b.addHashed(h, row, w)
	return buf
}

// hashRowKey returns the hash with rowSeed of row's row key: of rk when
// it is given, else of the row's encoding, made in buf, which it returns
// for reuse (the same hash as of the string).
func hashRowKey(buf []byte, rk string, row zset.Row) (uint64, []byte) {
	if rk != "" {
		return maphash.String(rowSeed, rk), buf
	}
	buf = types.AppendRowKey(buf[:0], row)
	return maphash.Bytes(rowSeed, buf), buf
}

// addNew adds row, whose row key hashes to h, with weight 1, for a
// caller that knows the bucket does not hold it (Engine.insertsFresh):
// a bucket that finds its rows by scanning them need not scan.
func (b *memBucket) addNew(h uint64, row zset.Row) {
	if b.more != nil && b.more.at != nil {
		b.addHashed(h, row, 1) // the map must learn whether h is taken
		return
	}
	b.insert(h, row, 1, false)
}

// addFresh is addNew for a row not hashed yet: a bucket that scans its
// rows files it unhashed, with the tag 0, rather than encoding the row
// to hash it, since a table's row that leaves its index leaves as
// itself (addStored). A bucket with a map, or about to make one, hashes
// it, as the map must.
func (b *memBucket) addFresh(buf []byte, row zset.Row) []byte {
	if b.more != nil && b.more.at != nil || int(b.n) >= bucketScan {
		var h uint64
		h, buf = hashRowKey(buf, "", row)
		b.addNew(h, row)
		return buf
	}
	b.unhashed = true
	b.insert(unhashedRow, row, 1, false)
	return buf
}

// unhashedRow is the hash insert is given for a row filed unhashed: its
// tag is 0.
const unhashedRow = 0

// addStored is add for a row of a table that the bucket was given
// itself (Engine.insertsFresh): found by its place in memory, unencoded,
// when the bucket scans its rows, as add finds it otherwise.
func (b *memBucket) addStored(buf []byte, row zset.Row, w int64) []byte {
	if b.more == nil || b.more.at == nil {
		if i := b.stored(row); i >= 0 {
			b.reweigh(i, w)
			return buf
		}
	}
	return b.add(buf, "", row, w)
}

// addHashed is add for a caller that has the hash of the row's row key
// with rowSeed already, as a fixpoint's overlay keeps it.
func (b *memBucket) addHashed(h uint64, row zset.Row, w int64) {
	i, taken := b.find(h, row)
	if i < 0 {
		if w != 0 {
			b.insert(h, row, w, taken)
		}
		return
	}
	b.reweigh(i, w)
}

// reweigh adds w to the weight of row i, removing the row when that
// comes to zero.
func (b *memBucket) reweigh(i int, w int64) {
	if w = b.weight(i) + w; w == 0 {
		b.remove(i)
	} else {
		b.setWeight(i, w)
	}
}

// memGroups keeps an aggregate's or a top-k's groups by key. A key that
// is one int64's encoding, as a group by an int8 column has, is filed
// by the int64 itself: the map then neither hashes nor compares a
// string, nor reads its bytes from memory of their own, and keeps no
// copy of it.
type memGroups struct {
	m    map[string]*GroupState
	ints map[int64]*GroupState
}

// newMemGroups returns an empty memGroups.
func newMemGroups() *memGroups {
	return &memGroups{m: map[string]*GroupState{}, ints: map[int64]*GroupState{}}
}

// intKeyTag is the first byte of an int64's encoding (types.AppendKey),
// whose other eight are the int64's, little-endian.
var intKeyTag = types.AppendKey(nil, int64(0))[0]

// intKey returns the int64 that key encodes, when it is one. Any string
// of nine bytes that starts with intKeyTag is taken, whatever the caller
// meant by it, so that every key is filed under one map and found there.
func intKey(key string) (int64, bool) {
	if len(key) != 9 || key[0] != intKeyTag {
		return 0, false
	}
	k := key[1:9]
	return int64(uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
		uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56), true
}

// get returns the state filed under key, or nil.
func (g *memGroups) get(key string) *GroupState {
	if x, ok := intKey(key); ok {
		return g.ints[x]
	}
	return g.m[key]
}

// put files st under key, as it is: the caller makes sure that key is
// not a part of a string it would keep alive.
func (g *memGroups) put(key string, st *GroupState) {
	if x, ok := intKey(key); ok {
		g.ints[x] = st
		return
	}
	g.m[key] = st
}

// len returns how many groups there are.
func (g *memGroups) len() int { return len(g.m) + len(g.ints) }

// all yields every group with its key, in no particular order; the
// yield may delete the group it is given.
func (g *memGroups) all(yield func(key string, st *GroupState) bool) {
	for k, st := range g.m {
		if !yield(k, st) {
			return
		}
	}
	for x, st := range g.ints {
		if !yield(string(types.AppendKey(nil, x)), st) {
			return
		}
	}
}

// states calls f with each group's state, without its key.
func (g *memGroups) states(f func(*GroupState)) {
	for _, st := range g.m {
		f(st)
	}
	for _, st := range g.ints {
		f(st)
	}
}

func (g *memGroups) Get(_ context.Context, keys []string) ([]*GroupState, error) {
	return g.getInto(make([]*GroupState, len(keys)), keys), nil
}

// getInto is Get into out, of one element per key, which it returns.
func (g *memGroups) getInto(out []*GroupState, keys []string) []*GroupState {
	for i, k := range keys {
		out[i] = g.get(k)
	}
	return out
}

// Put files states under keys. The keys may be substrings of one string
// of a whole batch (an aggregate's): a state changed in place is left
// filed under the key it has, and a new one is filed under a copy of its
// key, so that no batch's string is kept for a key of it. (Assigning to
// a key a map holds replaces the key it keeps.)
func (g *memGroups) Put(_ context.Context, keys []string, states []*GroupState) error {
	for i, k := range keys {
		st := states[i]
		if x, ok := intKey(k); ok {
			if st == nil || st.Count == 0 {
				delete(g.ints, x)
			} else {
				g.ints[x] = st
			}
			continue
		}
		if st == nil || st.Count == 0 {
			delete(g.m, k)
			continue
		}
		if cur, ok := g.m[k]; ok && cur == st {
			continue
		}
		g.m[strings.Clone(k)] = st
	}
	return nil
}

// keptInParts frees state in each partition of a split store and returns
// how many entries they keep in all. A partition, in memory, cannot fail
// to free.
func (s *MemoryStore) keptInParts(free func(part *MemoryStore) (int, error)) int {
	kept := 0
	for _, part := range s.parts {
		n, _ := free(part)
		kept += n
	}
	return kept
}

// FreeIndex drops the rows of node id's index for which final holds, in
// every partition when the state is split.
func (s *MemoryStore) FreeIndex(ctx context.Context, id int, final func(zset.Row) bool) (int, error) {
	if s.parts != nil {
		return s.keptInParts(func(part *MemoryStore) (int, error) { return part.FreeIndex(ctx, id, final) }), nil
	}
	ix, ok := s.indexes[id]
	if !ok {
		return 0, nil
	}
	kept := 0
	for k, b := range ix.buckets {
		for i := b.len() - 1; i >= 0; i-- {
			if final(b.row(i)) {
				b.remove(i)
			}
		}
		if b.len() == 0 {
			delete(ix.buckets, k)
		}
		kept += b.len()
	}
	return kept, nil
}

// FreeGroups drops the groups of node id for which final holds, in every
// partition when the state is split.
func (s *MemoryStore) FreeGroups(ctx context.Context, id int, final func(*GroupState) bool) (int, error) {
	if s.parts != nil {
		return s.keptInParts(func(part *MemoryStore) (int, error) { return part.FreeGroups(ctx, id, final) }), nil
	}
	g, ok := s.groups[id]
	if !ok {
		return 0, nil
	}
	for k, st := range g.m {
		if final(st) {
			delete(g.m, k)
		}
	}
	for x, st := range g.ints {
		if final(st) {
			delete(g.ints, x)
		}
	}
	return g.len(), nil
}

// FreeOrdered drops the rows of node id's ordered index below hi (or at
// it, through) for which final holds.
func (s *MemoryStore) FreeOrdered(_ context.Context, id int, hi []byte, through bool, final func(zset.Row) bool) (int, error) {
	o, ok := s.ordered[id]
	if !ok {
		return 0, nil
	}
	var drop []orderedEntry
	o.tree.Ascend(func(e orderedEntry) bool {
		if c := strings.Compare(e.key, string(hi)); c > 0 || c == 0 && !through {
			return false
		}
		if final(e.Row) {
			drop = append(drop, e)
		}
		return true
	})
	for _, e := range drop {
		o.tree.Delete(e)
	}
	return o.tree.Len(), nil
}
