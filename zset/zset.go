// Package zset implements Z-sets, the collections of DBSP: maps from rows
// to non-zero integer weights. A positive weight counts copies of a row; a
// negative weight, in a change, retracts copies. Z-sets form an abelian
// group under Add, which is what makes incremental computation compose.
package zset

import (
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/stepping-io/stepping/types"
)

// Row is one tuple: a value per column, in the types package's mapping.
type Row = []any

// Entry is a row with its weight.
type Entry struct {
	Row    Row
	Weight int64
}

// ZSet maps rows to weights. Rows of weight zero are never stored. The zero
// value is not usable; call New.
//
// A row's identity is its encoding as spelled (types.RowKey), but a Z-set
// files its rows by a 64-bit hash of that encoding rather than by the
// encoding itself: no string is made and kept per row, and a Z-set added
// to another hands over its hashes, so a change is hashed once on its way
// into a view's contents. Rows whose hashes collide are told apart by
// comparing their encodings; the second of two such rows, which in
// practice never comes, is filed by its key in a map of its own.
//
// Entries are held by value: no object per row for the garbage collector
// to find and scan. A Z-set of a few rows, as a small step's changes are,
// keeps them in a slice, scanned, rather than in a map: a map's smallest
// table takes several times the room and must be made.
type ZSet struct {
	m     map[uint64]Entry // by hash; nil while the rows are few
	spill map[string]Entry // by key, the rows whose hash a row in m has
	small []hashedEntry    // the rows while m is nil
	// lazy, when not nil, holds the entries of a Z-set made by Lazy or
	// Consolidated, added up when it is first used; nil once changed.
	lazy *lazyEntries
}

// lazyEntries are the entries of a Z-set that adds them up on first use,
// once, whichever goroutine uses it first.
type lazyEntries struct {
	once sync.Once
	es   []Entry
	// distinct says es holds each row once, with a weight not zero
	// (Consolidated): the Z-set's rows as they are, which Len and Each
	// read without hashing any.
	distinct bool
}

// hashedEntry is an entry with its row's hash.
type hashedEntry struct {
	hash uint64
	Entry
}

// smallRows is the most rows a Z-set keeps in a slice.
const smallRows = 8

// seed is the hash seed of every Z-set, so that one can take over
// another's hashes. It is set once, when the program starts.
var seed = maphash.MakeSeed()

// hashMask cuts hashes short; tests narrow it to make rows collide.
var hashMask = ^uint64(0)

// hashRow returns the hash of row's identity.
func hashRow(row Row) uint64 {
	var buf [128]byte
	return maphash.Bytes(seed, types.AppendRowKey(buf[:0], row)) & hashMask
}

// New returns an empty Z-set.
func New() *ZSet { return &ZSet{} }

// NewSized returns an empty Z-set with room for about n rows. A Z-set
// of up to four rows, as a small step's changes to a view make, is made
// with its rows' room in one object: one allocation, not two.
func NewSized(n int) *ZSet {
	switch {
	case n <= 0:
		return &ZSet{}
	case n == 1:
		b := new(struct {
			z    ZSet
			rows [1]hashedEntry
		})
		b.z.small = b.rows[:0]
		return &b.z
	case n == 2:
		b := new(struct {
			z    ZSet
			rows [2]hashedEntry
		})
		b.z.small = b.rows[:0]
		return &b.z
	case n <= 4:
		b := new(struct {
			z    ZSet
			rows [4]hashedEntry
		})
		b.z.small = b.rows[:0]
		return &b.z
	}
	z := &ZSet{}
	z.makeRoom(n)
	return z
}

// makeRoom gives an empty z room for about n rows: a slice while they
// are few (smallRows), else a map.
func (z *ZSet) makeRoom(n int) {
	if n <= smallRows {
		z.small = make([]hashedEntry, 0, n)
	} else {
		z.m = make(map[uint64]Entry, n)
	}
}

// reserve gives z, while its rows are in the slice, a table with room
// for them and n more when that is more than the slice holds: a load's
// rows added to empty contents then fill the table without growing it.
func (z *ZSet) reserve(n int) {
	if z.m != nil || len(z.small)+n <= smallRows {
		return
	}
	small := z.small
	z.m, z.small = make(map[uint64]Entry, len(small)+n), nil
	for _, e := range small {
		z.add(e.hash, e.Row, e.Weight) // two rows may share a hash
	}
}

// Lazy returns the Z-set of entries es, added up when the Z-set is first
// used rather than now: a step's changes to a view that nothing reads
// then cost only their list, not a hash of every row. The caller must
// not change es afterwards. Readers may use the Z-set from several
// goroutines at once, as any Z-set they do not change.
func Lazy(es []Entry) *ZSet { return lazyOf(es, false) }

// Consolidated is Lazy for entries that hold each row once (as
// types.SameRowKey tells rows apart), none of weight zero: an
// aggregate's changes, one row a changed group. Its rows are read (Len,
// Each, Entries) straight from es; only a lookup or an addition hashes
// them.
func Consolidated(es []Entry) *ZSet { return lazyOf(es, true) }

// lazyOf is Lazy, or Consolidated when distinct, however few the
// entries: even a single change's two rows cost more to hash than to
// list, and a view's changes are often read by nothing.
func lazyOf(es []Entry, distinct bool) *ZSet {
	// The Z-set and its entries in one object.
	b := new(struct {
		z ZSet
		l lazyEntries
	})
	b.l.es, b.l.distinct = es, distinct
	b.z.lazy = &b.l
	return &b.z
}

// distinctEntries returns the entries of a Z-set made by Consolidated
// and not changed since, or false.
func (z *ZSet) distinctEntries() ([]Entry, bool) {
	if l := z.lazy; l != nil && l.distinct {
		return l.es, true
	}
	return nil, false
}

// toChange readies z to be changed: its entries added up, and no longer
// read as its rows.
func (z *ZSet) toChange() {
	z.settle()
	z.lazy = nil
}

// settle adds up the entries of a Z-set made by Lazy or Consolidated,
// once.
func (z *ZSet) settle() {
	if z.lazy == nil {
		return
	}
	z.lazy.once.Do(func() {
		es := z.lazy.es
		if !z.lazy.distinct {
			z.lazy.es = nil // read by nothing else
		}
		z.makeRoom(len(es))
		for _, e := range es {
			if e.Weight != 0 {
				z.add(hashRow(e.Row), e.Row, e.Weight)
			}
		}
	})
}

// FromEntries builds a Z-set by adding each entry in turn.
func FromEntries(es ...Entry) *ZSet {
	z := NewSized(len(es))
	for _, e := range es {
		z.Add(e.Row, e.Weight)
	}
	return z
}

// Add adds w copies of row (removes them if w is negative).
func (z *ZSet) Add(row Row, w int64) {
	z.toChange()
	if w != 0 {
		z.add(hashRow(row), row, w)
	}
}

// add is Add of a row whose hash is h, for a non-zero w.
func (z *ZSet) add(h uint64, row Row, w int64) {
	if z.m == nil {
		z.addSmall(h, row, w)
		return
	}
	e, ok := z.m[h]
	switch {
	case !ok:
		z.m[h] = Entry{Row: row, Weight: w}
	case types.SameRowKey(e.Row, row):
		if e.Weight += w; e.Weight != 0 {
			z.m[h] = e
			return
		}
		delete(z.m, h)
		z.promote(h)
	default:
		z.addSpill(row, w)
	}
}

// addSmall is add while the rows are in the slice.
func (z *ZSet) addSmall(h uint64, row Row, w int64) {
	for i := range z.small {
		if e := &z.small[i]; e.hash == h && types.SameRowKey(e.Row, row) {
			if e.Weight += w; e.Weight == 0 {
				z.small = append(z.small[:i], z.small[i+1:]...)
			}
			return
		}
	}
	if len(z.small) < smallRows {
		z.small = append(z.small, hashedEntry{h, Entry{Row: row, Weight: w}})
		return
	}
	small := z.small
	z.m, z.small = make(map[uint64]Entry, 2*smallRows), nil
	for _, e := range small {
		z.add(e.hash, e.Row, e.Weight)
	}
	z.add(h, row, w)
}

// addSpill adds w copies of a row whose hash another row has.
func (z *ZSet) addSpill(row Row, w int64) {
	k := types.RowKey(row)
	e, ok := z.spill[k]
	switch {
	case !ok && z.spill == nil:
		z.spill = map[string]Entry{k: {Row: row, Weight: w}}
	case !ok:
		z.spill[k] = Entry{Row: row, Weight: w}
	case e.Weight+w == 0:
		delete(z.spill, k)
	default:
		e.Weight += w
		z.spill[k] = e
	}
}

// promote moves a spilled row of hash h, if there is one, into m, whose
// entry of that hash has gone: a row is spilled only while another of
// its hash is in m, which lookups rely on.
func (z *ZSet) promote(h uint64) {
	for k, e := range z.spill {
		if hashRow(e.Row) == h {
			delete(z.spill, k)
			z.m[h] = e
			return
		}
	}
}

// AddAll adds every entry of other, scaled by factor.
func (z *ZSet) AddAll(other *ZSet, factor int64) {
	if factor == 0 {
		return
	}
	z.toChange()
	if es, ok := other.distinctEntries(); ok {
		// Each row once (Consolidated): added from the list as it is,
		// each hashed once, rather than first filed in a table of
		// other's own that is read once and dropped.
		z.reserve(len(es))
		for _, e := range es {
			z.add(hashRow(e.Row), e.Row, e.Weight*factor)
		}
		return
	}
	other.settle()
	if factor == 1 && z.IsEmpty() && other.m != nil {
		// A copy of other's tables, its rows hashed already: a view's
		// first contents, a load's, come in whole.
		z.m, z.spill, z.small = maps.Clone(other.m), maps.Clone(other.spill), nil
		return
	}
	other.eachHashed(func(h uint64, row Row, w int64) { z.add(h, row, w*factor) })
}

// eachHashed calls f for every row with its hash and weight.
func (z *ZSet) eachHashed(f func(h uint64, row Row, w int64)) {
	z.settle()
	if z.m == nil {
		for _, e := range z.small {
			f(e.hash, e.Row, e.Weight)
		}
		return
	}
	for h, e := range z.m {
		f(h, e.Row, e.Weight)
	}
	for _, e := range z.spill {
		f(hashRow(e.Row), e.Row, e.Weight)
	}
}

// get returns the entry of row, whose hash is h.
func (z *ZSet) get(h uint64, row Row) (Entry, bool) {
	z.settle()
	if z.m == nil {
		for _, e := range z.small {
			if e.hash == h && types.SameRowKey(e.Row, row) {
				return e.Entry, true
			}
		}
		return Entry{}, false
	}
	e, ok := z.m[h]
	switch {
	case !ok:
		return Entry{}, false
	case types.SameRowKey(e.Row, row):
		return e, true
	case z.spill == nil:
		return Entry{}, false
	}
	e, ok = z.spill[types.RowKey(row)]
	return e, ok
}

// Weight returns the weight of row, zero if absent.
func (z *ZSet) Weight(row Row) int64 {
	e, _ := z.get(hashRow(row), row)
	return e.Weight
}

// Len returns the number of distinct rows.
func (z *ZSet) Len() int {
	if es, ok := z.distinctEntries(); ok {
		return len(es)
	}
	z.settle()
	if z.m != nil {
		return len(z.m) + len(z.spill)
	}
	return len(z.small)
}

// IsEmpty reports whether z has no rows.
func (z *ZSet) IsEmpty() bool { return z.Len() == 0 }

// Each calls f for every row and weight, in no particular order.
func (z *ZSet) Each(f func(row Row, w int64)) {
	if es, ok := z.distinctEntries(); ok {
		for _, e := range es {
			f(e.Row, e.Weight)
		}
		return
	}
	z.settle()
	if z.m == nil {
		for _, e := range z.small {
			f(e.Row, e.Weight)
		}
		return
	}
	for _, e := range z.m {
		f(e.Row, e.Weight)
	}
	for _, e := range z.spill {
		f(e.Row, e.Weight)
	}
}

// Entries returns the rows and weights sorted by row, for deterministic
// output and comparison.
func (z *ZSet) Entries() []Entry {
	out := make([]Entry, 0, z.Len())
	z.Each(func(row Row, w int64) { out = append(out, Entry{Row: row, Weight: w}) })
	slices.SortFunc(out, func(a, b Entry) int {
		if c := types.CompareRows(a.Row, b.Row); c != 0 {
			return c
		}
		// Equal values spelled differently (1.5, 1.50): by spelling.
		return strings.Compare(types.RowKey(a.Row), types.RowKey(b.Row))
	})
	return out
}

// Clone returns a copy of z sharing its rows (rows are never mutated).
func (z *ZSet) Clone() *ZSet {
	z.settle()
	if z.m == nil {
		return &ZSet{small: slices.Clone(z.small)}
	}
	return &ZSet{m: maps.Clone(z.m), spill: maps.Clone(z.spill)}
}

// Negate returns -z.
func (z *ZSet) Negate() *ZSet {
	c := z.Clone()
	for i := range c.small {
		c.small[i].Weight = -c.small[i].Weight
	}
	for h, e := range c.m {
		e.Weight = -e.Weight
		c.m[h] = e
	}
	for k, e := range c.spill {
		e.Weight = -e.Weight
		c.spill[k] = e
	}
	return c
}

// Plus returns z + other without changing either.
func (z *ZSet) Plus(other *ZSet) *ZSet {
	c := z.Clone()
	c.AddAll(other, 1)
	return c
}

// Minus returns z - other without changing either.
func (z *ZSet) Minus(other *ZSet) *ZSet {
	c := z.Clone()
	c.AddAll(other, -1)
	return c
}

// Equal reports whether z and other hold the same rows with the same weights.
func (z *ZSet) Equal(other *ZSet) bool {
	if z.Len() != other.Len() {
		return false
	}
	equal := true
	z.eachHashed(func(h uint64, row Row, w int64) {
		if o, ok := other.get(h, row); !ok || o.Weight != w {
			equal = false
		}
	})
	return equal
}

// Distinct returns one row of weight 1 for each class of equal rows
// (equal as SQL's = says, so 1.5 and 1.50 are one class) that has rows of
// positive weight: the one of them with the smallest identity.
func (z *ZSet) Distinct() *ZSet {
	type choice struct {
		key string // the representative's identity
		row Row
	}
	best := map[string]choice{} // by class
	z.Each(func(row Row, w int64) {
		if w <= 0 {
			return
		}
		class, k := types.KeyOf(row), types.RowKey(row)
		if cur, ok := best[class]; !ok || k < cur.key {
			best[class] = choice{k, row}
		}
	})
	c := NewSized(len(best))
	for _, b := range best {
		c.Add(b.row, 1)
	}
	return c
}

// IsSet reports whether every weight is one.
func (z *ZSet) IsSet() bool {
	set := true
	z.Each(func(_ Row, w int64) { set = set && w == 1 })
	return set
}

// HasNegative reports whether any weight is negative.
func (z *ZSet) HasNegative() bool {
	negative := false
	z.Each(func(_ Row, w int64) { negative = negative || w < 0 })
	return negative
}
