package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/zset"
)

// WatermarkStatus is a table's watermark and the late changes it kept
// out.
type WatermarkStatus struct {
	Table  string
	Column string
	// Latest is the latest value of Column among the rows inserted so
	// far; the watermark is Latest less Lateness. Set is false until a
	// row has come.
	Latest   time.Time
	Lateness time.Duration
	Set      bool
	// Late counts the changes dropped because their row was earlier
	// than the watermark when they came.
	Late int64
}

// Watermark is the watermark itself, Latest less Lateness.
func (w WatermarkStatus) Watermark() time.Time { return w.Latest.Add(-w.Lateness) }

// mark is a table's watermark as the engine keeps it.
type mark struct {
	col      int
	lateness time.Duration
	latest   time.Time
	set      bool
	late     int64
}

// markUpdate is what a step's changes do to a table's mark, applied when
// the step commits.
type markUpdate struct {
	latest time.Time
	set    bool
	late   int64
}

// isLate reports whether a change to row comes too late: its time is
// before the watermark.
func (m *mark) isLate(row zset.Row) bool {
	if m == nil || !m.set {
		return false
	}
	t, ok := row[m.col].(time.Time)
	return ok && t.Before(m.latest.Add(-m.lateness))
}

// saw notes in u an inserted row, which may move the watermark.
func (m *mark) saw(u *markUpdate, row zset.Row) {
	if m == nil {
		return
	}
	if t, ok := row[m.col].(time.Time); ok && (!u.set || t.After(u.latest)) {
		u.latest, u.set = t, true
	}
}

func (m *mark) apply(u markUpdate) {
	m.late += u.late
	if u.set && (!m.set || u.latest.After(m.latest)) {
		m.latest, m.set = u.latest, true
	}
}

// Watermarks returns the watermark of each table that declares one, in
// the program's order.
func (e *Engine) Watermarks() []WatermarkStatus {
	var out []WatermarkStatus
	for _, in := range e.circuit.Inputs {
		m := e.tables[in.Name].mark
		if m == nil {
			continue
		}
		out = append(out, WatermarkStatus{Table: in.Name, Column: in.Columns[m.col].Name,
			Latest: m.latest, Lateness: m.lateness, Set: m.set, Late: m.late})
	}
	return out
}

// RestoreWatermark sets a table's watermark as a store recorded it, for
// an engine resuming from the store's state.
func (e *Engine) RestoreWatermark(table string, latest time.Time, set bool, late int64) error {
	t, ok := e.tables[table]
	if !ok || t.mark == nil {
		return fmt.Errorf("table %s declares no watermark", table)
	}
	t.mark.latest, t.mark.set, t.mark.late = latest, set, late
	return nil
}

// marks returns the tables' watermarks, for ir.Floor.Value.
func (e *Engine) marks() map[string]time.Time {
	out := map[string]time.Time{}
	for name, t := range e.tables {
		if t.mark != nil && t.mark.set {
			out[name] = t.mark.latest.Add(-t.mark.lateness)
		}
	}
	return out
}

// dropLate removes from a batch of Z-set changes to table t those that
// come too late, counting them in u; with admit, it keeps them. Each
// row is judged alone: an update retracting a row before the watermark
// and inserting one after it inserts the new row, and leaves the old
// one where it was, final. So every retraction that passes is of a row
// whose insertion passed (the watermark only rises), whether the
// table's rows are the engine's or a database's.
func (t *tableState) dropLate(d batch, u *markUpdate, admit bool) batch {
	if t.mark == nil {
		return d
	}
	out := d[:0:0]
	for _, e := range d {
		if !admit && t.mark.isLate(e.Row) {
			u.late++
			continue
		}
		if e.Weight > 0 {
			t.mark.saw(u, e.Row)
		}
		out = append(out, e)
	}
	return out
}

// Freer is a store that can drop state no later change can reach (see
// ir.Freeing). MemoryStore is one.
type Freer interface {
	// FreeIndex drops the rows of node id's index for which final
	// holds, and returns how many rows it keeps.
	FreeIndex(ctx context.Context, id int, final func(zset.Row) bool) (kept int, err error)
	// FreeGroups drops the groups of node id for which final holds, and
	// returns how many groups it keeps.
	FreeGroups(ctx context.Context, id int, final func(*GroupState) bool) (kept int, err error)
	// FreeOrdered drops the rows of node id's ordered index whose key
	// is below hi (or at it, when through) and for which final holds,
	// and returns how many rows it keeps.
	FreeOrdered(ctx context.Context, id int, hi []byte, through bool, final func(zset.Row) bool) (kept int, err error)
}

// sweeper frees one node's state now and then: when the changes it took
// since it last swept reach the entries it kept then, so that sweeping
// costs O(1) per change and the state holds at most about twice what is
// live.
type sweeper struct {
	f     ir.Freeing
	taken int
	kept  int
}

// minSweep is the fewest changes a sweep waits for.
const minSweep = 1024

// free sweeps the state that the steps' changes, and the watermarks they
// moved, may have made final: the tables' rows and the operators'
// state. A step has committed when it runs; an error says the step
// committed but some state could not be swept.
func (e *Engine) free(ctx context.Context) error {
	if e.opts.ManualSweep {
		return nil
	}
	return e.sweep(ctx, false)
}

// Sweep frees, now, all the state the watermarks make final, as at time
// now (which a temporal filter's bounds read: the time of the last
// step), and returns how many entries the swept states keep. A store
// that cannot free (not a Freer) keeps everything.
func (e *Engine) Sweep(ctx context.Context, now time.Time) (kept int, err error) {
	e.lastNow = now
	if err := e.sweep(ctx, true); err != nil {
		return 0, err
	}
	for _, sw := range e.sweepers {
		kept += sw.kept
	}
	return kept, nil
}

// sweep frees the states due (all of them, with all).
func (e *Engine) sweep(ctx context.Context, all bool) error {
	var marks map[string]time.Time
	if !e.opts.NoContents {
		for _, t := range e.tables {
			if t.mark == nil || !t.mark.set || t.taken < max(t.kept, minSweep) {
				continue
			}
			t.kept, t.taken = t.free(), 0
		}
	}
	fr, ok := e.store.(Freer)
	if !ok || len(e.sweepers) == 0 {
		return nil
	}
	for _, sw := range e.sweepers {
		if !all && sw.taken < max(sw.kept, minSweep) {
			continue
		}
		if marks == nil {
			marks = e.marks()
		}
		test, ok := finalTest(sw.f, marks)
		if !ok {
			continue
		}
		var err error
		switch op := sw.f.Node.Op.(type) {
		case *ir.OrderedIntegrate:
			if e.lastNow.IsZero() {
				continue
			}
			for _, b := range sw.f.Behind {
				var hi []byte
				if hi, err = boundKey(b, e.lastNow); err == nil {
					sw.kept, err = fr.FreeOrdered(ctx, sw.f.Node.ID, hi, b.Op == lang.Gt, test)
				}
				if err != nil {
					break
				}
			}
		case *ir.Integrate, *ir.Stamp:
			sw.kept, err = fr.FreeIndex(ctx, sw.f.Node.ID, test)
		case *ir.Session:
			ended, endOK := sw.f.Ended.Value(marks)
			gap := op.Gap.Duration()
			sw.kept, err = fr.FreeGroups(ctx, sw.f.Node.ID, func(g *GroupState) bool {
				return test(g.Key) || endOK && sessionsEnded(g.Ranked, gap, ended)
			})
		default:
			sw.kept, err = fr.FreeGroups(ctx, sw.f.Node.ID, func(g *GroupState) bool { return test(g.Key) })
		}
		if err != nil {
			return fmt.Errorf("step %d: freeing the state of n%d: %w", e.steps, sw.f.Node.ID, err)
		}
		sw.taken = 0
	}
	return nil
}

// finalTest returns the test of a row (or group key) against f's clauses
// at the current watermarks; ok is false when some clause can't hold yet
// and f frees nothing by its clauses (a Session may still free by Ended).
func finalTest(f ir.Freeing, marks map[string]time.Time) (test func(zset.Row) bool, ok bool) {
	type below struct {
		col int
		at  time.Time
	}
	clauses := make([][]below, 0, len(f.Clauses))
	for _, cl := range f.Clauses {
		var bs []below
		for _, b := range cl {
			if at, ok := b.Bound.Value(marks); ok {
				bs = append(bs, below{b.Col, at})
			}
		}
		if len(bs) == 0 {
			if f.Ended != nil {
				return func(zset.Row) bool { return false }, true
			}
			return nil, false
		}
		clauses = append(clauses, bs)
	}
	if len(clauses) == 0 && f.Ended == nil {
		return nil, false
	}
	return func(row zset.Row) bool {
		if len(clauses) == 0 {
			return false
		}
		for _, bs := range clauses {
			holds := false
			for _, b := range bs {
				if t, ok := row[b.col].(time.Time); ok && t.Before(b.at) {
					holds = true
					break
				}
			}
			if !holds {
				return false
			}
		}
		return true
	}, true
}

// sessionsEnded reports whether every session of a group ended before
// at: its latest row plus the gap is earlier.
func sessionsEnded(r *Ranking, gap time.Duration, at time.Time) bool {
	if r == nil {
		return false
	}
	last, ok := r.Rows.Max()
	if !ok {
		return true
	}
	t, ok := last.Sort[0].(time.Time)
	return ok && t.Add(gap).Before(at)
}

// trimSessions removes from a group's rows those of the sessions that
// ended before at, which no later row can join: they form a prefix of
// the rows in time order, since sessions' ends follow their starts.
func trimSessions(r *Ranking, gap time.Duration, at time.Time) (removed int64) {
	var drop []RankedRow
	var run []RankedRow
	var prev time.Time
	r.Rows.Ascend(func(it RankedRow) bool {
		t, ok := it.Sort[0].(time.Time)
		if !ok {
			return false
		}
		if len(run) > 0 && t.Sub(prev) >= gap {
			// The run before it is a whole session, ended at prev + gap.
			if !prev.Add(gap).Before(at) {
				return false
			}
			drop = append(drop, run...)
			run = run[:0]
		}
		run = append(run, it)
		prev = t
		return true
	})
	for _, it := range drop {
		r.Rows.Delete(it)
		removed += it.Count
	}
	return removed
}

// floor is the bound the watermarks, as they were when the step began,
// put on expression x over the rows of node in; false when there is none.
func (s *stepRun) floor(in *ir.Node, x ir.Scalar) (time.Time, bool) {
	e := s.engine
	if e.floors == nil {
		return time.Time{}, false
	}
	f := ir.ExprFloor(x, e.floors[in.ID])
	return f.Value(e.marks())
}
