package runtime

import (
	"context"
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// rowChange is a row with its net change of weight in a step.
type rowChange struct {
	row zset.Row
	w   int64
}

// keyedChanges is a step's changes to one side of a join, grouped by join
// key in order of first appearance, equal rows consolidated and rows whose
// changes cancel dropped.
type keyedChanges struct {
	keys  []string
	byKey map[string][]rowChange
	nulls batch // the changes of rows whose key has a NULL, as given
}

func groupByKey(d batch, key []ir.Scalar) (*keyedChanges, error) {
	g := &keyedChanges{byKey: map[string][]rowChange{}}
	at := map[string]map[string]int{} // key -> row key -> position in byKey[key]
	for _, e := range d {
		k, hasNull, err := ir.EvalKey(key, e.Row)
		if err != nil {
			return nil, err
		}
		if hasNull {
			g.nulls = append(g.nulls, e)
			continue
		}
		ks := types.KeyOf(k)
		rows, seen := at[ks]
		if !seen {
			rows = map[string]int{}
			at[ks] = rows
			g.keys = append(g.keys, ks)
		}
		rk := types.RowKey(e.Row)
		if i, ok := rows[rk]; ok {
			g.byKey[ks][i].w += e.Weight
			continue
		}
		rows[rk] = len(g.byKey[ks])
		g.byKey[ks] = append(g.byKey[ks], rowChange{e.Row, e.Weight})
	}
	for _, ks := range g.keys {
		rows := g.byKey[ks][:0]
		for _, r := range g.byKey[ks] {
			if r.w != 0 {
				rows = append(rows, r)
			}
		}
		g.byKey[ks] = rows
	}
	return g, nil
}

// semiJoin computes the change of a semi-join (the left rows that have a
// match on the right) or of an anti-join (those that have none).
//
// A left row l of weight w is in the output with weight w when it is
// matched (anti: when it is not), matched meaning m(l) > 0 where m(l) is
// the total weight of the right rows of its key that satisfy the
// condition; without a condition m(l) is the count of its key on the
// right. With wb, mb before the step and wa, ma after, l's change is
// wa·[ma > 0] − wb·[mb > 0] (anti: [m = 0]). Only the keys of the step's
// changes can change, and under such a key:
//
//   - a left row of Δl whose match status the step cannot change (Δr has
//     nothing under its key, or, without a condition, the key's count
//     stays zero or stays positive) changes by its Δw when matched;
//   - otherwise every left row of the key may change status, and the
//     key's left rows before the step, z⁻¹(I l), are read and re-matched
//     against the right rows before and after.
//
// So without a condition a right change reads only counts, and reads left
// rows only for keys whose count crosses zero. The condition is evaluated
// only on pairs of rows present together before the step or after it,
// never on a pair the step inserts one of and deletes the other.
func (s *stepRun) semiJoin(ctx context.Context, n *ir.Node, op *ir.SemiJoin) (batch, error) {
	dl, dr := s.in(n, 0), s.in(n, 1)
	if len(dl) == 0 && len(dr) == 0 {
		return nil, nil
	}
	left, err := groupByKey(dl, op.LeftKey)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	right, err := groupByKey(dr, op.RightKey)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	var out batch
	if op.Anti {
		// A row whose key has a NULL never matches.
		out = append(out, left.nulls...)
	}
	keys := append([]string{}, left.keys...)
	for _, k := range right.keys {
		if _, onLeft := left.byKey[k]; !onLeft {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	others, err := s.integral(n, 3).Lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	var recheck []string
	for i, k := range keys {
		if len(right.byKey[k]) > 0 && (op.Cond != nil || crossesZero(others[i], right.byKey[k])) {
			recheck = append(recheck, k)
		}
	}
	before := map[string][]zset.Entry{}
	if len(recheck) > 0 {
		found, err := s.integral(n, 2).Lookup(ctx, recheck)
		if err != nil {
			return nil, err
		}
		for i, k := range recheck {
			before[k] = found[i]
		}
	}
	m := matcher{op: op}
	for i, k := range keys {
		if rows, ok := before[k]; ok {
			out, err = m.recheck(out, rows, left.byKey[k], others[i], right.byKey[k])
		} else {
			out, err = m.changed(out, left.byKey[k], others[i])
		}
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
	}
	return out, nil
}

// crossesZero reports whether a key's count on the right goes from zero
// to positive or back when the changes dr are added to the entries before.
func crossesZero(before []zset.Entry, dr []rowChange) bool {
	var cb int64
	for _, e := range before {
		cb += e.Weight
	}
	ca := cb
	for _, r := range dr {
		ca += r.w
	}
	return (cb > 0) != (ca > 0)
}

// matcher decides which left rows of one key are matched.
type matcher struct{ op *ir.SemiJoin }

// matches reports whether the pair of left row l and right row r satisfies
// the condition (there is none: every pair of equal keys does).
func (m matcher) matches(l, r zset.Row) (bool, error) {
	if m.op.Cond == nil {
		return true, nil
	}
	row := concat(l, r)
	if m.op.Swapped {
		row = concat(r, l)
	}
	v, err := m.op.Cond.Eval(row)
	return v == true, err
}

// count returns the total weight of the right entries matching l.
func (m matcher) count(l zset.Row, rights []zset.Entry) (int64, error) {
	var c int64
	for _, r := range rights {
		ok, err := m.matches(l, r.Row)
		if err != nil {
			return 0, err
		}
		if ok {
			c += r.Weight
		}
	}
	return c, nil
}

// emit appends the change of left row row: wa·[ma matches] − wb·[mb
// matches], where a semi-join keeps matched rows and an anti-join
// unmatched ones.
func (m matcher) emit(out batch, row zset.Row, wb, wa, mb, ma int64) batch {
	keep := func(c int64) int64 {
		if (c > 0) != m.op.Anti {
			return 1
		}
		return 0
	}
	if w := wa*keep(ma) - wb*keep(mb); w != 0 {
		out = append(out, zset.Entry{Row: row, Weight: w})
	}
	return out
}

// changed handles a key under which only the rows of Δl can change: their
// match status is the same before and after, counted against the right
// rows (or key count) before the step.
func (m matcher) changed(out batch, dl []rowChange, rights []zset.Entry) (batch, error) {
	for _, l := range dl {
		c, err := m.count(l.row, rights)
		if err != nil {
			return nil, err
		}
		out = m.emit(out, l.row, 0, l.w, c, c)
	}
	return out, nil
}

// weighed is a row with its weights before and after the step.
type weighed struct {
	row        zset.Row
	before, at int64
}

// merge returns the rows of before with the changes d added.
func merge(before []zset.Entry, d []rowChange) []weighed {
	out := make([]weighed, 0, len(before)+len(d))
	at := make(map[string]int, len(before)+len(d))
	for _, e := range before {
		at[types.RowKey(e.Row)] = len(out)
		out = append(out, weighed{e.Row, e.Weight, e.Weight})
	}
	for _, c := range d {
		k := types.RowKey(c.row)
		if i, ok := at[k]; ok {
			out[i].at += c.w
			continue
		}
		at[k] = len(out)
		out = append(out, weighed{c.row, 0, c.w})
	}
	return out
}

// recheck handles a key under which rows already on the left may change
// status: every left row of the key, before and after, is matched against
// the right rows before and after.
func (m matcher) recheck(out batch, lb []zset.Entry, dl []rowChange, rb []zset.Entry, dr []rowChange) (batch, error) {
	lefts, rights := merge(lb, dl), merge(rb, dr)
	var cb, ca int64 // without a condition, every left row's counts
	for _, r := range rights {
		cb += r.before
		ca += r.at
	}
	for _, l := range lefts {
		mb, ma := cb, ca
		if m.op.Cond != nil {
			mb, ma = 0, 0
			for _, r := range rights {
				then, now := l.before != 0 && r.before != 0, l.at != 0 && r.at != 0
				if !then && !now {
					continue // never present together
				}
				ok, err := m.matches(l.row, r.row)
				if err != nil {
					return nil, err
				}
				if ok && then {
					mb += r.before
				}
				if ok && now {
					ma += r.at
				}
			}
		}
		out = m.emit(out, l.row, l.before, l.at, mb, ma)
	}
	return out, nil
}

// keyMatch pairs the keys of a join's changes on the left with those on
// the right: the keys both sides changed in a step.
type keyMatch struct {
	right []int32 // per left key, the right key equal to it, or -1
	left  []int32 // per right key, the left key equal to it, or -1
	any   bool    // whether some key is on both sides
}

// matchKeys finds the keys both dl and dr have, each by the hash it was
// found by in its own batch when it has one.
func matchKeys(dl, dr *keyedRows) keyMatch {
	var m keyMatch
	if len(dl.rows) == 0 || len(dr.rows) == 0 {
		return m
	}
	m.right = make([]int32, len(dl.keys))
	m.left = make([]int32, len(dr.keys))
	for rk := range m.left {
		m.left[rk] = -1
	}
	for lk, key := range dl.keys {
		m.right[lk] = -1
		var h uint64
		if dr.needsHash() {
			h = dl.hash(lk)
		}
		if rk, ok := dr.find(h, key); ok {
			m.right[lk] = rk
			m.left[rk] = int32(lk)
			m.any = true
		}
	}
	return m
}

// leftOnly reports whether left key k is one the right did not change.
func (m keyMatch) leftOnly(k int32) bool { return !m.any || m.right[k] < 0 }

// rightOnly reports whether right key k is one the left did not change.
func (m keyMatch) rightOnly(k int32) bool { return !m.any || m.left[k] < 0 }

// size returns how many pairs the join of dl and dr can make at most,
// given the integrals' rows under their keys, for the output's capacity.
func (m keyMatch) size(dl, dr *keyedRows, rightBefore, leftBefore [][]zset.Entry) int {
	n := 0
	for _, l := range dl.rows {
		n += len(rightBefore[l.k])
	}
	for _, r := range dr.rows {
		n += len(leftBefore[r.k])
	}
	if m.any {
		left := make([]int, len(dl.keys))
		for _, l := range dl.rows {
			left[l.k]++
		}
		for _, r := range dr.rows {
			if lk := m.left[r.k]; lk >= 0 {
				n += left[lk]
			}
		}
	}
	return n
}

// byKey returns the changes of kr by key, in one array.
func (kr *keyedRows) byKey() [][]keyed {
	sizes := make([]int32, len(kr.keys))
	for _, r := range kr.rows {
		sizes[r.k]++
	}
	all := make([]keyed, len(kr.rows))
	groups, next := layOut(all, sizes), sizes
	for _, r := range kr.rows {
		all[next[r.k]] = r
		next[r.k]++
	}
	return groups
}

// pairRows makes an operator's output rows (a join's pairs, a select's
// rows) carved out of shared arrays of pairChunk rows: a few
// allocations for a step's rows rather than one each.
type pairRows struct {
	free []any
	// picks, when not nil, is the columns of a pair's row a join keeps
	// (see joinPicks).
	picks []int
	// arena, when not nil, holds the rows, which live only as long as
	// the step (see rowArena).
	arena *rowArena
	// left is how many rows the operator may still make (its size), so
	// that a step of few rows allocates for few.
	left int
}

// pairChunk is how many rows' columns pairRows allocates at once: few
// enough that a row kept long keeps little else alive with it.
const pairChunk = 32

// row returns a new row of n columns, all nil.
func (p *pairRows) row(n int) zset.Row {
	if p.arena != nil {
		return p.arena.row(n)
	}
	if len(p.free) < n {
		p.free = make([]any, n*min(pairChunk, max(p.left, 1)))
	}
	p.left--
	r := p.free[:n:n]
	p.free = p.free[n:]
	return r
}

// concat returns a new row of a's columns then b's, or of those the
// join keeps.
func (p *pairRows) concat(a, b zset.Row) zset.Row {
	if p.picks != nil {
		return p.pick(a, b)
	}
	r := p.row(len(a) + len(b))
	// Value by value: a row is a few values, for which a copy's call (a
	// typed one, for the collector) costs more than the values.
	for i, v := range a {
		r[i] = v
	}
	rb := r[len(a):]
	for i, v := range b {
		rb[i] = v
	}
	return r
}

// bothChanged joins the rows under a key both sides of a join changed.
// A pair (l, r) of weights l₀, r₀ before the step and changes δl, δr
// changes by (l₀+δl)(r₀+δr) − l₀r₀ = δl·δr + δl·r₀ + l₀·δr: the three
// terms of the join, summed here per pair by finding each changed row
// among the rows before, so that each pair comes out once, unless the
// changes only add rows, when no term can cancel (appendTerms).
type bothChanged struct {
	left, right [][]keyed        // each side's changes by key
	ids         map[string]int32 // changed rows by identity, reused per key and side
	buf         []byte
}

// changedRow is a row a step changed: its weight before the step and
// its change.
type changedRow struct {
	row            zset.Row
	before, change int64
}

// appendPairs appends to out the changes of the pairs under left key lk
// and right key rk (one key), whose rows before the step are leftBefore
// and rightBefore.
func (j *bothChanged) appendPairs(out batch, pairs *pairRows, dl, dr *keyedRows, lk, rk int32, leftBefore, rightBefore []zset.Entry) batch {
	if inserts(dl, j.left[lk]) && inserts(dr, j.right[rk]) {
		return appendTerms(out, pairs, dl, dr, j.left[lk], j.right[rk], leftBefore, rightBefore)
	}
	ls, leftChanged := j.consolidate(dl, j.left[lk], leftBefore)
	rs, rightChanged := j.consolidate(dr, j.right[rk], rightBefore)
	for _, l := range ls {
		for _, r := range rs {
			if w := l.change*r.change + l.change*r.before + l.before*r.change; w != 0 {
				out = append(out, zset.Entry{Row: pairs.concat(l.row, r.row), Weight: w})
			}
		}
		if l.change == 0 {
			continue
		}
		for i, r := range rightBefore {
			if rightChanged == nil || !rightChanged[i] {
				out = append(out, zset.Entry{Row: pairs.concat(l.row, r.Row), Weight: l.change * r.Weight})
			}
		}
	}
	for i, l := range leftBefore {
		if leftChanged != nil && leftChanged[i] {
			continue
		}
		for _, r := range rs {
			if r.change != 0 {
				out = append(out, zset.Entry{Row: pairs.concat(l.Row, r.row), Weight: l.Weight * r.change})
			}
		}
	}
	return out
}

// inserts reports whether the changes rows of d all add copies of rows.
func inserts(d *keyedRows, rows []keyed) bool {
	for _, r := range rows {
		if d.entry(r).Weight <= 0 {
			return false
		}
	}
	return true
}

// appendTerms appends to out the three terms of the join under one key
// as they come, δl⋈δr + δl⋈r₀ + l₀⋈δr, for changes that only add rows
// (inserts): no term can cancel another, so the pairs need not be
// summed, and a pair two terms make (a row added to the copies it had)
// comes out twice, as a change of one side alone brings its row twice.
// A load, whose every key both sides change, then costs no encoding of
// the rows.
func appendTerms(out batch, pairs *pairRows, dl, dr *keyedRows, left, right []keyed, leftBefore, rightBefore []zset.Entry) batch {
	for _, lr := range left {
		l := dl.entry(lr)
		for _, rr := range right {
			r := dr.entry(rr)
			out = append(out, zset.Entry{Row: pairs.concat(l.Row, r.Row), Weight: l.Weight * r.Weight})
		}
		for _, r := range rightBefore {
			out = append(out, zset.Entry{Row: pairs.concat(l.Row, r.Row), Weight: l.Weight * r.Weight})
		}
	}
	for _, l := range leftBefore {
		for _, rr := range right {
			r := dr.entry(rr)
			out = append(out, zset.Entry{Row: pairs.concat(l.Row, r.Row), Weight: l.Weight * r.Weight})
		}
	}
	return out
}

// consolidate returns the changes rows of d, one per distinct row, each
// with its weight in before (the rows of its key before the step), and
// which of before's rows changed (nil when none did).
func (j *bothChanged) consolidate(d *keyedRows, rows []keyed, before []zset.Entry) ([]changedRow, []bool) {
	clear(j.ids)
	out := make([]changedRow, 0, len(rows))
	for _, r := range rows {
		e := d.entry(r)
		j.buf = types.AppendRowKey(j.buf[:0], e.Row)
		if i, ok := j.ids[string(j.buf)]; ok {
			out[i].change += e.Weight
			continue
		}
		j.ids[string(j.buf)] = int32(len(out))
		out = append(out, changedRow{row: e.Row, change: e.Weight})
	}
	var changed []bool
	for i, e := range before {
		j.buf = types.AppendRowKey(j.buf[:0], e.Row)
		if k, ok := j.ids[string(j.buf)]; ok {
			if changed == nil {
				changed = make([]bool, len(before))
			}
			changed[i] = true
			out[k].before = e.Weight
		}
	}
	return out, changed
}
