package runtime

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// firstError returns the error node n fails with over the step's changes
// in a canonical order, by row key then weight, or err when it does not
// fail so (it did with err). Which of several bad rows fails a step first
// would otherwise depend on the order of a batch's changes, which the
// workers' split and a Z-set's iteration make vary: the step must fail
// with the same error on any number of workers, and in every run.
func (s *stepRun) firstError(ctx context.Context, n *ir.Node, err error) error {
	r := &stepRun{
		engine:   s.engine,
		store:    s.store,
		deltas:   make([]batch, len(s.deltas)),
		inputs:   make(map[string]batch, len(s.inputs)),
		now:      s.now,
		before:   s.before,
		backfill: s.backfill,
	}
	for id, d := range s.deltas {
		r.deltas[id] = canonical(d)
	}
	for name, d := range s.inputs {
		r.inputs[name] = canonical(d)
	}
	if _, again := r.eval(ctx, n); again != nil {
		return again
	}
	return err
}

// canonical returns a copy of d sorted by row key, then weight.
func canonical(d batch) batch {
	if len(d) < 2 {
		return d
	}
	type keyedEntry struct {
		key string
		e   zset.Entry
	}
	ks := make([]keyedEntry, len(d))
	for i, e := range d {
		ks[i] = keyedEntry{types.RowKey(e.Row), e}
	}
	slices.SortFunc(ks, func(a, b keyedEntry) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.e.Weight, b.e.Weight)
	})
	out := make(batch, len(d))
	for i, k := range ks {
		out[i] = k.e
	}
	return out
}
