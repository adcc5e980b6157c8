package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/stepping-io/stepping/ir"
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
	gap := time.Duration(int64(op.Gap.Days)*86_400_000_000+op.Gap.Micros) * time.Microsecond
	news := make([]*GroupState, len(rg.keys))
	z := zset.New()
	for i, g := range rg.groups {
		old := rg.olds[i]
		st, err := rg.changed(i)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		if old != nil {
			seen := map[string]bool{}
			for _, c := range g.changes {
				sessionsAround(old.Ranked, c.row, gap, seen, func(row zset.Row) { z.Add(row, -1) })
			}
		}
		seen := map[string]bool{}
		for _, c := range g.changes {
			sessionsAround(st.Ranked, c.row, gap, seen, func(row zset.Row) { z.Add(row, 1) })
		}
		if at, ok := s.floor(n.Inputs[0], op.Time); ok {
			// The sessions that ended before the watermark let them are
			// final: no later row can join them or leave them.
			st.Count -= trimSessions(st.Ranked, gap, at)
		}
		news[i] = st
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return rg.store.Put(ctx, rg.keys, news) })
	return z.Entries(), nil
}

// sessionsAround emits the output rows of the sessions of r that hold
// row or the rows next to where it is: every copy of each of their rows,
// with the session's start and end. seen holds the sessions emitted
// already (by their first row), for the caller's other rows: a session
// is emitted once however many of its rows changed.
func sessionsAround(r *Ranking, row RankedRow, gap time.Duration, seen map[string]bool, emit func(zset.Row)) {
	var anchors []RankedRow
	if it, ok := r.Rows.Get(row); ok {
		anchors = append(anchors, it)
	}
	if p, ok := neighbour(r, row, false); ok {
		anchors = append(anchors, p)
	}
	if nx, ok := neighbour(r, row, true); ok {
		anchors = append(anchors, nx)
	}
	for _, a := range anchors {
		if a.Sort[0] == nil {
			continue // a row without a time is in no session
		}
		first := a
		for {
			p, ok := neighbour(r, first, false)
			if !ok || p.Sort[0] == nil || first.Sort[0].(time.Time).Sub(p.Sort[0].(time.Time)) >= gap {
				break
			}
			first = p
		}
		if seen[first.ID] {
			continue
		}
		seen[first.ID] = true
		var rows []RankedRow
		last := first
		r.Rows.AscendGreaterOrEqual(first, func(it RankedRow) bool {
			if it.Sort[0] == nil || len(rows) > 0 && it.Sort[0].(time.Time).Sub(last.Sort[0].(time.Time)) >= gap {
				return false
			}
			rows = append(rows, it)
			last = it
			return true
		})
		start, end := first.Sort[0].(time.Time), last.Sort[0].(time.Time).Add(gap)
		for _, it := range rows {
			out := append(append(make(zset.Row, 0, len(it.Row)+2), it.Row...), start, end)
			for range it.Count {
				emit(out)
			}
		}
	}
}
