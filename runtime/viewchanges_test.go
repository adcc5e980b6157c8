package runtime

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/zset"
)

// TestSurelyChanged says a view's mixed changes surely do not cancel out
// only when they do not: never for changes that add up to nothing, in
// any order, nor for rows equal by representation; and yes for a
// retraction and an insertion of different rows, as a select over a
// group's totals makes.
func TestSurelyChanged(t *testing.T) {
	e := func(w int64, vals ...any) zset.Entry { return zset.Entry{Row: vals, Weight: w} }
	for _, tc := range []struct {
		name string
		d    batch
		want bool
	}{
		{"one row retracted, another inserted", batch{e(-1, "basket 1: $5"), e(1, "basket 1: $6")}, true},
		{"weights not summing to zero", batch{e(2, "a"), e(-1, "b")}, true},
		{"all cancel", batch{e(1, "a"), e(-1, "b"), e(1, "b"), e(-1, "a")}, false},
		{"all cancel, weights of two", batch{e(2, "a"), e(-1, "a"), e(-1, "a")}, false},
		{"the first row cancels, others not", batch{e(1, "a"), e(-1, "a"), e(1, "b"), e(-1, "c")}, false},
		{"equal numbers spelled apart", batch{e(1, decimal.RequireFromString("1.5")), e(-1, decimal.RequireFromString("1.50"))}, true},
		{"the same numbers", batch{e(1, decimal.RequireFromString("1.5")), e(-1, decimal.RequireFromString("1.5"))}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := surelyChanged(tc.d); got != tc.want {
				t.Fatalf("surelyChanged = %v, want %v", got, tc.want)
			}
			if tc.want && zset.FromEntries(tc.d...).IsEmpty() {
				t.Fatal("said surely changed, but the changes cancel out")
			}
		})
	}
}
