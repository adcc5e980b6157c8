package runtime

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/btree"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Ranking is the ordered multiset of a top-k group's rows.
type Ranking struct {
	Desc []bool // per order key, whether it is descending
	Rows *btree.BTreeG[RankedRow]
}

// RankedRow is a row of a top-k group with its order key values and its
// multiplicity.
type RankedRow struct {
	Sort  []any    // the values of the order keys
	Row   zset.Row // the row
	ID    string   // types.RowKey(Row), the last tie-break
	Count int64
	// lead, where hasLead is set, orders the row by its first order key
	// in that key's direction: never against the full order, so rows
	// with different leads compare by them alone. Rows made outside
	// this package have none and compare in full.
	lead    int64
	hasLead bool
}

// leadOf returns a number that orders v among the values of an order
// key as the ranking does (ascending, NULL last; inverted for a
// descending key) without ever contradicting it: two values with
// different leads compare as their leads do; equal leads say nothing.
// It reports false for the types it does not cover.
func leadOf(v any, desc bool) (int64, bool) {
	var k int64
	switch x := v.(type) {
	case nil:
		k = math.MaxInt64 // after every value, ascending
	case int64:
		k = x
	case time.Time:
		if sec := x.Unix(); sec > maxLeadSeconds || sec < -maxLeadSeconds {
			return 0, false // its microseconds would overflow
		}
		k = x.UnixMicro()
	case string:
		var b [8]byte
		copy(b[:], x)
		k = int64(binary.BigEndian.Uint64(b[:]) ^ 1<<63)
	default:
		return 0, false
	}
	if desc {
		k = ^k
	}
	return k, true
}

// maxLeadSeconds bounds the times whose microseconds since 1970 an int64
// holds, with room to spare.
const maxLeadSeconds = 9_000_000_000_000

// NewRanking returns an empty ranking for order keys that are descending
// where desc says.
func NewRanking(desc []bool) *Ranking {
	r := &Ranking{Desc: desc}
	r.Rows = btree.NewG(16, func(a, b RankedRow) bool {
		if a.hasLead && b.hasLead && a.lead != b.lead {
			return a.lead < b.lead
		}
		return r.compare(a, b) < 0
	})
	return r
}

// compare orders two ranked rows: by the order keys, each ascending with
// NULLs last or descending with NULLs first; then by the rows' columns
// in order, ascending with NULLs last; then by identity, so that rows
// equal as values but spelled differently (1.5, 1.50) have an order.
func (r *Ranking) compare(a, b RankedRow) int {
	if c := compareSortKeys(r, a, b); c != 0 {
		return c
	}
	if c := compareRowsNullsLast(a.Row, b.Row); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// compareSortValues is compareNullsLast, quicker for the usual order
// keys: integers, text and timestamps.
func compareSortValues(a, b any) int {
	switch x := a.(type) {
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	}
	return compareNullsLast(a, b)
}

// compareRowsNullsLast is compareNullsLast for two rows, without boxing
// them.
func compareRowsNullsLast(x, y zset.Row) int {
	for i := range min(len(x), len(y)) {
		if c := compareNullsLast(x[i], y[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x), len(y))
}

// compareNullsLast orders values as types.Compare does, except that NULL
// sorts after every other value, inside arrays and records too, as in
// Postgres's ORDER BY ... ASC.
func compareNullsLast(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if x, ok := a.([]any); ok {
		y := b.([]any)
		for i := range min(len(x), len(y)) {
			if c := compareNullsLast(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	}
	return types.Compare(a, b)
}

// add adds w copies of a row; it fails when copies would go negative.
// A row new to the ranking, the common case, costs one descent of the
// tree; a row already there, two.
func (r *Ranking) add(row RankedRow, w int64) error {
	if w > 0 {
		row.Count = w
		old, found := r.Rows.ReplaceOrInsert(row)
		if found {
			old.Count += w
			r.Rows.ReplaceOrInsert(old)
		}
		return nil
	}
	item, found := r.Rows.Get(row)
	if !found {
		item = row
		item.Count = 0
	}
	item.Count += w
	switch {
	case item.Count < 0:
		return fmt.Errorf("row %s has negative weight %d: more rows deleted than inserted", types.Format(row.Row, types.Type{Kind: types.Record}), item.Count)
	case item.Count == 0:
		r.Rows.Delete(item)
	default:
		r.Rows.ReplaceOrInsert(item)
	}
	return nil
}

// top appends to buf the group's first n rows, each with, as its Count,
// the copies of it among them: at most n items, found in O(log size + n).
func (r *Ranking) top(n int64, buf []RankedRow) []RankedRow {
	if n <= 0 {
		return buf
	}
	r.Rows.Ascend(func(it RankedRow) bool {
		it.Count = min(it.Count, n)
		buf = append(buf, it)
		n -= it.Count
		return n > 0
	})
	return buf
}

// appendTopChange appends to out the change from the first rows before
// to the first rows after, both as top gives them: each row's copies
// after less its copies before, where they differ. The rows of a
// ranking have distinct IDs.
func appendTopChange(out batch, before, after []RankedRow) batch {
	var at map[string]int // after's positions by ID, for a long top
	if len(after) > 32 {
		at = make(map[string]int, len(after))
		for i, it := range after {
			at[it.ID] = i
		}
	}
	find := func(id string) int {
		if at != nil {
			if i, ok := at[id]; ok {
				return i
			}
			return -1
		}
		for i := range after {
			if after[i].ID == id {
				return i
			}
		}
		return -1
	}
	var matched []bool
	if len(before) > 0 {
		matched = make([]bool, len(after))
	}
	for _, b := range before {
		w := -b.Count
		if i := find(b.ID); i >= 0 {
			matched[i] = true
			w += after[i].Count
		}
		if w != 0 {
			out = append(out, zset.Entry{Row: b.Row, Weight: w})
		}
	}
	for i, a := range after {
		if matched == nil || !matched[i] {
			out = append(out, zset.Entry{Row: a.Row, Weight: a.Count})
		}
	}
	return out
}

// topGroup is the changes a step makes to one top-k group.
type topGroup struct {
	key     zset.Row
	changes []topChange
}

// topChange is one input change routed to its top-k group.
type topChange struct {
	row RankedRow
	w   int64
}

// topK updates the ranking of each group the step's changes touch and
// emits, per group, the difference between its first N rows after the
// changes and before them. A group costs O(log size) per change and
// O(log size + N) to read its first rows twice, whatever its size; rows
// of different groups differ, so the groups' differences are simply
// appended.
func (s *stepRun) topK(ctx context.Context, n *ir.Node, op *ir.TopK) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	rg, err := s.rankedGroups(ctx, n, op.By, op.Per, d)
	if err != nil {
		return nil, err
	}
	news := make([]*GroupState, len(rg.keys))
	var out batch
	var before, after []RankedRow
	for i := range rg.groups {
		st, err := rg.changed(i)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		before = before[:0]
		if old := rg.olds[i]; old != nil {
			before = old.Ranked.top(op.N, before)
		}
		after = st.Ranked.top(op.N, after[:0])
		out = appendTopChange(out, before, after)
		news[i] = st
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return rg.store.Put(ctx, rg.keys, news) })
	return out, nil
}

// rankedGroups is what top-k, window and session start a step with: the
// groups of their changes (by the per keys, with the order keys by of
// each row), their stored states, and the ranking order.
type rankedGroups struct {
	keys   []string
	groups []topGroup
	olds   []*GroupState
	desc   []bool
	store  Groups
}

// rankedGroups routes the changes d of node n to their groups and reads
// the groups' states.
func (s *stepRun) rankedGroups(ctx context.Context, n *ir.Node, by []ir.OrderKey, per []ir.Scalar, d batch) (rankedGroups, error) {
	keys, groups, err := routeTopChanges(&ir.TopK{By: by, Per: per}, d)
	if err != nil {
		return rankedGroups{}, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	store := s.store.Groups(n.ID)
	olds, err := store.Get(ctx, keys)
	if err != nil {
		return rankedGroups{}, err
	}
	return rankedGroups{keys: keys, groups: groups, olds: olds, desc: descending(by), store: store}, nil
}

// changed returns group i's state with the step's changes applied: a
// copy of its stored state, or a new one for a new group. The stored
// state is left as it was, for the operator to compare with.
func (rg rankedGroups) changed(i int) (*GroupState, error) {
	g := rg.groups[i]
	var st *GroupState
	if old := rg.olds[i]; old == nil {
		st = &GroupState{Key: g.key, Ranked: NewRanking(rg.desc)}
	} else {
		st = old.clone()
	}
	for _, c := range g.changes {
		st.Count += c.w
		if err := st.Ranked.add(c.row, c.w); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// routeTopChanges evaluates each change's group key and order keys and
// returns the groups the changes touch, by key (types.KeyOf) in order of
// first appearance, each with its changes in the order given. The group
// keys are encoded into one reused buffer, and the changes laid out
// group by group in one array.
func routeTopChanges(op *ir.TopK, d batch) ([]string, []topGroup, error) {
	nBy := len(op.By)
	sorts := make([]any, len(d)*nBy)
	all := make([]topChange, len(d))
	of := make([]int32, len(d)) // each change's group
	var keys []string
	var groups []topGroup
	var sizes []int32
	at := map[string]int32{}
	keyVals := make(zset.Row, len(op.Per))
	var kbuf []byte
	for j, e := range d {
		kbuf = kbuf[:0]
		for i, p := range op.Per {
			v, err := p.Eval(e.Row)
			if err != nil {
				return nil, nil, err
			}
			keyVals[i] = v
			kbuf = types.AppendKey(kbuf, v)
		}
		sortKey := sorts[j*nBy : (j+1)*nBy : (j+1)*nBy]
		for i, k := range op.By {
			var err error
			if sortKey[i], err = k.Key.Eval(e.Row); err != nil {
				return nil, nil, err
			}
		}
		g, ok := at[string(kbuf)]
		if !ok {
			g = int32(len(groups))
			k := string(kbuf)
			at[k] = g
			keys = append(keys, k)
			groups = append(groups, topGroup{key: slices.Clone(keyVals)})
			sizes = append(sizes, 0)
		}
		sizes[g]++
		of[j] = g
		row := RankedRow{Sort: sortKey, Row: e.Row, ID: types.RowKey(e.Row)}
		if nBy > 0 {
			row.lead, row.hasLead = leadOf(sortKey[0], op.By[0].Desc)
		}
		all[j] = topChange{row, e.Weight}
	}
	byGroup := make([]topChange, len(all))
	next := make([]int32, len(groups)) // where the next change of each group goes
	var start int32
	for g, size := range sizes {
		next[g] = start
		groups[g].changes = byGroup[start : start+size]
		start += size
	}
	for j, c := range all {
		byGroup[next[of[j]]] = c
		next[of[j]]++
	}
	return keys, groups, nil
}

// descending says, per order key, whether it is descending, as a
// Ranking takes it.
func descending(by []ir.OrderKey) []bool {
	desc := make([]bool, len(by))
	for i, k := range by {
		desc[i] = k.Desc
	}
	return desc
}
