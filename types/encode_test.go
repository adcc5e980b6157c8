package types

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestEncodeRowRoundTrip(t *testing.T) {
	rows := [][]any{
		{},
		{nil, true, false, int64(-7), int64(1 << 40), 2.5, "héllo", ""},
		{decimal.RequireFromString("24.0"), decimal.RequireFromString("-0.0010"), decimal.RequireFromString("123456789012345678901234567890")},
		{time.Date(2026, 11, 25, 14, 3, 4, 5000, time.UTC), IntervalValue{Months: 1, Days: -2, Micros: 3}, []byte{0, 1, 2}},
		{[]any{int64(1), nil, []any{"x"}}},
	}
	for _, row := range rows {
		got, err := DecodeRow(EncodeRow(row))
		if err != nil {
			t.Fatalf("DecodeRow(%v): %v", row, err)
		}
		if CompareRows(got, row) != 0 {
			t.Fatalf("round trip of %v gave %v", row, got)
		}
		for i := range row {
			if d, ok := row[i].(decimal.Decimal); ok && FormatNumeric(d) != FormatNumeric(got[i].(decimal.Decimal)) {
				t.Errorf("numeric %s read back as %s: scale lost", FormatNumeric(d), FormatNumeric(got[i].(decimal.Decimal)))
			}
		}
	}
}

func FuzzDecodeRow(f *testing.F) {
	f.Add(EncodeRow([]any{int64(1), "a", nil}))
	f.Add(EncodeRow([]any{decimal.RequireFromString("3.0"), []any{true}}))
	f.Add([]byte{encList, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		row, err := DecodeRow(b)
		if err != nil {
			return
		}
		again, err := DecodeRow(EncodeRow(row))
		if err != nil || CompareRows(row, again) != 0 {
			t.Fatalf("re-encoding %v failed: %v", row, err)
		}
	})
}
