package runtime

import (
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
)

// valueShare makes the rows a table keeps share the boxes of equal
// values. A row's values are interfaces, and each text or integer the
// caller boxed is an object of its own: 16 bytes for a string's header,
// 8 for an int64 of 256 or more. Rows repeat values (a line item names
// one of a few thousand products, and a basket's items arrive together),
// so a table kept as given holds a box per row for what could be one
// box per value. Before a row is kept, its values are swapped for an
// equal one's box seen before, and the row is copied to do so: the
// caller's row is not written to, and a row none of whose values are
// swapped is kept as it came. An engine given rows of its own
// (Options.OwnsRows) swaps them in the row itself, which spares a row's
// allocation. "Equal" is by representation (the same string, the same
// int64), so a kept row reads exactly as given.
//
// A numeric column's values are not shared but compacted: a decimal
// made by the decimal package is three objects (its coefficient's
// words, the big.Int, the box), and is kept as one
// (types.CompactDecimal), which a join or a sum then reads from one
// place in memory.
//
// A text column remembers the boxes of up to shareTexts values; one
// whose values rarely repeat stops sharing once it has seen that many
// (most rows would pay a lookup to save nothing and the table would keep
// a map of values its rows already hold). An integer column shares only
// with the previous row's value, which costs no memory and catches
// values that arrive in runs.
//
// A valueShare is used by one goroutine at a time: a table split over
// partitions has one for each (tableState.shares).
type valueShare struct {
	cols []columnShare // by column; kind noShare for columns not shared
	// inPlace says the rows are the engine's (Options.OwnsRows): their
	// values are swapped in the rows themselves.
	inPlace bool
}

// columnShare is the sharing of one column's values.
type columnShare struct {
	kind shareKind
	last any // the box of the previous value kept, or nil
	// texts holds the box of each text value seen in this round, nil
	// once the column has stopped sharing.
	texts map[string]any
	// seen and hits count the values of this round and those found in
	// texts, to judge whether the column's values repeat.
	seen, hits int
}

// shareKind is how a column's values are shared.
type shareKind uint8

const (
	noShare        shareKind = iota
	shareText                // by a map of values, and the previous value
	shareInt                 // with the previous value only
	compactNumeric           // not shared: made one object (types.CompactDecimal)
)

// shareTexts is the most text values a column remembers at once. A round
// that fills it starts the next afresh when at least half its values
// were found, and stops the column's sharing otherwise.
const shareTexts = 1 << 16

// newValueShare returns the sharing for rows of columns cols, in the
// rows themselves when inPlace.
func newValueShare(cols []ir.Column, inPlace bool) *valueShare {
	s := &valueShare{cols: make([]columnShare, len(cols)), inPlace: inPlace}
	for i, c := range cols {
		switch c.Type.Kind {
		case types.Text, types.UUID, types.JSONB:
			s.cols[i] = columnShare{kind: shareText, texts: map[string]any{}}
		case types.Int2, types.Int4, types.Int8:
			s.cols[i].kind = shareInt
		case types.Numeric:
			s.cols[i].kind = compactNumeric
		}
	}
	return s
}

// row returns row with its values' boxes shared: row itself when no
// value's box changes or the sharing is in place, else a copy. The row
// has the table's columns (checkRow).
func (s *valueShare) row(row []any) []any {
	if s.inPlace {
		s.shareIn(row)
		return row
	}
	out, copied := row, false
	for i := range s.cols {
		c := &s.cols[i]
		if c.kind == noShare || row[i] == nil {
			continue
		}
		box := c.share(row[i])
		if types.SameBox(box, row[i]) {
			continue
		}
		if !copied {
			out, copied = make([]any, len(row)), true
			copy(out, row)
		}
		out[i] = box
	}
	return out
}

// shareIn is row for rows that are the engine's: their boxes are
// swapped in place. An integer equal to the previous one is found here,
// without a call: the loop then keeps its few values in registers.
func (s *valueShare) shareIn(row []any) {
	for i := range s.cols {
		c := &s.cols[i]
		v := row[i]
		if c.kind == noShare || v == nil {
			continue
		}
		if c.kind == shareInt {
			if c.isLast(v) {
				row[i] = c.last
			} else {
				c.last = v
			}
			continue
		}
		if box := c.share(v); !types.SameBox(box, v) {
			row[i] = box
		}
	}
}

// isLast reports whether v, an integer, is the previous value kept: the
// box an integer column shares.
func (c *columnShare) isLast(v any) bool {
	last, ok := c.last.(int64)
	return ok && last == v.(int64)
}

// share returns the box to keep for v: an equal value's kept before, or
// v's own.
func (c *columnShare) share(v any) any {
	switch c.kind {
	case compactNumeric:
		return types.CompactDecimal(v)
	case shareInt:
		if c.isLast(v) {
			return c.last
		}
	case shareText:
		str := v.(string)
		if last, ok := c.last.(string); ok && last == str {
			return c.last
		}
		if c.texts != nil {
			v = c.text(str, v)
		}
	}
	c.last = v
	return v
}

// text returns the box kept for str, filing v, its own box, when there
// is none, and ends the round when the map is full.
func (c *columnShare) text(str string, v any) any {
	c.seen++
	if kept, ok := c.texts[str]; ok {
		c.hits++
		return kept
	}
	if len(c.texts) >= shareTexts {
		if 2*c.hits < c.seen {
			c.texts = nil // the values do not repeat: stop
			return v
		}
		clear(c.texts)
		c.seen, c.hits = 1, 0
	}
	c.texts[str] = v
	return v
}
