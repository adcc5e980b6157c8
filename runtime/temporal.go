package runtime

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// clock emits the clock's change: -previous +now when the time of this
// step differs from the previous step's (only +now in the first step),
// and nothing when it does not. The previous time is the clock's
// integral, which the Integrate node after it updates at commit.
func (s *stepRun) clock(ctx context.Context, op *ir.Clock) (batch, error) {
	found, err := s.engine.store.Index(op.State).Lookup(ctx, []string{types.KeyOf(nil)})
	if err != nil {
		return nil, err
	}
	now := zset.Row{s.now}
	var before zset.Row
	for _, e := range found[0] {
		if e.Weight != 1 || before != nil {
			return nil, fmt.Errorf("the clock's state is corrupt: %d rows", len(found[0]))
		}
		before = e.Row
	}
	if before == nil {
		return batch{{Row: now, Weight: 1}}, nil
	}
	prev := before[0].(time.Time)
	if s.engine.clampClock && s.now.Before(prev) {
		// A temporal filter has freed the rows that only a clock going
		// back would bring back: time stands still instead.
		s.now = prev
	}
	if prev.Equal(s.now) {
		return nil, nil
	}
	s.before = &prev
	return batch{{Row: before, Weight: -1}, {Row: now, Weight: 1}}, nil
}

// flatMap emits, for each changed row, the row followed by each element
// of its array, with the row's weight.
func (s *stepRun) flatMap(n *ir.Node, op *ir.FlatMap) (batch, error) {
	in := s.in(n, 0)
	var out batch
	for _, e := range in {
		v, err := op.Elem.Eval(e.Row)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		list, _ := v.([]any)
		for _, elem := range list {
			r := make(zset.Row, len(e.Row)+1)
			copy(r, e.Row)
			r[len(e.Row)] = elem
			out = append(out, zset.Entry{Row: r, Weight: e.Weight})
		}
	}
	return out, nil
}

// orderedIntegrate schedules the addition of its input's changes to its
// ordered index, each under the order key of its key value.
func (s *stepRun) orderedIntegrate(n *ir.Node, op *ir.OrderedIntegrate) (batch, error) {
	d := s.in(n, 0)
	changes := make([]OrderedChange, 0, len(d))
	for _, e := range d {
		v, err := op.Key.Eval(e.Row)
		if err != nil {
			return nil, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		if v == nil {
			continue // never between two bounds: its comparisons are NULL
		}
		k, ok := types.OrderKey(v)
		if !ok {
			return nil, fmt.Errorf("node n%d: no order for %T", n.ID, v)
		}
		changes = append(changes, OrderedChange{Key: k, RowKey: types.RowKey(e.Row), Row: e.Row, Weight: e.Weight})
	}
	if len(changes) > 0 {
		ix := s.engine.store.Ordered(n.ID)
		s.writes = append(s.writes, func(ctx context.Context) error { return ix.Update(ctx, changes) })
	}
	return nil, nil
}

// temporalFilter passes the changed rows that satisfy the predicate now,
// and, when the clock moved, re-tests the rows of the input whose bound
// lies between its old and new value: a row whose truth changed is
// inserted or retracted with its integrated weight.
func (s *stepRun) temporalFilter(ctx context.Context, n *ir.Node, op *ir.TemporalFilter) (batch, error) {
	test := func(row zset.Row, at time.Time) (bool, error) {
		v, err := op.Pred.Eval(append(append(make(zset.Row, 0, len(row)+1), row...), at))
		if err != nil {
			return false, fmt.Errorf("node n%d: %w", n.ID, err)
		}
		return v == true, nil
	}
	var out batch
	for _, e := range s.in(n, 0) {
		ok, err := test(e.Row, s.now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	if s.before == nil {
		return out, nil
	}
	candidates, err := s.crossing(ctx, n, op)
	if err != nil {
		return nil, err
	}
	for _, e := range candidates {
		was, err := test(e.Row, *s.before)
		if err != nil {
			return nil, err
		}
		is, err := test(e.Row, s.now)
		if err != nil {
			return nil, err
		}
		switch {
		case is && !was:
			out = append(out, e)
		case was && !is:
			out = append(out, zset.Entry{Row: e.Row, Weight: -e.Weight})
		}
	}
	return out, nil
}

// crossing returns the rows of the input's integral (before this step)
// whose value of some bound lies between the bound's value at the
// previous time and now, each once.
func (s *stepRun) crossing(ctx context.Context, n *ir.Node, op *ir.TemporalFilter) ([]zset.Entry, error) {
	seen := map[string]bool{}
	var out []zset.Entry
	for _, b := range op.Bounds {
		lo, err := s.boundKey(n, b, *s.before)
		if err != nil {
			return nil, err
		}
		hi, err := s.boundKey(n, b, s.now)
		if err != nil {
			return nil, err
		}
		if bytes.Compare(lo, hi) > 0 {
			lo, hi = hi, lo
		}
		ix := s.engine.store.Ordered(n.Inputs[b.Input].Inputs[0].ID)
		rows, err := ix.Range(ctx, lo, hi)
		if err != nil {
			return nil, err
		}
		for _, e := range rows {
			if k := types.RowKey(e.Row); !seen[k] {
				seen[k] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// boundKey is the order key of a bound's clock side at time t.
func (s *stepRun) boundKey(n *ir.Node, b ir.Bound, t time.Time) ([]byte, error) {
	k, err := boundKey(b, t)
	if err != nil {
		return nil, fmt.Errorf("node n%d: %w", n.ID, err)
	}
	return k, nil
}

func boundKey(b ir.Bound, t time.Time) ([]byte, error) {
	v, err := b.Clock.Eval(zset.Row{t})
	if err != nil {
		return nil, err
	}
	k, ok := types.OrderKey(v)
	if !ok {
		return nil, fmt.Errorf("no order for the bound %s", b.Clock.Text)
	}
	return k, nil
}
