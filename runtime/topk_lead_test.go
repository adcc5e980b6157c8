package runtime

import (
	"cmp"
	"math"
	"testing"
	"time"
)

// TestLeadNeverContradicts checks that two order-key values whose leads
// differ compare as the ranking compares them, in both directions, for
// each kind of value leads cover, NULL among them.
func TestLeadNeverContradicts(t *testing.T) {
	base := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	kinds := [][]any{
		{int64(0), int64(1), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(42)},
		{base, base.Add(time.Nanosecond), base.Add(999 * time.Nanosecond), base.Add(time.Microsecond),
			base.Add(-time.Nanosecond), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC),
			time.Date(294276, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(-4713, 1, 1, 0, 0, 0, 0, time.UTC),
			base.In(time.FixedZone("x", 3600))},
		{"", "a", "a\x00", "ab", "abcdefgh", "abcdefghi", "abcdefgg\xff", "\xff\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff", "b"},
	}
	for _, kind := range kinds {
		values := append([]any{nil}, kind...)
		for _, desc := range []bool{false, true} {
			for _, a := range values {
				for _, b := range values {
					la, oka := leadOf(a, desc)
					lb, okb := leadOf(b, desc)
					if !oka || !okb || la == lb {
						continue
					}
					want := compareNullsLast(a, b)
					if desc {
						want = -want
					}
					if got := cmp.Compare(la, lb); got != want {
						t.Errorf("desc %v: %#v vs %#v: leads compare %d, values %d", desc, a, b, got, want)
					}
				}
			}
		}
	}
}
