package types

import (
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestDecodeKeyRoundTrip(t *testing.T) {
	for _, vals := range [][]any{
		{},
		{nil},
		{true, false, int64(-7), int64(math.MaxInt64), int64(math.MinInt64)},
		{2.5, math.Copysign(0, -1), math.NaN(), math.Inf(-1)},
		{decimal.RequireFromString("1.50"), decimal.RequireFromString("-0.0010"), decimal.RequireFromString("123456789012345678901234567890")},
		{"héllo", "", "o'neil"},
		{time.Date(2026, 11, 25, 14, 3, 4, 5000, time.UTC), IntervalValue{Months: 1, Days: -2, Micros: 3}, []byte{0, 1, 2}},
		{[]any{int64(1), nil, []any{"x"}}, "after"},
	} {
		key := KeyOf(vals)
		got, err := DecodeKey(key)
		if err != nil {
			t.Fatalf("DecodeKey(KeyOf(%v)): %v", vals, err)
		}
		if len(got) != len(vals) || KeyOf(got) != key {
			t.Fatalf("round trip of %v gave %v", vals, got)
		}
		for i := range vals {
			if Compare(got[i], vals[i]) != 0 {
				t.Errorf("value %d: %v read back as %v", i, vals[i], got[i])
			}
		}
	}
}

func FuzzDecodeKey(f *testing.F) {
	f.Add(KeyOf([]any{int64(1), "a", nil}))
	f.Add(KeyOf([]any{decimal.RequireFromString("3.0"), []any{true}, 1.5}))
	f.Add(string([]byte{tagList, 200}))
	f.Add(string([]byte{tagNumeric, 3, '1', 'e', '9'}))
	f.Fuzz(func(t *testing.T, key string) {
		vals, err := DecodeKey(key)
		if err != nil {
			return
		}
		again, err := DecodeKey(KeyOf(vals))
		if err != nil || KeyOf(again) != KeyOf(vals) {
			t.Fatalf("re-encoding %v failed: %v", vals, err)
		}
	})
}
