// Package zset implements Z-sets, the collections of DBSP: maps from rows
// to non-zero integer weights. A positive weight counts copies of a row; a
// negative weight, in a change, retracts copies. Z-sets form an abelian
// group under Add, which is what makes incremental computation compose.
package zset

import (
	"maps"
	"slices"
	"strings"

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
// Entries are held by value: no object per row for the garbage collector
// to find and scan. A Z-set of a few rows, as a small step's changes are,
// keeps them in a slice, scanned, rather than in a map: a map's smallest
// table takes several times the room and must be made.
type ZSet struct {
	m     map[string]Entry // nil while the rows are few
	small []keyedEntry     // the rows while m is nil
}

// keyedEntry is an entry of a small Z-set with its row's key.
type keyedEntry struct {
	key string
	Entry
}

// smallRows is the most rows a Z-set keeps in a slice.
const smallRows = 8

// New returns an empty Z-set.
func New() *ZSet { return &ZSet{} }

// NewSized returns an empty Z-set with room for about n rows.
func NewSized(n int) *ZSet {
	if n <= smallRows {
		return &ZSet{small: make([]keyedEntry, 0, n)}
	}
	return &ZSet{m: make(map[string]Entry, n)}
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
	z.AddKeyed(types.RowKey(row), row, w)
}

// AddKeyed is Add for a caller that already has the row's key.
func (z *ZSet) AddKeyed(key string, row Row, w int64) {
	if w == 0 {
		return
	}
	if z.m != nil {
		if e, ok := z.m[key]; ok {
			e.Weight += w
			if e.Weight == 0 {
				delete(z.m, key)
			} else {
				z.m[key] = e
			}
			return
		}
		z.m[key] = Entry{Row: row, Weight: w}
		return
	}
	for i := range z.small {
		if e := &z.small[i]; e.key == key {
			if e.Weight += w; e.Weight == 0 {
				z.small = append(z.small[:i], z.small[i+1:]...)
			}
			return
		}
	}
	if len(z.small) < smallRows {
		z.small = append(z.small, keyedEntry{key, Entry{Row: row, Weight: w}})
		return
	}
	z.m = make(map[string]Entry, 2*smallRows)
	for _, e := range z.small {
		z.m[e.key] = e.Entry
	}
	z.small = nil
	z.m[key] = Entry{Row: row, Weight: w}
}

// AddAll adds every entry of other, scaled by factor.
func (z *ZSet) AddAll(other *ZSet, factor int64) {
	if factor == 1 && z.IsEmpty() && other.m != nil {
		// A copy of other's table, its keys hashed already: a view's
		// first contents, a load's, come in whole.
		z.m, z.small = maps.Clone(other.m), nil
		return
	}
	if other.m == nil {
		for _, e := range other.small {
			z.AddKeyed(e.key, e.Row, e.Weight*factor)
		}
		return
	}
	for k, e := range other.m {
		z.AddKeyed(k, e.Row, e.Weight*factor)
	}
}

// get returns the entry of the row whose key is key.
func (z *ZSet) get(key string) (Entry, bool) {
	if z.m != nil {
		e, ok := z.m[key]
		return e, ok
	}
	for _, e := range z.small {
		if e.key == key {
			return e.Entry, true
		}
	}
	return Entry{}, false
}

// Weight returns the weight of row, zero if absent.
func (z *ZSet) Weight(row Row) int64 {
	e, _ := z.get(types.RowKey(row))
	return e.Weight
}

// Len returns the number of distinct rows.
func (z *ZSet) Len() int {
	if z.m != nil {
		return len(z.m)
	}
	return len(z.small)
}

// IsEmpty reports whether z has no rows.
func (z *ZSet) IsEmpty() bool { return z.Len() == 0 }

// Each calls f for every row and weight, in no particular order.
func (z *ZSet) Each(f func(row Row, w int64)) {
	z.EachKeyed(func(_ string, row Row, w int64) { f(row, w) })
}

// EachKeyed is Each with the row's key.
func (z *ZSet) EachKeyed(f func(key string, row Row, w int64)) {
	if z.m == nil {
		for _, e := range z.small {
			f(e.key, e.Row, e.Weight)
		}
		return
	}
	for k, e := range z.m {
		f(k, e.Row, e.Weight)
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
	if z.m == nil {
		return &ZSet{small: slices.Clone(z.small)}
	}
	return &ZSet{m: maps.Clone(z.m)}
}

// Negate returns -z.
func (z *ZSet) Negate() *ZSet {
	c := NewSized(z.Len())
	z.EachKeyed(func(k string, row Row, w int64) { c.AddKeyed(k, row, -w) })
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
	z.EachKeyed(func(k string, _ Row, w int64) {
		if o, ok := other.get(k); !ok || o.Weight != w {
			equal = false
		}
	})
	return equal
}

// Distinct returns one row of weight 1 for each class of equal rows
// (equal as SQL's = says, so 1.5 and 1.50 are one class) that has rows of
// positive weight: the one of them with the smallest identity.
func (z *ZSet) Distinct() *ZSet {
	best := map[string]string{} // class -> identity of its representative
	z.EachKeyed(func(k string, row Row, w int64) {
		if w <= 0 {
			return
		}
		class := types.KeyOf(row)
		if cur, ok := best[class]; !ok || k < cur {
			best[class] = k
		}
	})
	c := NewSized(len(best))
	for _, k := range best {
		e, _ := z.get(k)
		c.AddKeyed(k, e.Row, 1)
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
