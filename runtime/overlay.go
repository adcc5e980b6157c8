package runtime

import (
	"context"

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
	hint    int   // the number of keys each index is made room for
}

// newOverlayStore returns an overlay of base whose indexes start with
// room for hint keys each.
func newOverlayStore(base Store, hint int) *overlayStore {
	return &overlayStore{base: base, indexes: map[int]*overlayIndex{}, hint: hint}
}

// Index returns the overlay of index id.
func (o *overlayStore) Index(id int) Index { return o.index(id) }

func (o *overlayStore) index(id int) *overlayIndex {
	ix, ok := o.indexes[id]
	if !ok {
		ix = &overlayIndex{base: o.base.Index(id), keys: make(map[string]*overlayKey, o.hint)}
		o.indexes[id] = ix
		o.order = append(o.order, id)
	}
	return ix
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
type overlayIndex struct {
	base Index
	keys map[string]*overlayKey
	list []*overlayKey // keys in order of first use, for a deterministic flush
	// load's buffers, reused
	missing []string
	into    []*overlayKey
}

// overlayKey is what an overlay holds of one key: its rows as committed
// (once read), the net changes pending on them, and, while no change
// comes, the merge of the two that the last lookup built.
type overlayKey struct {
	key       string
	loaded    bool
	committed []zset.Entry   // the underlying rows, once loaded
	pending   []pendingRow   // net changes by row, in order of first change
	at        map[string]int // row key -> position in pending, once pending is long
	ckeys     []string       // the committed rows' row keys, once merged
	cat       map[string]int // their positions by row key, for many rows
	merged    []zset.Entry   // committed plus pending, valid while fresh
	fresh     bool
	mark      int // a caller's stamp, to visit each key once per pass
	one       [1]pendingRow
	// In a fixpoint's support, whose keys are the classes of V's rows:
	// whether the class's row was deleted from V in this step (and
	// which), and whether one was added to V (and which).
	wasDeleted, wasAdded bool
	deletedRow, addedRow zset.Row
}

// pendingRow is the net change of one row of a key; a weight of zero
// (changes that cancelled) is kept in place and skipped.
type pendingRow struct {
	rowKey string
	row    zset.Row
	w      int64
}

// indexedPending is the number of pending rows of a key past which they
// are found through a map rather than by a scan.
const indexedPending = 16

// key returns the overlay of key k, making it when it is new.
func (ix *overlayIndex) key(k string) *overlayKey {
	kv := ix.keys[k]
	if kv == nil {
		kv = &overlayKey{key: k}
		kv.pending = kv.one[:0]
		ix.keys[k] = kv
		ix.list = append(ix.list, kv)
	}
	return kv
}

// load reads the committed rows of the keys not read yet, in one lookup.
func (ix *overlayIndex) load(ctx context.Context, keys []string, oks []*overlayKey) error {
	missing, into := ix.missing[:0], ix.into[:0]
	defer func() { ix.missing, ix.into = missing[:0], into[:0] }()
	for i, kv := range oks {
		if !kv.loaded {
			kv.loaded = true // a key twice in keys is read once
			missing = append(missing, keys[i])
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
		kv.committed, kv.ckeys, kv.cat = found[i], nil, nil
		kv.fresh = false
	}
	return nil
}

// lookupKeys returns the overlays of keys, their committed rows loaded.
func (ix *overlayIndex) lookupKeys(ctx context.Context, keys []string) ([]*overlayKey, error) {
	oks := make([]*overlayKey, len(keys))
	for i, k := range keys {
		oks[i] = ix.key(k)
	}
	return oks, ix.load(ctx, keys, oks)
}

// Lookup returns the rows of each key, committed plus pending.
func (ix *overlayIndex) Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	oks, err := ix.lookupKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([][]zset.Entry, len(keys))
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
	if n == 0 {
		kv.merged = kv.committed
		return kv.merged
	}
	rows := make([]zset.Entry, 0, len(kv.committed)+n)
	if len(kv.committed) == 0 {
		for _, p := range kv.pending {
			if p.w != 0 {
				rows = append(rows, zset.Entry{Row: p.row, Weight: p.w})
			}
		}
		kv.merged = rows
		return rows
	}
	// Committed rows first, each with its pending change; then the rows
	// that only pending has. The committed rows' keys are encoded once.
	if kv.ckeys == nil {
		kv.ckeys = make([]string, len(kv.committed))
		for i, e := range kv.committed {
			kv.ckeys[i] = rowKeyOf(e.Row)
		}
		if len(kv.committed) > indexedPending {
			kv.cat = make(map[string]int, len(kv.committed))
			for i, k := range kv.ckeys {
				kv.cat[k] = i
			}
		}
	}
	keys, byKey := kv.ckeys, kv.cat
	weights := make([]int64, len(kv.committed))
	for i, e := range kv.committed {
		weights[i] = e.Weight
	}
	var extra []zset.Entry
	for _, p := range kv.pending {
		if p.w == 0 {
			continue
		}
		at := -1
		if byKey != nil {
			if i, found := byKey[p.rowKey]; found {
				at = i
			}
		} else {
			for i, k := range keys {
				if k == p.rowKey {
					at = i
					break
				}
			}
		}
		if at < 0 {
			extra = append(extra, zset.Entry{Row: p.row, Weight: p.w})
		} else {
			weights[at] += p.w
		}
	}
	for i, e := range kv.committed {
		if weights[i] != 0 {
			rows = append(rows, zset.Entry{Row: e.Row, Weight: weights[i]})
		}
	}
	kv.merged = append(rows, extra...)
	return kv.merged
}

// positive returns the row of positive weight of the key, committed plus
// pending (before: committed only), or nil. The key must be loaded.
func (kv *overlayKey) positive(before bool) zset.Row {
	if before {
		return positiveRow(kv.committed)
	}
	if len(kv.committed) == 0 {
		for _, p := range kv.pending {
			if p.w > 0 {
				return p.row
			}
		}
		return nil
	}
	return positiveRow(kv.rows())
}

// Update adds changes to the pending ones.
func (ix *overlayIndex) Update(_ context.Context, changes []KeyedChange) error {
	ix.add(changes)
	return nil
}

// add adds changes to the pending ones; held in memory, it cannot fail.
func (ix *overlayIndex) add(changes []KeyedChange) {
	for _, c := range changes {
		ix.key(c.Key).add(c.RowKey, c.Row, c.Weight)
	}
}

// add adds w copies of row, of row key rk, to the pending changes.
func (kv *overlayKey) add(rk string, row zset.Row, w int64) {
	kv.fresh = false
	if kv.at != nil {
		if i, found := kv.at[rk]; found {
			kv.pending[i].w += w
			return
		}
	} else {
		for i := range kv.pending {
			if kv.pending[i].rowKey == rk {
				kv.pending[i].w += w
				return
			}
		}
	}
	kv.pending = append(kv.pending, pendingRow{rowKey: rk, row: row, w: w})
	switch {
	case kv.at != nil:
		kv.at[rk] = len(kv.pending) - 1
	case len(kv.pending) > indexedPending:
		kv.at = make(map[string]int, 2*len(kv.pending))
		for i, p := range kv.pending {
			kv.at[p.rowKey] = i
		}
	}
}

// flush writes the pending changes to the underlying index, in the
// order the keys were first used.
func (ix *overlayIndex) flush(ctx context.Context) error {
	n := 0
	for _, kv := range ix.list {
		for _, p := range kv.pending {
			if p.w != 0 {
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	changes := make([]KeyedChange, 0, n)
	for _, kv := range ix.list {
		for _, p := range kv.pending {
			if p.w != 0 {
				changes = append(changes, KeyedChange{Key: kv.key, RowKey: p.rowKey, Row: p.row, Weight: p.w})
			}
		}
	}
	return ix.base.Update(ctx, changes)
}
