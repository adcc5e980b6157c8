package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// session keeps, per group, the group's rows ordered by time (as top-k
// keeps rows, GroupState.Ranked) and, for a change, emits the rows of
// every session the change alters, before (retracted) and after: the
// sessions around each changed row, and around its neighbours, which an
// insertion may join and a deletion split. A change costs the sessions
// it touches, and O(log n) to find them.
func (s *stepRun) session(ctx context.Context, n *ir.Node, op *ir.Session) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	rg, err := s.rankedGroups(ctx, n, []ir.OrderKey{{Key: op.Time}}, op.Per, d)
	if err != nil {
		return nil, err
	}
	gap := op.Gap.Duration()
	news := make([]*GroupState, len(rg.keys))
	// The sessions that ended before the watermark lets them are final:
	// no later row can join them or leave them.
	closedBefore, closes := s.floor(n.Inputs[0], op.Time)
	var out batch
	for i, g := range rg.groups {
		old := rg.olds[i]
		st, err := rg.changed(i)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		lo, hi := g.changes[0].row, g.changes[0].row
		for _, c := range g.changes[1:] {
			if st.Ranked.compare(c.row, lo) < 0 {
				lo = c.row
			}
			if st.Ranked.compare(c.row, hi) > 0 {
				hi = c.row
			}
		}
		var before []session
		if old != nil {
			before = sessionsAround(old.Ranked, lo, hi, gap)
		}
		out = emitSessionChanges(out, before, sessionsAround(st.Ranked, lo, hi, gap), gap)
		if closes {
			st.Count -= trimSessions(st.Ranked, gap, closedBefore)
		}
		news[i] = st
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return rg.store.Put(ctx, rg.keys, news) })
	return out, nil
}

// session is one session of a group: its rows, in time order.
type session []RankedRow

// same reports whether two sessions hold the same rows, each as many
// times: then their output rows are the same too.
func (a session) same(b session) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Count != b[i].Count || !types.SameRowKey(a[i].Row, b[i].Row) {
			return false
		}
	}
	return true
}

// emitSessionChanges appends to out the retraction of the sessions of
// before and the insertion of those of after, leaving out the sessions
// both hold alike (both lists are in time order): a change emits only
// the sessions it alters, without hashing every row of the others.
func emitSessionChanges(out batch, before, after []session, gap time.Duration) batch {
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case i < len(before) && j < len(after) && before[i].same(after[j]):
			i, j = i+1, j+1
		case j == len(after) || i < len(before) && !before[i][0].Sort[0].(time.Time).After(after[j][0].Sort[0].(time.Time)):
			out = appendSession(out, before[i], gap, -1)
			i++
		default:
			out = appendSession(out, after[j], gap, 1)
			j++
		}
	}
	return out
}

// appendSession appends every copy of each row of a session, with the
// session's start and end, at weight w.
func appendSession(out batch, rows session, gap time.Duration, w int64) batch {
	first, last := rows[0].Sort[0].(time.Time), rows[len(rows)-1].Sort[0].(time.Time)
	for _, it := range rows {
		row := append(append(make(zset.Row, 0, len(it.Row)+2), it.Row...), first, last.Add(gap))
		out = append(out, zset.Entry{Row: row, Weight: w * it.Count})
	}
	return out
}

// sessionsAround returns the sessions of r that hold a row from lo to
// hi, in r's order, or the row just before lo or just after hi (which an
// insertion may join, and a deletion split), in time order. It reads
// them in one pass: back from lo to its session's first row, then on to
// the end of hi's.
func sessionsAround(r *Ranking, lo, hi RankedRow, gap time.Duration) []session {
	start, ok := neighbour(r, lo, false)
	if !ok || start.Sort[0] == nil {
		start = lo
	}
	if start.Sort[0] != nil {
		after := start.Sort[0].(time.Time)
		r.Rows.DescendLessOrEqual(start, func(it RankedRow) bool {
			t, ok := it.Sort[0].(time.Time)
			if !ok || after.Sub(t) >= gap {
				return false
			}
			start, after = it, t
			return true
		})
	}
	var out []session
	var cur session
	// Once a session holds the row just after hi, the range ends with
	// that session.
	past := false
	r.Rows.AscendGreaterOrEqual(start, func(it RankedRow) bool {
		t, ok := it.Sort[0].(time.Time)
		if !ok {
			return false // a row without a time is in no session
		}
		if len(cur) > 0 && t.Sub(cur[len(cur)-1].Sort[0].(time.Time)) >= gap {
			out, cur = append(out, cur), nil
			if past {
				return false
			}
		}
		past = past || r.compare(it, hi) > 0
		cur = append(cur, it)
		return true
	})
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
