package runtime

import (
	"hash/maphash"
	"slices"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// pkSeed hashes primary keys; the hashes live only in memory.
var pkSeed = maphash.MakeSeed()

// pkRows is a keyed table's rows by primary key. It keeps, rather than
// each row's key encoding (a string per row), a 64-bit hash of it, and
// tells rows whose keys share a hash apart by encoding their keys again:
// fewer bytes per row, and no object per row beyond the row.
type pkRows struct {
	pk []int // the key's columns
	// rows holds the rows by slot, in chunks of rowChunk so that a table
	// that grows never copies them; nil for a free slot.
	rows [][]zset.Row
	n    int32            // slots used, free ones included
	free []int32          // free slots
	at   map[uint64]int32 // key hash -> slot of a row with that hash
	// same holds the slots of rows whose key hash a row in at has too:
	// found by scanning, almost always empty.
	same []int32
	mask uint64 // of the hash's bits, all but in tests of collisions
}

func newPKRows(pk []int) *pkRows { return &pkRows{pk: pk, at: map[uint64]int32{}, mask: ^uint64(0)} }

func (p *pkRows) hash(key string) uint64 { return maphash.String(pkSeed, key) & p.mask }

// keyIs reports whether row's primary key encodes as key.
func (p *pkRows) keyIs(row zset.Row, key string) bool {
	var tmp [64]byte
	b := tmp[:0]
	for _, c := range p.pk {
		b = types.AppendKey(b, row[c])
	}
	return string(b) == key
}

// slot returns the slot of the row of key (its encoding, hashing to h),
// or -1; taken reports whether at holds a row of hash h.
func (p *pkRows) slot(h uint64, key string) (_ int32, taken bool) {
	i, taken := p.at[h]
	if taken && p.keyIs(*p.row(i), key) {
		return i, true
	}
	for _, i := range p.same {
		if p.keyIs(*p.row(i), key) {
			return i, taken
		}
	}
	return -1, taken
}

// rowChunk is the number of slots in one chunk of pkRows.rows.
const rowChunk = 1024

// row returns the place of slot i.
func (p *pkRows) row(i int32) *zset.Row { return &p.rows[i/rowChunk][i%rowChunk] }

// get returns the row whose primary key encodes as key, or nil.
func (p *pkRows) get(key string) zset.Row {
	if i, _ := p.slot(p.hash(key), key); i >= 0 {
		return *p.row(i)
	}
	return nil
}

// set makes row the row of key, its primary key's encoding.
func (p *pkRows) set(key string, row zset.Row) {
	h := p.hash(key)
	i, taken := p.slot(h, key)
	if i >= 0 {
		*p.row(i) = row
		return
	}
	p.insert(h, row, taken)
}

// insert adds row, of a key the table does not hold, whose encoding
// hashes to h; taken is what slot said of h.
func (p *pkRows) insert(h uint64, row zset.Row, taken bool) {
	var i int32
	if n := len(p.free); n > 0 {
		i = p.free[n-1]
		p.free = p.free[:n-1]
		*p.row(i) = row
	} else {
		i = p.n
		p.n++
		if i%rowChunk == 0 {
			size := rowChunk
			if i == 0 {
				size = 8 // a small table stays small
			}
			p.rows = append(p.rows, make([]zset.Row, 0, size))
		}
		last := len(p.rows) - 1
		p.rows[last] = append(p.rows[last], row)
	}
	if taken {
		p.same = append(p.same, i)
	} else {
		p.at[h] = i
	}
}

// del removes the row of key, if there is one.
func (p *pkRows) del(key string) {
	h := p.hash(key)
	if i, _ := p.slot(h, key); i >= 0 {
		p.delAt(h, i)
	}
}

// delAt removes the row in slot i, whose key hashes to h.
func (p *pkRows) delAt(h uint64, i int32) {
	if j, ok := p.at[h]; ok && j == i {
		delete(p.at, h)
		// A row of the same hash, if any, takes its place in at.
		for k, s := range p.same {
			if p.hash(string(p.appendKey(nil, *p.row(s)))) == h {
				p.at[h] = s
				p.same = slices.Delete(p.same, k, k+1)
				break
			}
		}
	} else {
		p.same = slices.DeleteFunc(p.same, func(s int32) bool { return s == i })
	}
	*p.row(i) = nil
	p.free = append(p.free, i)
}

// apply makes a batch's changes, which resolve found the slots of: no
// key is looked up again.
func (p *pkRows) apply(changes []pkChange) {
	for _, c := range changes {
		switch {
		case c.slot >= 0 && c.row != nil:
			*p.row(c.slot) = c.row
		case c.slot >= 0:
			p.delAt(c.hash, c.slot)
		case c.row != nil:
			p.insert(c.hash, c.row, c.taken)
		}
	}
}

func (p *pkRows) appendKey(buf []byte, row zset.Row) []byte {
	for _, c := range p.pk {
		buf = types.AppendKey(buf, row[c])
	}
	return buf
}

// len returns the number of rows.
func (p *pkRows) len() int { return int(p.n) - len(p.free) }

// each calls f for every row, in no particular order.
func (p *pkRows) each(f func(zset.Row)) {
	for _, chunk := range p.rows {
		for _, row := range chunk {
			if row != nil {
				f(row)
			}
		}
	}
}
