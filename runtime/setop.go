package runtime

import (
	"context"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// setOp computes the change of except or intersect: for each class of
// equal rows (types.KeyOf) that the step's changes touch, on either
// side, it looks up the class's integrated rows on both sides and emits
// the difference between the class's result after the changes and
// before them.
func (s *stepRun) setOp(ctx context.Context, n *ir.Node, op *ir.SetOp) (batch, error) {
	dl, dr := s.in(n, 0), s.in(n, 1)
	if len(dl) == 0 && len(dr) == 0 {
		return nil, nil
	}
	var keys []string
	changes := map[string]*[2]*zset.ZSet{}
	for side, d := range [][]zset.Entry{dl, dr} {
		for _, e := range d {
			k := types.KeyOf(e.Row)
			c, ok := changes[k]
			if !ok {
				c = &[2]*zset.ZSet{zset.New(), zset.New()}
				changes[k] = c
				keys = append(keys, k)
			}
			c[side].Add(e.Row, e.Weight)
		}
	}
	left, err := s.integral(n, 2).Lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	right, err := s.integral(n, 3).Lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out batch
	for i, k := range keys {
		lb, rb := zset.FromEntries(left[i]...), zset.FromEntries(right[i]...)
		la, ra := lb.Plus(changes[k][0]), rb.Plus(changes[k][1])
		oldRow, oldW := setOpClass(op, lb, rb)
		newRow, newW := setOpClass(op, la, ra)
		out = appendChange(out, oldRow, oldW, newRow, newW)
	}
	return out, nil
}

// setOpClass returns the result of a set operation for one class of
// equal rows, given the class's rows on each side: the left's
// representative and its weight, or nil when the class is not in the
// result.
func setOpClass(op *ir.SetOp, left, right *zset.ZSet) (zset.Row, int64) {
	m, n := positiveWeight(left), positiveWeight(right)
	var w int64
	switch {
	case op.Op == lang.Except && op.All:
		w = max(0, m-n)
	case op.Op == lang.Except && m > 0 && n == 0:
		w = 1
	case op.Op == lang.Intersect && op.All:
		w = min(m, n)
	case op.Op == lang.Intersect && m > 0 && n > 0:
		w = 1
	}
	if w == 0 {
		return nil, 0
	}
	return representative(left), w
}

// positiveWeight is the total weight of the rows of positive weight.
func positiveWeight(z *zset.ZSet) int64 {
	var n int64
	z.Each(func(_ zset.Row, w int64) {
		if w > 0 {
			n += w
		}
	})
	return n
}

// appendChange appends the change from a row of weight oldW to one of
// weight newW (nil rows have no weight): one entry when the row is the
// same, a retraction and an insertion when it differs.
func appendChange(out batch, oldRow zset.Row, oldW int64, newRow zset.Row, newW int64) batch {
	if oldRow != nil && newRow != nil && types.RowKey(oldRow) == types.RowKey(newRow) {
		if newW != oldW {
			out = append(out, zset.Entry{Row: newRow, Weight: newW - oldW})
		}
		return out
	}
	if oldRow != nil {
		out = append(out, zset.Entry{Row: oldRow, Weight: -oldW})
	}
	if newRow != nil {
		out = append(out, zset.Entry{Row: newRow, Weight: newW})
	}
	return out
}
