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
// to find and scan.
type ZSet struct {
	m map[string]Entry
}

// New returns an empty Z-set.
func New() *ZSet { return &ZSet{m: make(map[string]Entry)} }

// NewSized returns an empty Z-set with room for about n rows.
func NewSized(n int) *ZSet { return &ZSet{m: make(map[string]Entry, n)} }

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
}

// AddAll adds every entry of other, scaled by factor.
func (z *ZSet) AddAll(other *ZSet, factor int64) {
	for k, e := range other.m {
		z.AddKeyed(k, e.Row, e.Weight*factor)
	}
}

// Weight returns the weight of row, zero if absent.
func (z *ZSet) Weight(row Row) int64 {
	if e, ok := z.m[types.RowKey(row)]; ok {
		return e.Weight
	}
	return 0
}

// Len returns the number of distinct rows.
func (z *ZSet) Len() int { return len(z.m) }

// IsEmpty reports whether z has no rows.
func (z *ZSet) IsEmpty() bool { return len(z.m) == 0 }

// Each calls f for every row and weight, in no particular order.
func (z *ZSet) Each(f func(row Row, w int64)) {
	for _, e := range z.m {
		f(e.Row, e.Weight)
	}
}

// EachKeyed is Each with the row's key.
func (z *ZSet) EachKeyed(f func(key string, row Row, w int64)) {
	for k, e := range z.m {
		f(k, e.Row, e.Weight)
	}
}

// Entries returns the rows and weights sorted by row, for deterministic
// output and comparison.
func (z *ZSet) Entries() []Entry {
	out := make([]Entry, 0, len(z.m))
	for _, e := range z.m {
		out = append(out, e)
	}
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
	return &ZSet{m: maps.Clone(z.m)}
}

// Negate returns -z.
func (z *ZSet) Negate() *ZSet {
	c := NewSized(len(z.m))
	for k, e := range z.m {
		c.m[k] = Entry{Row: e.Row, Weight: -e.Weight}
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
	if len(z.m) != len(other.m) {
		return false
	}
	for k, e := range z.m {
		o, ok := other.m[k]
		if !ok || o.Weight != e.Weight {
			return false
		}
	}
	return true
}

// Distinct returns one row of weight 1 for each class of equal rows
// (equal as SQL's = says, so 1.5 and 1.50 are one class) that has rows of
// positive weight: the one of them with the smallest identity.
func (z *ZSet) Distinct() *ZSet {
	best := map[string]string{} // class -> identity of its representative
	for k, e := range z.m {
		if e.Weight <= 0 {
			continue
		}
		class := types.KeyOf(e.Row)
		if cur, ok := best[class]; !ok || k < cur {
			best[class] = k
		}
	}
	c := New()
	for _, k := range best {
		c.m[k] = Entry{Row: z.m[k].Row, Weight: 1}
	}
	return c
}

// IsSet reports whether every weight is one.
func (z *ZSet) IsSet() bool {
	for _, e := range z.m {
		if e.Weight != 1 {
			return false
		}
	}
	return true
}

// HasNegative reports whether any weight is negative.
func (z *ZSet) HasNegative() bool {
	for _, e := range z.m {
		if e.Weight < 0 {
			return true
		}
	}
	return false
}
