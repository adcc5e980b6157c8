package types

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestParseNumericRange checks numeric input against Postgres 15's
// answers: what it accepts, with the same scale, and what overflows.
func TestParseNumericRange(t *testing.T) {
	tests := []struct {
		in   string
		want string // FormatNumeric of the result, or the start of the error
		err  bool
	}{
		{in: "1.50", want: "1.50"},
		{in: " -0.001e3 ", want: "-1"},
		{in: "+.5", want: "0.5"},
		{in: "5.", want: "5"},
		{in: "1E+2", want: "100"},
		{in: "0e100000000", want: "0"},
		{in: "0.000e5", want: "0"},
		{in: "0.000e2", want: "0.0"},
		{in: "-0.00", want: "0.00"},
		{in: "1e131071", want: "1" + strings.Repeat("0", 131071)},
		{in: "9.9e131071", want: "99" + strings.Repeat("0", 131070)},
		{in: "1e-16383", want: "0." + strings.Repeat("0", 16382) + "1"},
		{in: "0.1e-16382", want: "0." + strings.Repeat("0", 16382) + "1"},
		{in: "1e131072", want: "value overflows numeric format", err: true},
		{in: "1e100000000", want: "value overflows numeric format", err: true},
		{in: "1e1000000000000", want: "value overflows numeric format", err: true},
		{in: "1e99999999999999999999999999", want: "value overflows numeric format", err: true},
		{in: strings.Repeat("9", 131073), want: "value overflows numeric format", err: true},
		{in: "0." + strings.Repeat("0", 16383) + "1", want: "value overflows numeric format", err: true},
		{in: "1e-16384", want: "value overflows numeric format", err: true},
		{in: "0e-20000", want: "value overflows numeric format", err: true},
		{in: "100e-16385", want: "value overflows numeric format", err: true},
		{in: "", want: "invalid input syntax", err: true},
		{in: ".", want: "invalid input syntax", err: true},
		{in: "1e", want: "invalid input syntax", err: true},
		{in: "1.2.3", want: "invalid input syntax", err: true},
		{in: "NaN", want: "invalid input syntax", err: true},
		{in: "0x10", want: "invalid input syntax", err: true},
	}
	for _, tt := range tests {
		d, err := ParseNumeric(tt.in)
		name := tt.in
		if len(name) > 30 {
			name = name[:30] + "..."
		}
		switch {
		case tt.err && err == nil:
			t.Errorf("ParseNumeric(%q) = %s, want an error %q", name, FormatNumericShort(d), tt.want)
		case tt.err && !strings.HasPrefix(err.Error(), tt.want):
			t.Errorf("ParseNumeric(%q): error %q, want %q", name, err, tt.want)
		case !tt.err && err != nil:
			t.Errorf("ParseNumeric(%q): %v", name, err)
		case !tt.err && FormatNumeric(d) != tt.want:
			t.Errorf("ParseNumeric(%q) = %s, want %s", name, FormatNumericShort(d), tt.want)
		}
		// Parse and FromJSON go the same way.
		if _, perr := Parse(tt.in, Of(Numeric)); (perr != nil) != tt.err {
			t.Errorf("Parse(%q, numeric): error %v, want one: %v", name, perr, tt.err)
		}
	}
}

// TestJSONNumberRange checks that jsonb numbers, numerics in Postgres,
// have numeric's range.
func TestJSONNumberRange(t *testing.T) {
	for _, doc := range []string{`{"a": 1e100000000}`, `[1e-16384]`, `-1e131072`} {
		if got, err := NormalizeJSON(doc); err == nil {
			t.Errorf("NormalizeJSON(%s) = %.40s, want an overflow error", doc, got)
		}
	}
	if got, err := NormalizeJSON(`[1e3, 0e100000000, 1.50]`); err != nil || got != "[1000, 0, 1.50]" {
		t.Errorf("NormalizeJSON = %q, %v", got, err)
	}
}

// TestDecodeNumericOutOfRange checks that stored numerics outside the
// range are corrupt, not values whose digits are built when compared or
// printed (FuzzDecodeRow hung on them).
func TestDecodeNumericOutOfRange(t *testing.T) {
	enc := func(exp int64, coef string) []byte {
		b := binary.AppendUvarint([]byte{encList}, 1)
		b = binary.AppendVarint(append(b, encNumeric), exp)
		b = binary.AppendUvarint(b, uint64(len(coef)))
		return append(b, coef...)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"huge exponent", enc(100000000, "1")},
		{"exponent past int32", enc(1<<33, "1")},
		{"tiny exponent", enc(-20000, "1")},
		{"coefficient with an exponent", enc(0, "1e99999999")},
		{"coefficient with a point", enc(0, "1.5")},
	}
	for _, tt := range tests {
		row, err := DecodeRow(tt.b)
		if err == nil {
			t.Errorf("%s: DecodeRow gave %d values, want an error", tt.name, len(row))
		} else if !errors.Is(err, errCorrupt) {
			t.Errorf("%s: error %v is not errCorrupt", tt.name, err)
		}
	}
	if row, err := DecodeRow(enc(100000000, "0")); err != nil || FormatNumeric(row[0].(decimal.Decimal)) != "0" {
		t.Errorf("DecodeRow of 0e100000000: %v, %v", row, err)
	}
	if row, err := DecodeRow(enc(-2, "150")); err != nil || FormatNumeric(row[0].(decimal.Decimal)) != "1.50" {
		t.Errorf("DecodeRow of 1.50: %v, %v", row, err)
	}
}

func TestSmallCoefficient(t *testing.T) {
	big53 := new(big.Int).Lsh(big.NewInt(1), 53)
	huge := new(big.Int).Lsh(big.NewInt(1), 64)
	tests := []struct {
		d    decimal.Decimal
		want int64
		ok   bool
	}{
		{decimal.New(0, 0), 0, true},
		{decimal.Decimal{}, 0, true},
		{decimal.New(1234, -2), 1234, true},
		{decimal.New(-1234, -2), -1234, true},
		{decimal.New(1<<53-1, -3), 1<<53 - 1, true},
		{decimal.New(-(1<<53 - 1), 5), -(1<<53 - 1), true},
		{decimal.New(1<<53, -3), 0, false},
		{decimal.New(-1<<53, -3), 0, false},
		{decimal.NewFromBigInt(big53, -1), 0, false},
		{decimal.NewFromBigInt(huge, -2), 0, false},
		{decimal.NewFromBigInt(new(big.Int).Add(huge, big.NewInt(5)), -2), 0, false},
		{decimal.NewFromBigInt(new(big.Int).Neg(huge), 0), 0, false},
		// Exponents past the bounds' table.
		{decimal.New(77, -40), 77, true},
		{decimal.New(77, 40), 77, true},
		{decimal.NewFromBigInt(huge, -40), 0, false},
	}
	for _, tt := range tests {
		got, ok := SmallCoefficient(tt.d)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SmallCoefficient(%s) = %d, %v; want %d, %v", tt.d.String(), got, ok, tt.want, tt.ok)
		}
	}
}

// TestSmallCoefficientAgrees checks that SmallCoefficient, which reads
// the coefficient where decimal keeps it, says what decimal's own
// methods say, for coefficients about ±2^53 and ±2^63 at every exponent
// of its bounds and past them, and for decimals made by parsing and by
// arithmetic.
func TestSmallCoefficientAgrees(t *testing.T) {
	var ds []decimal.Decimal
	for _, c := range []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(-1), big.NewInt(999),
		big.NewInt(1<<53 - 1), big.NewInt(1 << 53), big.NewInt(1<<53 + 1),
		big.NewInt(-(1<<53 - 1)), big.NewInt(-1 << 53), big.NewInt(-(1<<53 + 1)),
		big.NewInt(math.MaxInt64), big.NewInt(math.MinInt64),
		new(big.Int).Add(big.NewInt(math.MaxInt64), big.NewInt(1)),
		new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(1)),
		new(big.Int).Lsh(big.NewInt(3), 100),
	} {
		for exp := int32(-30); exp <= 30; exp++ {
			ds = append(ds, decimal.NewFromBigInt(c, exp))
		}
	}
	for _, s := range []string{"0", "0.00", "-0.5", "12.345", "9007199254740991", "9007199254740992", "-9007199254740992.5", "1e-30", "123456789012345678901234567890"} {
		ds = append(ds, decimal.RequireFromString(s))
	}
	price := decimal.RequireFromString("19.99")
	ds = append(ds, price.Mul(decimal.NewFromInt(3)), price.Sub(price), price.Add(decimal.New(1, -4)), decimal.Decimal{})
	for _, d := range ds {
		got, ok := SmallCoefficient(d)
		want, wantOK := smallCoefficientOf(d)
		if got != want || ok != wantOK {
			t.Errorf("SmallCoefficient(%s) = %d, %v; decimal's methods give %d, %v", d.String(), got, ok, want, wantOK)
		}
	}
}
