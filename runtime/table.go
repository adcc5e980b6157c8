package runtime

import (
	"fmt"
	"strings"
	"sync"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Op is the kind of a change to a table.
type Op int

// The kinds of change, with SQL's meaning.
const (
	Insert Op = iota // add a row; with a primary key, the key must be new
	Delete           // remove the row (by primary key, if the table has one); absent rows are ignored
	Update           // replace the row with the same primary key; absent keys are ignored
)

// String returns insert, delete or update.
func (o Op) String() string { return [...]string{"insert", "delete", "update"}[o] }

// Change is one change to a table.
type Change struct {
	Op  Op
	Row zset.Row
	// Origin says where the change came from, such as "products.csv:3",
	// for error messages; it may be empty.
	Origin string
}

// Where names a change in an error: its origin, or its place i in its
// batch.
func (c Change) Where(i int) string {
	if c.Origin != "" {
		return c.Origin
	}
	return fmt.Sprintf("change %d (%s)", i+1, c.Op)
}

// tableState is the current contents of an input table, kept to turn
// updates and deletes into Z-set changes.
type tableState struct {
	input *ir.Input
	byKey pkParts    // tables with a primary key: key -> row
	bag   *zset.ZSet // tables without one: a multiset
	// shares makes the rows kept share their values' boxes, one for
	// each partition of byKey (one for a bag), each used only by the
	// goroutine resolving that partition's changes.
	shares []*valueShare
	// overlays holds the overlays of applied batches (pooledOverlay),
	// for the next.
	overlays sync.Pool
	// mark is the table's watermark, nil when it declares none; taken
	// counts the rows inserted since the rows the watermark passed were
	// last freed, and kept the rows kept then.
	mark        *mark
	taken, kept int
}

// newTableState returns the state of table in, empty; ownsRows says the
// rows of its changes are the engine's (Options.OwnsRows).
func newTableState(in *ir.Input, ownsRows bool) *tableState {
	t := &tableState{input: in, shares: []*valueShare{newValueShare(in.Columns, ownsRows)}}
	if w := in.Watermark; w != nil {
		t.mark = &mark{col: w.Column, lateness: w.Lateness}
	}
	if len(in.PrimaryKey) > 0 {
		t.byKey = pkParts{newPKRows(in.PrimaryKey)}
	} else {
		t.bag = zset.New()
	}
	return t
}

// overlay is a batch's view of a table: for a keyed table the keys it
// touched, with their rows after it; for a bag the changes it made.
type overlay struct {
	keyed *keyedOverlay
	bag   *zset.ZSet
	// pooled is the pooledOverlay this overlay is part of, which
	// giveOverlay takes back once it is applied; nil for others.
	pooled *pooledOverlay
}

// keyedOverlay is a batch's changes to a keyed table, one per key it
// touched, found by the key's hash: no string per key, and no second
// look-up of the table when the batch is applied (see pkRows).
type keyedOverlay struct {
	changes []pkChange
	// index finds a key's change by the key's hash once the batch has
	// touched more than scanChanges keys (the few before are scanned):
	// an open-addressed table of positions in changes plus one (0 for
	// an empty entry), probed linearly from the place the hash's low
	// bits give, at most half full. A load's batch of thousands of
	// keys finds and files each with a short probe of an array of 4-byte
	// entries, where a Go map looked each up twice (find, then add),
	// hashing the hash again each time.
	index []int32
	// spare is an earlier batch's index, cleared, for index to take:
	// an overlay taken from tableState.overlays makes none.
	spare []int32
}

// scanChanges is the most changes a keyedOverlay finds a key's among by
// scanning them.
const scanChanges = 8

// pooledOverlay is a batch's overlay of a keyed table, kept in
// tableState.overlays between batches: a load's batches of thousands of
// changes each then reuse one array of changes and one index, where each
// made its own for the collector.
type pooledOverlay struct {
	overlay
	keyed keyedOverlay
}

// overlayChanges is the most changes of a batch whose overlay is kept
// for the next (a pool keeps it until the second collection after its
// last use).
const overlayChanges = 1 << 15

// takeOverlay returns an empty overlay for a batch of n changes to a
// keyed table, from t.overlays when it has one. It may be called from
// several goroutines at once (resolveSplit).
func (t *tableState) takeOverlay(n int) *overlay {
	p, ok := t.overlays.Get().(*pooledOverlay)
	if !ok {
		p = &pooledOverlay{}
		p.overlay.keyed = &p.keyed
	}
	p.pooled = p
	if cap(p.keyed.changes) < n {
		p.keyed.changes = make([]pkChange, 0, n)
	}
	return &p.overlay
}

// giveOverlay gives back the overlay of a batch that has been applied,
// when takeOverlay made it and it is not too big to keep. Nothing refers
// to its changes now: the table keeps their rows, not the changes.
func (t *tableState) giveOverlay(ov *overlay) {
	if ov.pooled == nil || cap(ov.keyed.changes) > overlayChanges {
		return
	}
	k := ov.keyed
	if k.index != nil {
		k.spare, k.index = k.emptied(), nil
	}
	clear(k.changes)
	k.changes = k.changes[:0]
	t.overlays.Put(ov.pooled)
}

// pkChange is what a batch did to one key of a table.
type pkChange struct {
	hash   uint64   // of the key's encoding (pkRows.hash)
	keyRow zset.Row // a row with the key: the first change's
	row    zset.Row // the key's row after the batch; nil for none
	// slot is the key's slot in the table when the batch began, or -1.
	slot int32
	// part is the partition of the table's rows that holds the key
	// (pkParts), found once, when the change is resolved.
	part int32
}

// find returns the position of the change of key (its encoding, hashing
// to h), or -1.
func (o *keyedOverlay) find(t *tableState, h uint64, key []byte) int {
	var tmp [64]byte
	is := func(i int) bool {
		c := &o.changes[i]
		return c.hash == h && string(t.appendPK(tmp[:0], c.keyRow)) == string(key)
	}
	if o.index == nil {
		for i := range o.changes {
			if is(i) {
				return i
			}
		}
		return -1
	}
	mask := uint64(len(o.index) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		e := o.index[j]
		if e == 0 {
			return -1
		}
		if is(int(e - 1)) {
			return int(e - 1)
		}
	}
}

// add records the first change of a key.
func (o *keyedOverlay) add(c pkChange) {
	o.changes = append(o.changes, c)
	switch n := len(o.changes); {
	case o.index == nil && n <= scanChanges:
	case o.index == nil || 2*n > len(o.index):
		o.reindex()
	default:
		o.file(int32(n - 1))
	}
}

// reindex makes the index of the changes again, with at least twice as
// many entries as the changes have room for: the spare, when it is big
// enough, else a new array.
func (o *keyedOverlay) reindex() {
	size := 16
	for size < 2*max(len(o.changes), cap(o.changes)) {
		size *= 2
	}
	if len(o.spare) >= size {
		o.index, o.spare = o.spare, nil
	} else {
		o.index = make([]int32, size)
	}
	for i := range o.changes {
		o.file(int32(i))
	}
}

// emptied returns the index with its entries zeroed, as a spare: those
// the changes took, rather than the whole array, so that a small batch
// that took a big batch's spare does not clear all of it.
func (o *keyedOverlay) emptied() []int32 {
	mask := uint64(len(o.index) - 1)
	for i := range o.changes {
		j := o.changes[i].hash & mask
		for o.index[j] != int32(i+1) {
			j = (j + 1) & mask
		}
		o.index[j] = 0
	}
	return o.index
}

// file enters change i in the index, at the first empty entry from its
// hash's place.
func (o *keyedOverlay) file(i int32) {
	mask := uint64(len(o.index) - 1)
	j := o.changes[i].hash & mask
	for o.index[j] != 0 {
		j = (j + 1) & mask
	}
	o.index[j] = i + 1
}

// appendPK appends the encoding of row's primary key, the one pk returns,
// to buf.
func (t *tableState) appendPK(buf []byte, row zset.Row) []byte {
	for _, c := range t.input.PrimaryKey {
		buf = types.AppendKey(buf, row[c])
	}
	return buf
}

// resolve turns a batch of changes into a Z-set against the table's
// contents, reporting the first bad change.
func (t *tableState) resolve(changes []Change) (batch, *overlay, error) {
	return t.resolveAt(changes, nil, nil)
}

// roomOf returns an empty batch with room for n changes: room's when it
// is not nil, else a new one.
func roomOf(room func(n int) batch, n int) batch {
	if room != nil {
		return room(n)
	}
	return make(batch, 0, n)
}

// resolveAt is resolve for the changes at positions at of changes, in
// that order; all of them when at is nil. When room is not nil, the
// batch is made in room(n), for n changes (an update makes two, and then
// more room), as an engine gives a table whose changes last only the
// step (Engine.stepRoom); a keyed table's single change has room of its
// own.
func (t *tableState) resolveAt(changes []Change, at []int32, room func(n int) batch) (batch, *overlay, error) {
	return t.resolveIn(changes, at, nil, 0, room)
}

// resolveIn is resolveAt for the changes of one partition of the
// table's rows, part, whose keys a split encoded (keys, when not nil):
// they are read from there, not encoded again, and not told their
// partition again.
func (t *tableState) resolveIn(changes []Change, at []int32, keys *changeKeys, part int, room func(n int) batch) (batch, *overlay, error) {
	n := len(changes)
	if at != nil {
		n = len(at)
	}
	var d batch
	add := func(row zset.Row, w int64) { d = append(d, zset.Entry{Row: row, Weight: w}) }
	var ov *overlay
	switch {
	case t.byKey != nil && n == 1:
		// A single change, as most steps of a live application make:
		// its overlay, its key's change and its entries (an update
		// makes two) in one object.
		one := &struct {
			overlay
			keyed   keyedOverlay
			change  [1]pkChange
			entries [2]zset.Entry
		}{}
		one.overlay.keyed = &one.keyed
		ov = &one.overlay
		ov.keyed.changes = one.change[:0]
		d = one.entries[:0]
	case t.byKey != nil:
		ov = t.takeOverlay(n)
		d = roomOf(room, n)
	default:
		d = roomOf(room, n)
		ov = &overlay{}
		ov.bag = zset.New()
	}
	// cancels: the batch may insert and delete one row (a key changed
	// twice, a bag row deleted); only then must it be consolidated.
	cancels := false
	var tmp [128]byte
	buf := tmp[:0] // on the stack, for a short key
	for j := range n {
		i := j
		if at != nil {
			i = int(at[j])
		}
		c := changes[i]
		if err := t.checkRow(c); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Where(i), err)
		}
		if t.byKey == nil {
			switch c.Op {
			case Insert:
				row := t.shares[0].row(c.Row)
				add(row, 1)
				ov.bag.Add(row, 1)
			case Delete:
				cancels = true
				if t.bag.Weight(c.Row)+ov.bag.Weight(c.Row) > 0 {
					add(c.Row, -1)
					ov.bag.Add(c.Row, -1)
				}
			case Update:
				return nil, nil, fmt.Errorf("%s: update needs a primary key, and table %s has none", c.Where(i), t.input.Name)
			}
			continue
		}
		if keys != nil {
			buf = keys.of(i)
		} else {
			buf = t.appendPK(buf[:0], c.Row)
			if part = 0; len(t.byKey) > 1 {
				part = partOf(buf, len(t.byKey))
			}
		}
		rows := t.byKey[part]
		h := rows.hashBytes(buf)
		at := ov.keyed.find(t, h, buf)
		var pc *pkChange
		if at >= 0 {
			pc = &ov.keyed.changes[at]
			cancels = true
		} else {
			slot := slotOf(rows, h, buf)
			ov.keyed.add(pkChange{hash: h, keyRow: c.Row, slot: slot, part: int32(part)})
			pc = &ov.keyed.changes[len(ov.keyed.changes)-1]
			if slot >= 0 {
				pc.row = rows.row(slot)
			}
		}
		old := pc.row
		switch c.Op {
		case Insert:
			if old != nil {
				return nil, nil, fmt.Errorf("%s: %w", c.Where(i), &DuplicateKeyError{Table: t.input.Name, Key: t.keyText(c.Row)})
			}
			row := t.shares[part].row(c.Row)
			add(row, 1)
			pc.row = row
		case Delete, Update:
			if old == nil {
				continue
			}
			add(old, -1)
			if c.Op == Update {
				row := t.shares[part].row(c.Row)
				add(row, 1)
				pc.row = row
			} else {
				pc.row = nil
			}
		}
	}
	// Consolidate: a row inserted and deleted in one batch is no change,
	// and must not reach an operator that could fail on it.
	if cancels {
		return toBatch(zset.FromEntries(d...)), ov, nil
	}
	// Full: an operator appending to it must not write over the room
	// a single change's entries have to spare.
	return d[:len(d):len(d)], ov, nil
}

func (t *tableState) keyText(row zset.Row) string {
	var parts []string
	for _, c := range t.input.PrimaryKey {
		parts = append(parts, t.input.Columns[c].Name+"="+types.Format(row[c], t.input.Columns[c].Type))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// checkRow checks a row against the table's columns: arity, Go types and
// nullability. A delete of a keyed table needs only its key columns.
func (t *tableState) checkRow(c Change) error {
	cols := t.input.Columns
	if len(c.Row) != len(cols) {
		return fmt.Errorf("row has %d values, table %s has %d columns", len(c.Row), t.input.Name, len(cols))
	}
	keyOnly := c.Op == Delete && t.byKey != nil
	for i := range cols {
		col := &cols[i] // not a copy: 80 bytes a column of each row
		v := c.Row[i]
		if v == nil {
			if !col.Type.Nullable && !(keyOnly && !t.isKey(i)) {
				// Declared types are non-null unless written T?, the
				// opposite of SQL: say how to declare it nullable.
				nullable := col.Type
				nullable.Nullable = true
				return fmt.Errorf("column %s: NULL in a non-null column (declare it as %s if it may be NULL)", col.Name, nullable)
			}
			continue
		}
		if surelyValid(v, col.Type.Kind) {
			continue
		}
		if err := checkValue(v, &col.Type); err != nil {
			return fmt.Errorf("column %s: %w", col.Name, err)
		}
	}
	return nil
}

// surelyValid reports whether v is a valid value of a column of kind k
// for the kinds of most key and count columns, integers and text,
// without calling checkValue: a table checks each value of each row it
// is given.
func surelyValid(v any, k types.Kind) bool {
	switch k {
	case types.Int8:
		_, ok := v.(int64)
		return ok
	case types.Int4:
		x, ok := v.(int64)
		return ok && x == int64(int32(x))
	case types.Text:
		_, ok := v.(string)
		return ok
	}
	return false
}

func (t *tableState) isKey(i int) bool {
	for _, c := range t.input.PrimaryKey {
		if c == i {
			return true
		}
	}
	return false
}

func (t *tableState) apply(ov *overlay) {
	if t.byKey == nil {
		t.taken += ov.bag.Len()
		t.bag.AddAll(ov.bag, 1)
		return
	}
	t.taken += len(ov.keyed.changes)
	if len(t.byKey) == 1 {
		t.byKey[0].apply(ov.keyed.changes)
	} else {
		for i, c := range ov.keyed.changes {
			t.byKey[c.part].apply(ov.keyed.changes[i : i+1])
		}
	}
	t.giveOverlay(ov)
}

func (t *tableState) applyDelta(d *zset.ZSet) {
	t.taken += d.Len()
	if t.byKey == nil {
		t.bag.AddAll(d, 1)
		return
	}
	d.Each(func(row zset.Row, w int64) {
		if w < 0 {
			t.byKey.del(string(t.appendPK(nil, row)))
		}
	})
	d.Each(func(row zset.Row, w int64) {
		if w > 0 {
			t.byKey.set(string(t.appendPK(nil, row)), row)
		}
	})
}

func (t *tableState) contents() *zset.ZSet {
	if t.byKey == nil {
		return t.bag
	}
	z := zset.NewSized(t.byKey.len())
	t.byKey.each(func(row zset.Row) { z.Add(row, 1) })
	return z
}

// DuplicateKeyError is an insert of a row whose primary key a row of the
// table already has.
type DuplicateKeyError struct {
	Table string
	Key   string // the key's values, as text
	Err   error  // the database's own error, when a database said so
}

func (e *DuplicateKeyError) Error() string { return "duplicate primary key " + e.Key }

func (e *DuplicateKeyError) Unwrap() error { return e.Err }

// free drops the rows the watermark has passed, which no change can
// reach any more, and returns how many rows the table keeps.
func (t *tableState) free() int {
	if t.byKey == nil {
		var final []zset.Row
		t.bag.Each(func(row zset.Row, _ int64) {
			if t.mark.isLate(row) {
				final = append(final, row)
			}
		})
		for _, row := range final {
			t.bag.Add(row, -t.bag.Weight(row))
		}
		return t.bag.Len()
	}
	var final []string
	t.byKey.each(func(row zset.Row) {
		if t.mark.isLate(row) {
			final = append(final, string(t.appendPK(nil, row)))
		}
	})
	for _, k := range final {
		t.byKey.del(k)
	}
	return t.byKey.len()
}
