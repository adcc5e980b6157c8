package runtime

import (
	"slices"

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
		shares[p] = newValueShare(t.input.Columns, t.shares[0].inPlace) // as the table's were
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
// partition, for applyWhole and applyPart. Should any change be bad, the batch is
// resolved again whole, for the error of the first bad change, which
// resolve reports. When room is not nil, the batch is made in what it
// gives (see resolveAt).
func (t *tableState) resolveSplit(cr *crew, changes []Change, minBatch int, room func(n int) batch) (batch, tableOverlays, error) {
	nw := len(t.byKey)
	if nw <= 1 || len(changes) < minBatch {
		d, ov, err := t.resolveAt(changes, nil, room)
		return d, tableOverlays{one: ov}, err
	}
	// The changes' positions are split, not the changes: a position
	// is 4 bytes to copy, a change 48. Their keys, encoded to find their
	// partitions, are kept for the partitions' resolving.
	parts, keys, err := t.splitPositions(cr, changes, nw)
	if err == nil {
		ds := make([]batch, nw)
		ovs := make([]*overlay, nw)
		err = cr.run(nw, func(p int) error {
			var err error
			ds[p], ovs[p], err = t.resolveIn(changes, parts[p], keys, p, room)
			return err
		})
		if err == nil {
			return appendBatches(roomOf(room, sizeOf(ds)), ds), tableOverlays{split: ovs}, nil
		}
	}
	_, _, err = t.resolve(changes)
	return nil, tableOverlays{}, err
}

// changeKeys are a batch's changes' primary keys, encoded one after the
// other: change i's is all[keyStart(ends, i):ends[i]].
type changeKeys struct {
	all  []byte
	ends []int32
}

// of returns the key of change i.
func (k *changeKeys) of(i int) []byte {
	end := k.ends[i]
	return k.all[keyStart(k.ends, i):end:end]
}

// splitPositions splits the positions of changes by primary key over nw
// partitions, as splitItems does, keeping each change's key as it
// encoded it. It fails with errBadRow at a change whose row has not
// the table's columns, whose key it cannot read.
func (t *tableState) splitPositions(cr *crew, changes []Change, nw int) ([][]int32, *changeKeys, error) {
	chunks := max(1, min(nw, len(changes)/parallelWork))
	bounds := func(c int) (int, int) { return c * len(changes) / chunks, (c + 1) * len(changes) / chunks }
	of := make([]int32, len(changes))   // each change's partition
	ends := make([]int32, len(changes)) // where its key ends in its chunk's buffer, then in all
	counts := make([]int, chunks*nw)    // chunk c's changes in partition p at c*nw+p
	bufs := make([][]byte, chunks)
	err := cr.run(chunks, func(c int) error {
		lo, hi := bounds(c)
		count := counts[c*nw : (c+1)*nw]
		buf := make([]byte, 0, 16*(hi-lo))
		for i := lo; i < hi; i++ {
			row := changes[i].Row
			if len(row) != len(t.input.Columns) {
				return errBadRow // resolve says what is wrong
			}
			start := len(buf)
			buf = t.appendPK(buf, row)
			p := partOf(buf[start:], nw)
			of[i], ends[i] = int32(p), int32(len(buf))
			count[p]++
		}
		bufs[c] = buf
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// The chunks' buffers made one, in one array of their size, the
	// ends moved to match.
	keys := &changeKeys{all: slices.Concat(bufs...), ends: ends}
	shift := int32(0)
	for c, buf := range bufs {
		lo, hi := bounds(c)
		for i := lo; i < hi; i++ {
			ends[i] += shift
		}
		shift += int32(len(buf))
	}
	out := placeSplit(cr, len(changes), chunks, nw, of, counts, make([]int32, len(changes)), func(i int) int32 { return int32(i) })
	return out, keys, nil
}

// applyWhole begins applying the overlays resolveSplit returned: it
// applies the one overlay, or counts the split overlays' changes as
// taken (as apply counts an overlay's) and reports true: each
// partition's is then for applyPart, which a step's commit runs for all
// its tables side by side, with the operators' writes
// (stepRun.writeParts). No overlays (StepDeltaAt's) are nothing to do.
func (t *tableState) applyWhole(o tableOverlays) (split bool) {
	if o.one != nil {
		t.apply(o.one)
		return false
	}
	for _, ov := range o.split {
		t.taken += len(ov.keyed.changes)
	}
	return o.split != nil
}

// applyPart applies partition p's overlay of o to the partition's rows.
// Partitions' overlays may be applied side by side, each by one
// goroutine.
func (t *tableState) applyPart(o tableOverlays, p int) {
	t.byKey[p].apply(o.split[p].keyed.changes)
	t.giveOverlay(o.split[p])
}
