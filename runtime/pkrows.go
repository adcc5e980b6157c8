package runtime

import (
	"fmt"
	"hash/maphash"
	"unsafe"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// pkSeed hashes primary keys; the hashes live only in memory.
var pkSeed = maphash.MakeSeed()

// pkRows is a keyed table's rows by primary key. It keeps, rather than
// each row's key encoding (a string per row), 32 bits of a hash of it in
// an open-addressed table of 8-byte entries, and tells rows whose keys
// share those bits apart by encoding their keys again: fewer bytes per
// row than a Go map, no object per row beyond the row, and one cache
// line read to find a key. Each row is kept as a pointer to its first
// column, every row of a table having its columns: 8 bytes a row rather
// than a slice's 24.
type pkRows struct {
	pk []int // the key's columns
	// rows holds the rows by slot, each as a pointer to its first
	// column, in chunks of rowChunk so that a table that grows never
	// copies them; nil for a free slot.
	rows  [][]*any
	width int     // the columns of every row; 0 until the first
	n     int32   // slots used, free ones included
	free  []int32 // free slots
	// table finds a key's slot: linear probing from the position its
	// tag gives, entries moved back on delete, so no tombstones.
	table []pkEntry
	used  int    // entries in table
	mask  uint64 // of the hash's bits, all but in tests of collisions
}

// pkEntry is one entry of pkRows.table: a key's tag and its slot plus
// one; zero for an empty entry.
type pkEntry struct {
	tag   uint32
	slot1 int32
}

func newPKRows(pk []int) *pkRows { return &pkRows{pk: pk, mask: ^uint64(0)} }

func (p *pkRows) hash(key string) uint64 { return maphash.String(pkSeed, key) & p.mask }

// tagOf is the part of a key's hash the table keeps.
func tagOf(h uint64) uint32 { return uint32(h>>32) ^ uint32(h) }

// home is where a tag's probing starts: its place scaled to the table
// (no power-of-two size needed).
func (p *pkRows) home(tag uint32) int { return int(uint64(tag) * uint64(len(p.table)) >> 32) }

func (p *pkRows) next(i int) int {
	if i++; i == len(p.table) {
		return 0
	}
	return i
}

// hashBytes is hash for a key held as bytes (the same hash).
func (p *pkRows) hashBytes(key []byte) uint64 { return maphash.Bytes(pkSeed, key) & p.mask }

// keyIs reports whether row's primary key encodes as key.
func keyIs[K ~string | ~[]byte](p *pkRows, row zset.Row, key K) bool {
	var tmp [64]byte
	return string(p.appendKey(tmp[:0], row)) == string(key)
}

// slot returns the slot of the row of key (its encoding, hashing to h),
// or -1.
func (p *pkRows) slot(h uint64, key string) int32 { return slotOf(p, h, key) }

// slotOf is slot for a key held as a string or as bytes: a batch's keys
// are encoded into a buffer, which a string would copy.
func slotOf[K ~string | ~[]byte](p *pkRows, h uint64, key K) int32 {
	if len(p.table) == 0 {
		return -1
	}
	tag := tagOf(h)
	for i := p.home(tag); ; i = p.next(i) {
		e := p.table[i]
		if e.slot1 == 0 {
			return -1
		}
		if e.tag == tag && keyIs(p, p.row(e.slot1-1), key) {
			return e.slot1 - 1
		}
	}
}

// rowChunk is the number of slots in one chunk of pkRows.rows.
const rowChunk = 1024

// row returns the row in slot i, nil for a free slot. The row's
// capacity is its length.
func (p *pkRows) row(i int32) zset.Row {
	c := p.rows[i/rowChunk][i%rowChunk]
	if c == nil {
		return nil
	}
	return unsafe.Slice(c, p.width)
}

// put makes row, which is not nil, the row in slot i.
func (p *pkRows) put(i int32, row zset.Row) { p.rows[i/rowChunk][i%rowChunk] = p.first(row) }

// first returns a pointer to row's first column, which is what pkRows
// keeps of a row: the table's rows all have its columns (resolve checks
// each change), as the first row set tells.
func (p *pkRows) first(row zset.Row) *any {
	if len(row) != p.width {
		if p.width != 0 || len(row) == 0 {
			panic(fmt.Sprintf("runtime: a row of %d columns in a table of rows of %d", len(row), p.width))
		}
		p.width = len(row)
	}
	return unsafe.SliceData(row)
}

// get returns the row whose primary key encodes as key, or nil.
func (p *pkRows) get(key string) zset.Row {
	if i := p.slot(p.hash(key), key); i >= 0 {
		return p.row(i)
	}
	return nil
}

// set makes row the row of key, its primary key's encoding.
func (p *pkRows) set(key string, row zset.Row) {
	h := p.hash(key)
	if i := p.slot(h, key); i >= 0 {
		p.put(i, row)
		return
	}
	p.insert(h, row)
}

// insert adds row, of a key the table does not hold, whose encoding
// hashes to h.
func (p *pkRows) insert(h uint64, row zset.Row) {
	var i int32
	if n := len(p.free); n > 0 {
		i = p.free[n-1]
		p.free = p.free[:n-1]
		p.put(i, row)
	} else {
		i = p.n
		p.n++
		if i%rowChunk == 0 {
			size := rowChunk
			if i == 0 {
				size = 8 // a small table stays small
			}
			p.rows = append(p.rows, make([]*any, 0, size))
		}
		last := len(p.rows) - 1
		p.rows[last] = append(p.rows[last], p.first(row))
	}
	if (p.used+1)*4 > len(p.table)*3 {
		p.grow()
	}
	p.place(pkEntry{tag: tagOf(h), slot1: i + 1})
}

// place puts e in the first empty entry from its home on.
func (p *pkRows) place(e pkEntry) {
	j := p.home(e.tag)
	for p.table[j].slot1 != 0 {
		j = p.next(j)
	}
	p.table[j] = e
	p.used++
}

// grow makes the table half as big again (at least 8 entries) and
// places its entries again. Half again, not double: a table that grows
// is then from a half to three quarters full, 16 to 11 bytes a row,
// rather than from three eighths, 21 bytes, for half as many entries
// again placed again as it grows.
func (p *pkRows) grow() {
	old := p.table
	p.table, p.used = make([]pkEntry, max(8, len(old)+len(old)/2)), 0
	for _, e := range old {
		if e.slot1 != 0 {
			p.place(e)
		}
	}
}

// del removes the row of key, if there is one.
func (p *pkRows) del(key string) {
	h := p.hash(key)
	if i := p.slot(h, key); i >= 0 {
		p.delAt(h, i)
	}
}

// delAt removes the row in slot i, whose key hashes to h, moving back the
// entries after its own that probing would no longer reach.
func (p *pkRows) delAt(h uint64, i int32) {
	at := p.home(tagOf(h))
	for p.table[at].slot1 != i+1 {
		at = p.next(at)
	}
	for j := p.next(at); p.table[j].slot1 != 0; j = p.next(j) {
		// The entry at j stays when its home is cyclically in (at, j].
		k := p.home(p.table[j].tag)
		if (at < j && at < k && k <= j) || (at > j && (at < k || k <= j)) {
			continue
		}
		p.table[at] = p.table[j]
		at = j
	}
	p.table[at] = pkEntry{}
	p.used--
	p.rows[i/rowChunk][i%rowChunk] = nil
	p.free = append(p.free, i)
}

// apply makes a batch's changes, which resolve found the slots of: no
// key is looked up again.
func (p *pkRows) apply(changes []pkChange) {
	for _, c := range changes {
		switch {
		case c.slot >= 0 && c.row != nil:
			p.put(c.slot, c.row)
		case c.slot >= 0:
			p.delAt(c.hash, c.slot)
		case c.row != nil:
			p.insert(c.hash, c.row)
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
		for _, c := range chunk {
			if c != nil {
				f(unsafe.Slice(c, p.width))
			}
		}
	}
}
