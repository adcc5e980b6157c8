package runtime

import (
	"context"
	"strings"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// overlayStore is a store as a fixpoint sees it during a step: the
// indexes its iterations read and write hold the committed state with
// the writes of earlier iterations on top, so that each iteration reads
// what the last one wrote, while nothing reaches the underlying store
// before the step commits. Groups pass through: a fixpoint's body has
// no aggregates.
type overlayStore struct {
	base    Store
	indexes map[int]*overlayIndex
	order   []int // index IDs in order of first use, for a deterministic flush
	// fed is the batch the fixpoint last fed its body, with the hash of
	// each row's row key, which it has from the support: an integral of
	// that batch files and flushes the rows by those hashes.
	fed       batch
	fedHashes []uint64
}

// hashesOf returns the hashes of the row keys of d's rows, when d is the
// batch fed, or nil. Batches are never changed once made: a batch at the
// same place is the same.
func (o *overlayStore) hashesOf(d batch) []uint64 {
	if len(d) == 0 || len(o.fed) != len(d) || &o.fed[0] != &d[0] {
		return nil
	}
	return o.fedHashes
}

// newOverlayStore returns an overlay of base.
func newOverlayStore(base Store) *overlayStore {
	return &overlayStore{base: base, indexes: map[int]*overlayIndex{}}
}

// Index returns the overlay of index id.
func (o *overlayStore) Index(id int) Index { return o.index(id) }

func (o *overlayStore) index(id int) *overlayIndex {
	ix, ok := o.indexes[id]
	if !ok {
		base := o.base.Index(id)
		ix = &overlayIndex{store: o, base: base, inMemory: inMemory(base), empty: emptyInMemory(base)}
		o.indexes[id] = ix
		o.order = append(o.order, id)
	}
	return ix
}

// inMemory reports whether ix is a memory store's index, which takes
// changes without their row keys, in any number per row, and encodes
// the rows only to hash them.
func inMemory(ix Index) bool {
	switch ix := ix.(type) {
	case *memIndex, *partIndex:
		return true
	case *overlayIndex:
		return ix.inMemory
	}
	return false
}

// emptyInMemory reports whether ix is a memory store's index that holds
// no rows, whose lookups need not be made (a store's first load).
func emptyInMemory(ix Index) bool {
	switch ix := ix.(type) {
	case *memIndex:
		return len(ix.buckets) == 0
	case *partIndex:
		for _, p := range ix.parts {
			if len(p.buckets) > 0 {
				return false
			}
		}
		return true
	}
	return false
}

// Groups returns the underlying store's groups.
func (o *overlayStore) Groups(id int) Groups { return o.base.Groups(id) }

// Ordered passes through to the base store: a fixpoint's body holds no
// temporal filter (the checker lets only where, select, join and union
// all read a recursive view), so no ordered index is written inside one.
func (o *overlayStore) Ordered(id int) OrderedIndex { return o.base.Ordered(id) }

// flush writes every index's pending changes to the underlying store.
func (o *overlayStore) flush(ctx context.Context) error {
	for _, id := range o.order {
		if err := o.indexes[id].flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// overlayIndex is an index with uncommitted changes on top. Keys read
// once from the underlying index are remembered, so every iteration
// after the first that reads a key costs no round trip.
//
// Updates are kept as they come and filed by key only when the index is
// next read: an index that the body writes every iteration but reads
// only when an outer input changes (the integral of the recursive view,
// joined with an outer input's changes) files nothing while it loads,
// and its changes go to a memory store as they came.
type overlayIndex struct {
	store    *overlayStore // the overlay the index is of, or nil
	base     Index
	inMemory bool // whether base is a memory store's (see inMemory)
	empty    bool // whether base is a memory store's holding no rows
	// keys are the keys met; an index only written to while the step
	// loads never makes its table.
	keys keyTable
	// blocks hold the keys in order of first use, for a deterministic
	// flush; a block at a time is allocated, not a key.
	blocks [][]overlayKey
	// unfiled are the updates not yet filed by key, in their order.
	unfiled []unfiledUpdate
	buf     []byte // file's encoding of a row, reused
	// load's buffers, reused
	missing []string
	into    []*overlayKey
}

// unfiledUpdate is an update an overlay was given and has not filed:
// either changes, as Update takes them, or, as updateKeyed takes them,
// the changes d with their keys in one string, change i's ending at
// ends[i], so that the writer makes no KeyedChange of each change.
type unfiledUpdate struct {
	changes []KeyedChange
	keys    string
	ends    []int32
	d       batch
	hashes  []uint64 // the hashes of d's row keys (see hashesOf), or nil
}

// keyedChanges returns the changes of u as Update takes them.
func (u *unfiledUpdate) keyedChanges() []KeyedChange {
	if u.changes != nil {
		return u.changes
	}
	out := make([]KeyedChange, len(u.d))
	for i, e := range u.d {
		out[i] = KeyedChange{Key: u.keys[keyStart(u.ends, i):u.ends[i]], Row: e.Row, Weight: e.Weight}
	}
	return out
}

// firstBlock and keyBlock are the fewest and the most keys an index
// allocates at a time.
const firstBlock, keyBlock = 4, 256

// overlayKey is what an overlay holds of one key: its rows as committed
// (once read), the net changes pending on them, and, while no change
// comes, the merge of the two that the last lookup built.
type overlayKey struct {
	key       string
	committed *committedRows // the underlying rows, once loaded; nil for none
	pending   []pendingRow   // net changes by row, in order of first change
	// at holds, once pending is long, the position in pending of the
	// first row of each (folded) hash; a row whose hash another has is
	// found by a scan.
	at     map[uint64]int32
	merged []zset.Entry  // committed plus pending, valid while fresh
	one    [1]pendingRow // pending's room for a key's first row
	loaded bool
	fresh  bool
	// own says that key is a string of its own, not part of a longer
	// one, so that a memory store may keep it rather than a copy.
	own bool
	// In a fixpoint's support, whose keys are the classes of V's rows:
	// whether a row was added to V (and which); where the class's row
	// deleted from V in this step is in the fixpoint's list of them, 1 +
	// its position or 0 for none (kept there, not here: a load deletes
	// none); mark is the fixpoint's stamp, to visit each key once per
	// pass. (The flags, then the stamps, fill one word.)
	wasAdded      bool
	deleted, mark int32
	addedRow      zset.Row
}

// committedRows are a key's rows as committed, apart from the key: most
// keys of a fixpoint's step have none, and are the smaller.
type committedRows struct {
	rows    []zset.Entry
	hashes  rowHashes // their rows' hashes, once a merge needed them
	encoded bool      // whether hashes is filled
}

// rowHashes are the hashes of the row keys of a key's committed rows,
// encoded once for every merge with pending rows: most keys of a
// fixpoint's step have no committed rows, or no pending ones, and need
// none.
type rowHashes struct {
	h  []uint64         // by position among the committed rows
	at map[uint64]int32 // the first position of each (folded) hash, for many rows
}

// entries returns the committed rows of kv.
func (kv *overlayKey) entries() []zset.Entry {
	if kv.committed == nil {
		return nil
	}
	return kv.committed.rows
}

// rowHashes returns the hashes of the committed rows, encoding them the
// first time.
func (c *committedRows) rowHashes() *rowHashes {
	if !c.encoded {
		c.hashes, c.encoded = rowHashesOf(c.rows), true
	}
	return &c.hashes
}

// pendingRow is the net change of one row of a key; a weight of zero
// (changes that cancelled) is kept in place and skipped. Rows are told
// apart by the hash of their row keys, with rowSeed as a memory index
// hashes them, and by their encodings when hashes match, so that no row
// key is made: the hash goes to a memory index as it is.
type pendingRow struct {
	h   uint64
	row zset.Row
	w   int64
}

// indexedPending is the number of pending rows of a key past which they
// are found through a map rather than by a scan.
const indexedPending = 16

// key returns the overlay of key k, making it when it is new, with
// every update filed. k is the caller's to give: a string made for it
// alone, which a memory store may keep as its key when flushed.
func (ix *overlayIndex) key(k string) *overlayKey {
	ix.fileUpdates()
	h := hashKey(k)
	if kv := ix.keys.find(h, k); kv != nil {
		if !kv.own {
			kv.key, kv.own = k, true
		}
		return kv
	}
	return ix.insert(h, k, true)
}

// slot returns the overlay of key k, making it when it is new. k may be
// part of a longer string, as an update's keys are.
func (ix *overlayIndex) slot(k string) *overlayKey {
	h := hashKey(k)
	if kv := ix.keys.find(h, k); kv != nil {
		return kv
	}
	return ix.insert(h, k, false)
}

// insert makes the overlay of key k, of hash h, which the index does
// not hold; own says whether k is a string of its own (see key).
func (ix *overlayIndex) insert(h uint64, k string, own bool) *overlayKey {
	kv := ix.newKey(k)
	kv.own = own
	ix.keys.add(h, kv)
	return kv
}

// newKey allocates the overlay of key k in the last block, starting a
// new block when that one is full.
func (ix *overlayIndex) newKey(k string) *overlayKey {
	last := len(ix.blocks) - 1
	if last < 0 || len(ix.blocks[last]) == cap(ix.blocks[last]) {
		// As many keys as it holds, up to keyBlock: a small step's
		// overlay stays small.
		ix.blocks = append(ix.blocks, make([]overlayKey, 0, min(max(ix.keys.n, firstBlock), keyBlock)))
		last++
	}
	block := ix.blocks[last]
	block = block[:len(block)+1] // zeroed when made: written in place
	ix.blocks[last] = block
	kv := &block[len(block)-1]
	kv.key, kv.pending = k, kv.one[:0]
	return kv
}

// fileUpdates files the updates not filed yet under their keys.
func (ix *overlayIndex) fileUpdates() {
	for i := range ix.unfiled {
		if u := &ix.unfiled[i]; u.changes != nil {
			ix.file(u.changes)
		} else {
			ix.fileKeyed(u.keys, u.ends, u.d, u.hashes)
		}
	}
	ix.unfiled = nil
}

// fileKeyed adds the changes d, change i's key ending at ends[i] in
// keys, to the pending ones of their keys; hashes, when not nil, are the
// hashes of their row keys.
func (ix *overlayIndex) fileKeyed(keys string, ends []int32, d batch, hashes []uint64) {
	var kv *overlayKey
	start := int32(0)
	for i, e := range d {
		if k := keys[start:ends[i]]; kv == nil || kv.key != k {
			kv = ix.slot(k)
		}
		start = ends[i]
		var h uint64
		if hashes != nil {
			h = hashes[i]
		} else {
			h, ix.buf = hashRowKey(ix.buf, "", e.Row)
		}
		kv.add(h, e.Row, e.Weight)
	}
}

// file adds changes to the pending ones of their keys.
func (ix *overlayIndex) file(changes []KeyedChange) {
	var kv *overlayKey
	for _, c := range changes {
		if kv == nil || kv.key != c.Key {
			kv = ix.slot(c.Key)
		}
		var h uint64
		h, ix.buf = hashRowKey(ix.buf, c.RowKey, c.Row)
		kv.add(h, c.Row, c.Weight)
	}
}

// load reads the committed rows of the keys not read yet, in one lookup.
func (ix *overlayIndex) load(ctx context.Context, oks []*overlayKey) error {
	if ix.empty {
		for _, kv := range oks {
			kv.loaded = true // with no committed rows
		}
		return nil
	}
	missing, into := ix.missing[:0], ix.into[:0]
	defer func() { ix.missing, ix.into = missing[:0], into[:0] }()
	for _, kv := range oks {
		if !kv.loaded {
			kv.loaded = true // a key twice in oks is read once
			missing = append(missing, kv.key)
			into = append(into, kv)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := ix.base.Lookup(ctx, missing)
	if err != nil {
		for _, kv := range into {
			kv.loaded = false
		}
		return err
	}
	for i, kv := range into {
		kv.committed, kv.fresh = nil, false
		if len(found[i]) > 0 {
			kv.committed = &committedRows{rows: found[i]}
		}
	}
	return nil
}

// Lookup returns the rows of each key, committed plus pending.
func (ix *overlayIndex) Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	ix.fileUpdates()
	out := make([][]zset.Entry, len(keys))
	if ix.empty {
		// Nothing to read: a key the overlay has not met has no rows,
		// and need not be made.
		for i, k := range keys {
			if kv := ix.keys.find(hashKey(k), k); kv != nil {
				out[i] = kv.rows()
			}
		}
		return out, nil
	}
	oks := make([]*overlayKey, len(keys))
	for i, k := range keys {
		oks[i] = ix.slot(k)
	}
	if err := ix.load(ctx, oks); err != nil {
		return nil, err
	}
	for i, kv := range oks {
		out[i] = kv.rows()
	}
	return out, nil
}

// rows returns the key's rows, committed plus pending; the caller must
// not change the slice. The key must be loaded.
func (kv *overlayKey) rows() []zset.Entry {
	if kv.fresh {
		return kv.merged
	}
	kv.fresh = true
	n := 0
	for _, p := range kv.pending {
		if p.w != 0 {
			n++
		}
	}
	switch {
	case n == 0:
		kv.merged = kv.entries()
	case kv.committed == nil:
		rows := make([]zset.Entry, 0, n)
		for _, p := range kv.pending {
			if p.w != 0 {
				rows = append(rows, zset.Entry{Row: p.row, Weight: p.w})
			}
		}
		kv.merged = rows
	default:
		kv.merged = mergePending(kv.committed.rows, kv.committed.rowHashes(), kv.pending, n)
	}
	return kv.merged
}

// rowHashesOf hashes the row keys of committed.
func rowHashesOf(committed []zset.Entry) rowHashes {
	rh := rowHashes{h: make([]uint64, len(committed))}
	var buf []byte
	for i, e := range committed {
		rh.h[i], buf = hashRowKey(buf, "", e.Row)
	}
	if len(committed) > indexedPending {
		rh.at = make(map[uint64]int32, len(committed))
		for i, h := range rh.h {
			placeFirst(rh.at, h, int32(i))
		}
	}
	return rh
}

// find returns the position among committed, whose hashes rh holds, of
// row, of hash h, or -1.
func (rh *rowHashes) find(committed []zset.Entry, h uint64, row zset.Row) int {
	return findByHash(rh.at, h, len(rh.h), func(i int) bool {
		return fold(rh.h[i]) == fold(h) && types.SameRowKey(committed[i].Row, row)
	})
}

// findByHash returns the position, among n rows, of the one same says is
// the row sought, of hash h, or -1. at, when not nil, holds the place of
// the first row of each (folded) hash: a hash it lacks is no row's, and
// the row at its place is most often the one; else the rows are scanned.
func findByHash(at map[uint64]int32, h uint64, n int, same func(i int) bool) int {
	if at != nil {
		i, taken := at[fold(h)]
		if !taken {
			return -1
		}
		if same(int(i)) {
			return int(i)
		}
	}
	for i := range n {
		if same(i) {
			return i
		}
	}
	return -1
}

// mergePending returns committed, whose hashes are hashes, merged with
// the n changes of pending whose weight is not zero: committed rows
// first, each with its pending change; then the rows that only pending
// has.
func mergePending(committed []zset.Entry, hashes *rowHashes, pending []pendingRow, n int) []zset.Entry {
	weights := make([]int64, len(committed))
	for i, e := range committed {
		weights[i] = e.Weight
	}
	var extra []zset.Entry
	for _, p := range pending {
		if p.w == 0 {
			continue
		}
		if at := hashes.find(committed, p.h, p.row); at >= 0 {
			weights[at] += p.w
		} else {
			extra = append(extra, zset.Entry{Row: p.row, Weight: p.w})
		}
	}
	rows := make([]zset.Entry, 0, len(committed)+n)
	for i, e := range committed {
		if weights[i] != 0 {
			rows = append(rows, zset.Entry{Row: e.Row, Weight: weights[i]})
		}
	}
	return append(rows, extra...)
}

// positive returns the row of positive weight of the key, committed plus
// pending (before: committed only), or nil. The key must be loaded.
func (kv *overlayKey) positive(before bool) zset.Row {
	if before {
		return positiveRow(kv.entries())
	}
	if kv.committed == nil {
		for _, p := range kv.pending {
			if p.w > 0 {
				return p.row
			}
		}
		return nil
	}
	return positiveRow(kv.rows())
}

// positiveHashed is positive(false) with the hash of the row's row key.
func (kv *overlayKey) positiveHashed() (zset.Row, uint64) {
	if kv.committed == nil {
		for _, p := range kv.pending {
			if p.w > 0 {
				return p.row, p.h
			}
		}
		return nil, 0
	}
	row := positiveRow(kv.rows())
	if row == nil {
		return nil, 0
	}
	h, _ := hashRowKey(nil, "", row)
	return row, h
}

// Update adds changes to the pending ones. It keeps the slice, unfiled
// until the index is next read: its writers, the integrals of a
// fixpoint's body, hand over a slice of their own.
func (ix *overlayIndex) Update(_ context.Context, changes []KeyedChange) error {
	if len(changes) > 0 {
		ix.unfiled = append(ix.unfiled, unfiledUpdate{changes: changes})
	}
	return nil
}

// updateKeyed adds the changes d, change i's key ending at ends[i] in
// keys, to the pending ones, as Update does; it keeps keys, ends and d.
// A row's hash is made from its encoding when filed: the row key that
// a store other than memory's takes is made, from the net change, only
// when the overlay flushes to it.
func (ix *overlayIndex) updateKeyed(keys string, ends []int32, d batch) {
	if len(d) > 0 {
		u := unfiledUpdate{keys: keys, ends: ends, d: d}
		if ix.store != nil {
			u.hashes = ix.store.hashesOf(d)
		}
		ix.unfiled = append(ix.unfiled, u)
	}
}

// add adds changes to the pending ones; held in memory, it cannot fail.
func (ix *overlayIndex) add(changes []KeyedChange) {
	ix.fileUpdates()
	ix.file(changes)
}

// add adds w copies of row, whose row key hashes to h, to the pending
// changes.
func (kv *overlayKey) add(h uint64, row zset.Row, w int64) {
	kv.fresh = false
	if i := kv.find(h, row); i >= 0 {
		kv.pending[i].w += w
		return
	}
	kv.pending = append(kv.pending, pendingRow{h: h, row: row, w: w})
	switch {
	case kv.at != nil:
		kv.place(h, int32(len(kv.pending)-1))
	case len(kv.pending) > indexedPending:
		kv.at = make(map[uint64]int32, 2*len(kv.pending))
		for i, p := range kv.pending {
			kv.place(p.h, int32(i))
		}
	}
}

// find returns the position in pending of row, of hash h, or -1.
func (kv *overlayKey) find(h uint64, row zset.Row) int {
	return findByHash(kv.at, h, len(kv.pending), func(i int) bool {
		p := &kv.pending[i]
		return fold(p.h) == fold(h) && types.SameRowKey(p.row, row)
	})
}

// place files position i, of hash h, in at, unless a row of that hash
// has its place.
func (kv *overlayKey) place(h uint64, i int32) { placeFirst(kv.at, h, i) }

// placeFirst files position i, of hash h, in at, which findByHash reads,
// unless a row of that hash has its place.
func placeFirst(at map[uint64]int32, h uint64, i int32) {
	if _, taken := at[fold(h)]; !taken {
		at[fold(h)] = i
	}
}

// flush writes the pending changes to the underlying index, in the
// order the keys were first used, then the updates not filed, as they
// came. A store other than memory's is given each row's net change
// once, and none that cancelled, so they are filed first; and all in one
// update, a database's one statement. So is an outer fixpoint's overlay,
// which keeps the slice it is given.
func (ix *overlayIndex) flush(ctx context.Context) error {
	if _, nested := ix.base.(*overlayIndex); nested || !ix.inMemory {
		ix.fileUpdates()
		n := 0
		ix.eachPending(false, func(KeyedChange) { n++ })
		if n == 0 {
			return nil
		}
		changes := make([]KeyedChange, 0, n)
		ix.eachPending(!ix.inMemory, func(c KeyedChange) { changes = append(changes, c) })
		return ix.base.Update(ctx, changes)
	}
	return ix.flushToMemory(ctx)
}

// flushToMemory writes the pending changes to a memory store's index,
// then the updates not filed, as they came.
func (ix *overlayIndex) flushToMemory(ctx context.Context) error {
	mi, ok := ix.base.(*memIndex)
	if !ok {
		return ix.flushInChunks(ctx)
	}
	// Into an index that holds no key yet (a fixpoint's first load),
	// every key of the overlay goes in new: its table is made once
	// rather than grown to the size, and no key is looked for first.
	fresh := len(mi.buckets) == 0
	if fresh && ix.keys.n > 0 {
		mi.buckets = make(map[string]*memBucket, ix.keys.n)
	}
	for _, block := range ix.blocks {
		for i := range block {
			kv := &block[i]
			var b *memBucket
			for _, p := range kv.pending {
				if p.w == 0 {
					continue
				}
				if b == nil {
					b = ix.bucketIn(mi, kv, fresh)
				}
				b.addHashed(p.h, p.row, p.w)
			}
			if b != nil && b.len() == 0 {
				delete(mi.buckets, kv.key)
			}
		}
	}
	for i := range ix.unfiled {
		if u := &ix.unfiled[i]; u.changes != nil {
			if err := mi.Update(ctx, u.changes); err != nil {
				return err
			}
		} else if u.hashes != nil {
			mi.updateKeyedHashed(u.keys, u.ends, u.d, u.hashes)
		} else {
			mi.updateKeyed(u.keys, u.ends, u.d, false)
		}
	}
	return nil
}

// bucketIn returns the bucket of kv's key in mi, making it when it is
// new; fresh says that mi held no key before the flush, so that kv's,
// met once in a flush, is new.
func (ix *overlayIndex) bucketIn(mi *memIndex, kv *overlayKey, fresh bool) *memBucket {
	if !fresh {
		return mi.bucket(kv.key, kv.own)
	}
	if kv.own {
		return mi.put(kv.key)
	}
	return mi.put(strings.Clone(kv.key))
}

// flushChunk is the most changes an overlay gives a split memory store
// in one update: they are copied into one buffer, reused, not all into
// a slice.
const flushChunk = 4096

// flushInChunks writes the pending changes to a split memory store's
// index, a chunk at a time, and the updates not filed as they are.
func (ix *overlayIndex) flushInChunks(ctx context.Context) error {
	n := 0
	ix.eachPending(false, func(KeyedChange) { n++ })
	chunk := make([]KeyedChange, 0, min(n, flushChunk))
	var err error
	ix.eachPending(false, func(c KeyedChange) {
		if chunk = append(chunk, c); len(chunk) == flushChunk && err == nil {
			err, chunk = ix.base.Update(ctx, chunk), chunk[:0]
		}
	})
	if err == nil && len(chunk) > 0 {
		err = ix.base.Update(ctx, chunk)
	}
	for i := range ix.unfiled {
		if err != nil {
			break
		}
		err = ix.base.Update(ctx, ix.unfiled[i].keyedChanges())
	}
	return err
}

// eachPending calls f with each pending change of weight other than
// zero, in the order the keys were first used, and with its row key
// when withRowKeys says so: a memory store's index, or an overlay of
// one, encodes the rows it is not given keys of only to hash them.
func (ix *overlayIndex) eachPending(withRowKeys bool, f func(KeyedChange)) {
	for _, block := range ix.blocks {
		for i := range block {
			kv := &block[i]
			for _, p := range kv.pending {
				if p.w != 0 {
					c := KeyedChange{Key: kv.key, Row: p.row, Weight: p.w}
					if withRowKeys {
						c.RowKey = rowKeyOf(p.row)
					}
					f(c)
				}
			}
		}
	}
}
