package runtime

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// stamp adds to each inserted row the time of the step, and keeps, per
// row (by its key, types.RowKey), the stamped copies: a deletion
// retracts the copies that arrived last, with the times they were given.
func (s *stepRun) stamp(ctx context.Context, n *ir.Node) (batch, error) {
	d := s.in(n, 0)
	if len(d) == 0 {
		return nil, nil
	}
	ix := s.store.Index(n.ID)
	var deleted []string
	for _, e := range d {
		if e.Weight < 0 {
			deleted = append(deleted, types.RowKey(e.Row))
		}
	}
	held := map[string][]zset.Entry{}
	if len(deleted) > 0 {
		found, err := ix.Lookup(ctx, deleted)
		if err != nil {
			return nil, err
		}
		for i, k := range deleted {
			// Latest first: a deletion takes the copies that came last.
			es := slices.Clone(found[i])
			slices.SortFunc(es, func(a, b zset.Entry) int {
				return cmp.Compare(b.Row[len(b.Row)-1].(time.Time).UnixMicro(), a.Row[len(a.Row)-1].(time.Time).UnixMicro())
			})
			held[k] = es
		}
	}
	var out batch
	var changes []KeyedChange
	for _, e := range d {
		key := types.RowKey(e.Row)
		if e.Weight > 0 {
			row := append(append(make(zset.Row, 0, len(e.Row)+1), e.Row...), s.now)
			out = append(out, zset.Entry{Row: row, Weight: e.Weight})
			changes = append(changes, KeyedChange{Key: key, RowKey: types.RowKey(row), Row: row, Weight: e.Weight})
			continue
		}
		left := -e.Weight
		es := held[key]
		for i := range es {
			if left == 0 {
				break
			}
			take := min(left, es[i].Weight)
			if take <= 0 {
				continue
			}
			es[i].Weight -= take
			left -= take
			out = append(out, zset.Entry{Row: es[i].Row, Weight: -take})
			changes = append(changes, KeyedChange{Key: key, RowKey: types.RowKey(es[i].Row), Row: es[i].Row, Weight: -take})
		}
		if left > 0 {
			return nil, fmt.Errorf("node n%d: row %s deleted %d more times than it was inserted", n.ID, types.Format(e.Row, types.Type{Kind: types.Record}), left)
		}
	}
	s.writes = append(s.writes, func(ctx context.Context) error { return ix.Update(ctx, changes) })
	return out, nil
}
