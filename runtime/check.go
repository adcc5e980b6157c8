package runtime

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// CheckValue reports whether a non-NULL Go value is a valid value of type
// t in the mapping documented in package types.
func CheckValue(v any, t types.Type) error { return checkValue(v, &t) }

// checkValue is CheckValue with the type by reference: a table checks
// each column of each row it is given, and a type is 64 bytes to copy.
func checkValue(v any, t *types.Type) error {
	ok := false
	switch t.Kind {
	case types.Bool:
		_, ok = v.(bool)
	case types.Int8:
		_, ok = v.(int64)
	case types.Int2, types.Int4:
		var n int64
		if n, ok = v.(int64); ok {
			if err := types.CheckIntRange(n, t.Kind); err != nil {
				return err
			}
		}
	case types.Float4, types.Float8:
		_, ok = v.(float64)
	case types.Numeric:
		_, ok = v.(decimal.Decimal)
	case types.Text, types.UUID, types.JSONB:
		_, ok = v.(string)
	case types.Date, types.Timestamp, types.Timestamptz:
		_, ok = v.(time.Time)
	case types.Interval:
		_, ok = v.(types.IntervalValue)
	case types.Bytea:
		_, ok = v.([]byte)
	case types.Array:
		var list []any
		if list, ok = v.([]any); ok {
			for _, e := range list {
				if e == nil {
					continue
				}
				if err := checkValue(e, t.Elem); err != nil {
					return err
				}
			}
		}
	}
	if !ok {
		return fmt.Errorf("want a %s value, got %T", t, v)
	}
	return nil
}
