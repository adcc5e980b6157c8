package ir

import (
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// ScaledFunc evaluates a numeric expression over a row to coef × 10^exp,
// the coefficient and exponent of the decimal Eval returns, without
// making that decimal. ok is false when it cannot: an operand is NULL,
// a coefficient is past 2^53, a product does not fit in an int64. The
// caller then calls Eval, which has the answer (or the error).
type ScaledFunc func(row zset.Row) (coef int64, exp int32, ok bool)

// scaled compiles the numeric expressions a sum mostly sums, a numeric
// column and a numeric column times an integer one (price * qty), to a
// ScaledFunc; nil for any other expression.
func scaled(e typecheck.Expr) ScaledFunc {
	if e.Type().Kind != types.Numeric {
		return nil
	}
	switch e := e.(type) {
	case *typecheck.ColRef:
		i := e.Index
		return func(r zset.Row) (int64, int32, bool) {
			d, ok := r[i].(decimal.Decimal)
			if !ok {
				return 0, 0, false
			}
			c, ok := types.SmallCoefficient(d)
			return c, d.Exponent(), ok
		}
	case *typecheck.Binary:
		if e.Op != lang.Mul {
			return nil
		}
		x, n := scaled(e.X), integerColumn(e.Y)
		if x == nil || n < 0 {
			x, n = scaled(e.Y), integerColumn(e.X)
		}
		if x == nil || n < 0 {
			return nil
		}
		return func(r zset.Row) (int64, int32, bool) {
			y, ok := r[n].(int64)
			if !ok {
				return 0, 0, false
			}
			c, exp, ok := x(r)
			if !ok {
				return 0, 0, false
			}
			p, ok := types.MulInt64(c, y)
			return p, exp, ok
		}
	}
	return nil
}

// integerColumn returns the index of the column e reads when it is a
// column of an integer type, else -1. An integer times a numeric is the
// numeric's coefficient times the integer, at the numeric's exponent
// (stdlib.MulNumericInt).
func integerColumn(e typecheck.Expr) int {
	ref, ok := e.(*typecheck.ColRef)
	if !ok {
		return -1
	}
	switch ref.Type().Kind {
	case types.Int2, types.Int4, types.Int8:
		return ref.Index
	}
	return -1
}
