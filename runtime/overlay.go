package runtime

import (
	"context"

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
}

func newOverlayStore(base Store) *overlayStore {
	return &overlayStore{base: base, indexes: map[int]*overlayIndex{}}
}

// Index returns the overlay of index id.
func (o *overlayStore) Index(id int) Index { return o.index(id) }

func (o *overlayStore) index(id int) *overlayIndex {
	ix, ok := o.indexes[id]
	if !ok {
		ix = &overlayIndex{base: o.base.Index(id), committed: map[string][]zset.Entry{}, pending: map[string]map[string]zset.Entry{}}
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
	base      Index
	committed map[string][]zset.Entry          // the underlying rows of each key read
	pending   map[string]map[string]zset.Entry // key -> row key -> net change
}

// committedRows returns the rows of each key as committed before the step.
func (ix *overlayIndex) committedRows(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	var missing []string
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := ix.committed[k]; !ok && !seen[k] {
			seen[k] = true
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		found, err := ix.base.Lookup(ctx, missing)
		if err != nil {
			return nil, err
		}
		for i, k := range missing {
			ix.committed[k] = found[i]
		}
	}
	out := make([][]zset.Entry, len(keys))
	for i, k := range keys {
		out[i] = ix.committed[k]
	}
	return out, nil
}

// Lookup returns the rows of each key, committed plus pending.
func (ix *overlayIndex) Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	out, err := ix.committedRows(ctx, keys)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		p := ix.pending[k]
		if len(p) == 0 {
			continue
		}
		merged := make(map[string]zset.Entry, len(out[i])+len(p))
		for _, e := range out[i] {
			merged[types.RowKey(e.Row)] = e
		}
		for rk, c := range p {
			e, ok := merged[rk]
			if !ok {
				e.Row = c.Row
			}
			e.Weight += c.Weight
			if e.Weight == 0 {
				delete(merged, rk)
			} else {
				merged[rk] = e
			}
		}
		rows := make([]zset.Entry, 0, len(merged))
		for _, e := range merged {
			rows = append(rows, e)
		}
		out[i] = rows
	}
	return out, nil
}

// Update adds changes to the pending ones.
func (ix *overlayIndex) Update(_ context.Context, changes []KeyedChange) error {
	ix.add(changes)
	return nil
}

// add adds changes to the pending ones; held in memory, it cannot fail.
func (ix *overlayIndex) add(changes []KeyedChange) {
	for _, c := range changes {
		p, ok := ix.pending[c.Key]
		if !ok {
			p = map[string]zset.Entry{}
			ix.pending[c.Key] = p
		}
		e, ok := p[c.RowKey]
		if !ok {
			e.Row = c.Row
		}
		e.Weight += c.Weight
		if e.Weight == 0 {
			delete(p, c.RowKey)
		} else {
			p[c.RowKey] = e
		}
	}
}

// flush writes the pending changes to the underlying index.
func (ix *overlayIndex) flush(ctx context.Context) error {
	var changes []KeyedChange
	for k, p := range ix.pending {
		for rk, e := range p {
			changes = append(changes, KeyedChange{Key: k, RowKey: rk, Row: e.Row, Weight: e.Weight})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	return ix.base.Update(ctx, changes)
}
