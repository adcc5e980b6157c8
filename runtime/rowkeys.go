package runtime

import (
	"math"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// rowKeyOf is types.RowKey: a row's identity in a Z-set.
func rowKeyOf(row zset.Row) string { return types.RowKey(row) }

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
