package runtime

import (
	"math"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// rowKeyOf is types.RowKey: a row's identity in a Z-set.
func rowKeyOf(row zset.Row) string { return types.RowKey(row) }

// classAndRowKey returns types.KeyOf(row) and types.RowKey(row), encoding
// the row once when the two are the same: they differ only for rows that
// hold a numeric or a negative zero, whose spelling is not their class.
func classAndRowKey(row zset.Row) (class, rowKey string) {
	rowKey = types.RowKey(row)
	if spelledAsClass(row) {
		return rowKey, rowKey
	}
	return types.KeyOf(row), rowKey
}

// spelledAsClass reports whether every value of vs encodes the same as
// its own class (types.AppendKey) and as spelled: whether it holds no
// numeric and no negative zero.
func spelledAsClass(vs []any) bool {
	for _, v := range vs {
		switch x := v.(type) {
		case decimal.Decimal:
			return false
		case float64:
			if x == 0 && math.Signbit(x) {
				return false
			}
		case []any:
			if !spelledAsClass(x) {
				return false
			}
		}
	}
	return true
}
