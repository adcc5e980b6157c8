package types

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// TestOrderKey checks that OrderKey's byte order is Compare's order,
// within each supported type.
func TestOrderKey(t *testing.T) {
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	groups := [][]any{
		{int64(math.MinInt64), int64(-2), int64(-1), int64(0), int64(1), int64(math.MaxInt64)},
		{math.Inf(-1), -1e300, -2.5, -1e-300, math.Copysign(0, -1), 0.0, 1e-300, 3.25, math.Inf(1), math.NaN()},
		{"", "a", "ab", "b", "é", "\xff"},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), day.Add(-time.Microsecond), day, day.Add(time.Microsecond), day.AddDate(300, 0, 0)},
	}
	for _, g := range groups {
		for _, a := range g {
			for _, b := range g {
				ka, okA := OrderKey(a)
				kb, okB := OrderKey(b)
				if !okA || !okB {
					t.Fatalf("no order key for %v or %v", a, b)
				}
				want := Compare(a, b)
				if got := bytes.Compare(ka, kb); got != want {
					t.Errorf("OrderKey order of %v and %v is %d, Compare says %d", a, b, got, want)
				}
			}
		}
	}
	if _, ok := OrderKey(nil); ok {
		t.Error("NULL has an order key")
	}
}
