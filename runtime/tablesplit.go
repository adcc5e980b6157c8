package runtime

import (
	"github.com/stepping-io/stepping/zset"
)

// This file splits a keyed table's rows by primary key over the
// engine's workers, as the store's state is split: a step resolves a
// big batch's changes (checking each, finding the rows it replaces) and
// applies them partition by partition, side by side.

// pkParts is a keyed table's rows split by primary key: the rows of a
// key are in partition partOf(key); one partition when the engine runs
// on one worker.
type pkParts []*pkRows

// pkPart returns the partition of ps that holds the rows of key, a
// primary key's encoding as a string or as bytes.
func pkPart[K ~string | ~[]byte](ps pkParts, key K) *pkRows {
	if len(ps) == 1 {
		return ps[0]
	}
	return ps[partOf(key, len(ps))]
}

func (ps pkParts) get(key string) zset.Row      { return pkPart(ps, key).get(key) }
func (ps pkParts) set(key string, row zset.Row) { pkPart(ps, key).set(key, row) }
func (ps pkParts) del(key string)               { pkPart(ps, key).del(key) }

func (ps pkParts) len() int {
	n := 0
	for _, p := range ps {
		n += p.len()
	}
	return n
}

func (ps pkParts) each(f func(zset.Row)) {
	for _, p := range ps {
		p.each(f)
	}
}

// split moves a keyed table's rows into n partitions (one for n <= 1).
func (t *tableState) split(n int) {
	n = max(n, 1)
	if t.byKey == nil || len(t.byKey) == n {
		return
	}
	parts := make(pkParts, n)
	shares := make([]*valueShare, n)
	for p := range parts {
		parts[p] = newPKRows(t.input.PrimaryKey)
		shares[p] = newValueShare(t.input.Columns)
	}
	t.byKey.each(func(row zset.Row) {
		key := string(t.appendPK(nil, row))
		parts.set(key, row)
	})
	t.byKey, t.shares = parts, shares
}

// tableOverlays is a batch's view of a table as resolveSplit gives it: one
// overlay, or one per partition.
type tableOverlays struct {
	one   *overlay
	split []*overlay
}

// resolveSplit is resolve for a keyed table split over partitions, with
// a batch of at least minBatch changes: the changes are split by
// primary key, and each partition's resolved side by side against its
// rows (only read), in their order. It returns an overlay per
// partition, for applySplit. Should any change be bad, the batch is
// resolved again whole, for the error of the first bad change, which
// resolve reports. When room is not nil, the batch is made in what it
// gives (see resolveAt).
func (t *tableState) resolveSplit(changes []Change, minBatch int, room func(n int) batch) (batch, tableOverlays, error) {
	nw := len(t.byKey)
	if nw <= 1 || len(changes) < minBatch {
		d, ov, err := t.resolveAt(changes, nil, room)
		return d, tableOverlays{one: ov}, err
	}
	// The changes' positions are split, not the changes: a position
	// is 4 bytes to copy, a change 48.
	key := func(buf []byte, _ []any, i int32) ([]byte, error) {
		c := &changes[i]
		if len(c.Row) != len(t.input.Columns) {
			return buf, errBadRow // resolve says what is wrong
		}
		return t.appendPK(buf, c.Row), nil
	}
	all := make([]int32, len(changes))
	for i := range all {
		all[i] = int32(i)
	}
	parts, err := splitItems(all, nw, key, 0, nil)
	if err == nil {
		ds := make([]batch, nw)
		ovs := make([]*overlay, nw)
		err = parallel(nw, func(p int) error {
			var err error
			ds[p], ovs[p], err = t.resolveAt(changes, parts[p], room)
			return err
		})
		if err == nil {
			return appendBatches(roomOf(room, sizeOf(ds)), ds), tableOverlays{split: ovs}, nil
		}
	}
	_, _, err = t.resolve(changes)
	return nil, tableOverlays{}, err
}

// applySplit applies the overlays resolveSplit returned, each to its
// partition, side by side.
func (t *tableState) applySplit(o tableOverlays) {
	if o.one != nil {
		t.apply(o.one)
		return
	}
	ovs := o.split
	for _, ov := range ovs {
		t.taken += len(ov.keyed.changes)
	}
	_ = parallel(len(ovs), func(p int) error {
		t.byKey[p].apply(ovs[p].keyed.changes)
		t.giveOverlay(ovs[p])
		return nil
	})
}
