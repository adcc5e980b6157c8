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

// rankingDegree is the degree of a ranking's B-tree. A group of a few
// hundred rows, top-k's usual, then fits in a node or a few: fewer nodes
// made and split, and fewer bytes allocated as they grow, than with 16,
// for a longer move of items on insert that costs less.
const rankingDegree = 32

// NewRanking returns an empty ranking for order keys that are descending
// where desc says.
func NewRanking(desc []bool) *Ranking {
	r := &Ranking{Desc: desc}
	r.Rows = newBTree(rankingDegree, func(a, b RankedRow) bool {
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
	if types.SameRowKey(a.Row, b.Row) {
		// One row (the same in memory, as sorting compares a row with
		// itself, or another copy of it, as a retraction brings): no
		// encoding to work out.
		return 0
	}
	return strings.Compare(a.identity(), b.identity())
}

// identity returns the row's identity, types.RowKey(Row): the last
// tie-break of the order, between rows equal as values but spelled
// differently (1.5, 1.50). It is worked out when needed rather than
// kept, as few rows are ever compared that far.
func (r RankedRow) identity() string { return types.RowKey(r.Row) }

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
// them. A value that is one box in both rows is equal without a look at
// it: rows a ranking compares for equal are often made of the same rows'
// values (a join's pair and its retraction).
func compareRowsNullsLast(x, y zset.Row) int {
	for i := range min(len(x), len(y)) {
		if types.SameBox(x[i], y[i]) {
			continue
		}
		if c := compareSortValues(x[i], y[i]); c != 0 {
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
// A row new to the ranking and a row's last copy deleted, the common
// cases, cost one descent of the tree each; a row whose copies are
// counted up or down, two.
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
	item, found := r.Rows.Delete(row)
	if !found {
		item = row
		item.Count = 0
	}
	item.Count += w
	switch {
	case item.Count < 0:
		if found {
			r.Rows.ReplaceOrInsert(withCount(item, item.Count-w))
		}
		return negativeCopies(row, item.Count)
	case item.Count > 0:
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
// to the first rows after, both in the ranking's order as topWalk gives
// them: each row's copies after less its copies before, where they
// differ, found by merging the two lists.
func appendTopChange(out batch, order *Ranking, before, after []RankedRow) batch {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		var o int
		switch {
		case i == len(before):
			o = 1
		case j == len(after):
			o = -1
		default:
			o = order.order(before[i], after[j])
		}
		switch {
		case o < 0:
			out = append(out, zset.Entry{Row: before[i].Row, Weight: -before[i].Count})
			i++
		case o > 0:
			out = append(out, zset.Entry{Row: after[j].Row, Weight: after[j].Count})
			j++
		default:
			if w := after[j].Count - before[i].Count; w != 0 {
				out = append(out, zset.Entry{Row: after[j].Row, Weight: w})
			}
			i++
			j++
		}
	}
	return out
}

// topGroup is the changes a step makes to one window or session group.
type topGroup struct {
	key     zset.Row
	changes []topChange
}

// topChange is one input change routed to its window or session group.
type topChange struct {
	row RankedRow
	w   int64
}

// topK emits, per group the step's changes touch, the difference between
// its first N rows after the changes and before them, and updates the
// groups' rankings when the step commits. A group costs O(c log c) to
// sort its c changes, O(log size + N + c) to read its first rows before
// and after in one walk, and O(c log size) to apply the changes at
// commit, in place: the stored states are not copied. Rows of different
// groups differ, so the groups' differences are simply appended.
func (s *stepRun) topK(ctx context.Context, n *ir.Node, op *ir.TopK) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	rb, keys, groups, err := routeRanked(op, d)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	store := s.store.Groups(n.ID)
	olds, err := store.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out batch
	w := topWalk{rb: rb}
	for i, g := range groups {
		g.changes = rb.net(g.changes)
		groups[i] = g
		var old *Ranking
		if olds[i] != nil {
			old = olds[i].Ranked
		}
		if err := w.run(old, g.changes, op.N); err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		out = appendTopChange(out, rb.order, w.before, w.after)
	}
	s.writes = append(s.writes, func(ctx context.Context) error {
		return store.Put(ctx, keys, rb.apply(olds, groups))
	})
	return out, nil
}

// rankedBatch is a step's changes to a top-k with their order keys,
// laid out group by group, so that sorting and applying a group's
// changes reads memory in order. The changes are routed and sorted as
// positions, small to move about; a change's RankedRow is made when it
// is compared or stored.
type rankedBatch struct {
	rows []zset.Row
	nBy  int // the number of order keys
	// sortAt, when not -1, is the column where the order keys start,
	// they being that column and those following it in order, as a
	// single column key is: a row's order keys are then a slice of the
	// row itself, and sorts is empty.
	sortAt  int
	sorts   []any   // the order keys' values, nBy per change
	leads   []int64 // each change's lead, where hasLead says it has one
	hasLead []bool
	order   *Ranking // the ranking's order, for comparisons
}

// rankedGroup is the net changes a step makes to one top-k group.
type rankedGroup struct {
	key     zset.Row
	changes []netChange
}

// netChange is a change to a top-k group's row: the row's position in
// the rankedBatch, and its weight.
type netChange struct {
	at int32
	w  int64
}

// row returns change i's RankedRow, for the step: its order keys may
// lie in the batch's array of them (see kept).
func (rb *rankedBatch) row(i int32) RankedRow {
	var sort []any
	if rb.sortAt >= 0 {
		sort = rb.rows[i][rb.sortAt : rb.sortAt+rb.nBy : rb.sortAt+rb.nBy]
	} else {
		sort = rb.sorts[int(i)*rb.nBy : int(i+1)*rb.nBy : int(i+1)*rb.nBy]
	}
	return RankedRow{Sort: sort, Row: rb.rows[i], lead: rb.leads[i], hasLead: rb.hasLead[i]}
}

// kept returns change i's RankedRow, for a ranking to keep: its order
// keys are a slice of the row or an array of their own, never of the
// batch's array, which a row kept for years would otherwise hold alive
// whole, with every value in it.
func (rb *rankedBatch) kept(i int32) RankedRow {
	row := rb.row(i)
	if rb.sortAt < 0 {
		row.Sort = slices.Clone(row.Sort)
	}
	return row
}

// keyColumns returns the column where the order keys by start when they
// are that column and the ones following it, in order; -1 when they are
// not.
func keyColumns(by []ir.OrderKey) int {
	at := -1
	for i, k := range by {
		c, ok := k.Key.Column()
		if !ok || i > 0 && c != at+i {
			return -1
		}
		if i == 0 {
			at = c
		}
	}
	return at
}

// routeRanked evaluates each change's group key and order keys, and
// returns the changes with their order keys, and the groups they touch,
// by key (types.KeyOf) in order of first appearance, each with its
// changes in the order given.
func routeRanked(op *ir.TopK, d batch) (*rankedBatch, []string, []rankedGroup, error) {
	of, sizes, keys, groupKeys, err := groupTopChanges(op.Per, d)
	if err != nil {
		return nil, nil, nil, err
	}
	nBy := len(op.By)
	rb := &rankedBatch{
		rows: make([]zset.Row, len(d)), nBy: nBy, sortAt: keyColumns(op.By),
		leads: make([]int64, len(d)), hasLead: make([]bool, len(d)),
		order: &Ranking{Desc: descending(op.By)},
	}
	if rb.sortAt < 0 {
		rb.sorts = make([]any, len(d)*nBy)
	}
	all := make([]netChange, len(d))
	parts, next := layOut(all, sizes), sizes
	groups := make([]rankedGroup, len(groupKeys))
	for g := range groups {
		groups[g] = rankedGroup{key: groupKeys[g], changes: parts[g]}
	}
	for j, e := range d {
		at := next[of[j]]
		next[of[j]]++
		rb.rows[at] = e.Row
		if rb.sortAt < 0 {
			sortKey := rb.sorts[int(at)*nBy : int(at+1)*nBy]
			for i, k := range op.By {
				if sortKey[i], err = k.Key.Eval(e.Row); err != nil {
					return nil, nil, nil, err
				}
			}
		}
		if nBy > 0 {
			rb.leads[at], rb.hasLead[at] = leadOf(rb.row(at).Sort[0], op.By[0].Desc)
		}
		all[at] = netChange{at: at, w: e.Weight}
	}
	return rb, keys, groups, nil
}

// apply adds each group's net changes to its state, in place, or to a
// new state for a group that had none, and returns the states. The
// changes were checked when the step ran: no count goes negative.
func (rb *rankedBatch) apply(olds []*GroupState, groups []rankedGroup) []*GroupState {
	for i, g := range groups {
		st := olds[i]
		if st == nil {
			st = &GroupState{Key: g.key, Ranked: NewRanking(rb.order.Desc)}
			olds[i] = st
		}
		for _, c := range g.changes {
			st.Count += c.w
			_ = st.Ranked.add(rb.kept(c.at), c.w)
		}
	}
	return olds
}

// net sorts changes in the ranking's order and sums the changes of each
// row, dropping those that cancel. It reuses changes' array.
func (rb *rankedBatch) net(changes []netChange) []netChange {
	slices.SortFunc(changes, func(a, b netChange) int { return rb.order.order(rb.row(a.at), rb.row(b.at)) })
	out := changes[:0]
	for _, c := range changes {
		if k := len(out) - 1; k >= 0 && rb.order.order(rb.row(out[k].at), rb.row(c.at)) == 0 {
			out[k].w += c.w
			if out[k].w == 0 {
				out = out[:k]
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// order is the ranking's order, as its B-tree has it: by the leads
// where both rows have one and they differ, otherwise in full.
func (r *Ranking) order(a, b RankedRow) int {
	if a.hasLead && b.hasLead && a.lead != b.lead {
		return cmp.Compare(a.lead, b.lead)
	}
	return r.compare(a, b)
}

// topWalk reads a top-k group's first rows before a step and after it in
// one walk of the group's ranking, merged with the step's net changes.
type topWalk struct {
	rb            *rankedBatch
	before, after []RankedRow // the first rows, each with its copies among them
	changes       []netChange // the changes not yet passed
	leftB, leftA  int64       // copies still to take into before and after
}

// run walks ranking old (nil for a new group) with changes, net and in
// order, and sets w.before and w.after to the first n rows before and
// after them. It fails when a change would leave a row with fewer than
// no copies.
func (w *topWalk) run(old *Ranking, changes []netChange, n int64) error {
	w.before, w.after, w.changes = w.before[:0], w.after[:0], changes
	w.leftB, w.leftA = max(n, 0), max(n, 0)
	var err error
	if old != nil && w.leftA+w.leftB > 0 {
		old.Rows.Ascend(func(it RankedRow) bool {
			err = w.visit(it)
			return err == nil && w.leftA+w.leftB > 0
		})
	}
	if err != nil {
		return err
	}
	// The changes left are of rows ranked after every row walked: rows
	// new to the group, when the walk went through it all.
	for len(w.changes) > 0 && w.leftA > 0 {
		c := w.changes[0]
		w.changes = w.changes[1:]
		if err := w.take(w.rb.row(c.at), c.w); err != nil {
			return err
		}
	}
	return w.check(old)
}

// visit takes the changes ranked before row it, a row of the ranking,
// then it with its change, if any.
func (w *topWalk) visit(it RankedRow) error {
	count := it.Count
	for len(w.changes) > 0 {
		c := w.changes[0]
		row := w.rb.row(c.at)
		o := w.rb.order.order(row, it)
		if o > 0 {
			break
		}
		w.changes = w.changes[1:]
		if o == 0 {
			count += c.w
			break
		}
		if err := w.take(row, c.w); err != nil {
			return err
		}
	}
	if w.leftB > 0 {
		k := min(it.Count, w.leftB)
		w.leftB -= k
		w.before = append(w.before, withCount(it, k))
	}
	return w.take(it, count)
}

// take adds a row with count copies after the step to after.
func (w *topWalk) take(row RankedRow, count int64) error {
	if count < 0 {
		return negativeCopies(row, count)
	}
	if count > 0 && w.leftA > 0 {
		k := min(count, w.leftA)
		w.leftA -= k
		w.after = append(w.after, withCount(row, k))
	}
	return nil
}

// check fails if a change the walk did not reach deletes more copies of
// its row than old has.
func (w *topWalk) check(old *Ranking) error {
	for _, c := range w.changes {
		if c.w > 0 {
			continue
		}
		row := w.rb.row(c.at)
		var have int64
		if old != nil {
			if it, ok := old.Rows.Get(row); ok {
				have = it.Count
			}
		}
		if have+c.w < 0 {
			return negativeCopies(row, have+c.w)
		}
	}
	return nil
}

func withCount(row RankedRow, count int64) RankedRow {
	row.Count = count
	return row
}

func negativeCopies(row RankedRow, count int64) error {
	return fmt.Errorf("row %s has negative weight %d: more rows deleted than inserted", types.Format(row.Row, types.Type{Kind: types.Record}), count)
}

// rankedGroups is what window and session start a step with: the
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
// first appearance, each with its changes in the order given, as
// routeRanked routes them.
func routeTopChanges(op *ir.TopK, d batch) ([]string, []topGroup, error) {
	rb, keys, ranked, err := routeRanked(op, d)
	if err != nil {
		return nil, nil, err
	}
	byGroup := make([]topChange, len(d))
	groups := make([]topGroup, len(ranked))
	for g, rg := range ranked {
		for _, c := range rg.changes {
			byGroup[c.at] = topChange{row: rb.kept(c.at), w: c.w}
		}
		start, end := rg.changes[0].at, rg.changes[len(rg.changes)-1].at+1
		groups[g] = topGroup{key: rg.key, changes: byGroup[start:end:end]}
	}
	return keys, groups, nil
}

// groupTopChanges evaluates each change's group key (per) and returns
// each change's group, how many changes each group has, and the groups'
// keys, encoded and as values, in order of first appearance. A change
// of the previous change's group, as a join's pairs of one row come,
// is known by its key without a look-up.
func groupTopChanges(per []ir.Scalar, d batch) (of, sizes []int32, keys []string, groupKeys []zset.Row, err error) {
	of = make([]int32, len(d))
	at := map[string]int32{}
	keyVals := make(zset.Row, len(per))
	var kbuf []byte
	last := int32(-1)
	for j, e := range d {
		kbuf = kbuf[:0]
		for i := range per {
			v, err := per[i].Eval(e.Row) // not a copy of the Scalar: 224 bytes
			if err != nil {
				return nil, nil, nil, nil, err
			}
			keyVals[i] = v
			kbuf = types.AppendKey(kbuf, v)
		}
		if last >= 0 && keys[last] == string(kbuf) {
			sizes[last]++
			of[j] = last
			continue
		}
		g, ok := at[string(kbuf)]
		if !ok {
			g = int32(len(keys))
			k := string(kbuf)
			at[k] = g
			keys = append(keys, k)
			groupKeys = append(groupKeys, slices.Clone(keyVals))
			sizes = append(sizes, 0)
		}
		sizes[g]++
		of[j], last = g, g
	}
	return of, sizes, keys, groupKeys, nil
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
