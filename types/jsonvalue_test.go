package types

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestJSONValues writes a value of every type as JSON, checks the text
// against docs/serve.md's table, and reads the text back strictly to the
// same value.
func TestJSONValues(t *testing.T) {
	pair := RecordOf([]Field{{"a", Of(Int4)}, {"b", Of(Text).OrNull()}})
	tests := []struct {
		name string
		v    any
		t    Type
		want string
	}{
		{"bool", true, Of(Bool), `true`},
		{"int2", int64(-7), Of(Int2), `-7`},
		{"int4", int64(42), Of(Int4), `42`},
		{"int8", int64(math.MaxInt64), Of(Int8), `9223372036854775807`},
		{"float8", 1.5, Of(Float8), `1.5`},
		{"float4", 0.1, Of(Float4), `0.1`},
		{"float8 big", 1e21, Of(Float8), `1e+21`},
		{"float8 -0", math.Copysign(0, -1), Of(Float8), `-0`},
		{"float8 NaN", math.NaN(), Of(Float8), `"NaN"`},
		{"float8 +inf", math.Inf(1), Of(Float8), `"Infinity"`},
		{"float8 -inf", math.Inf(-1), Of(Float8), `"-Infinity"`},
		{"numeric scale kept", decimal.RequireFromString("12.50"), Of(Numeric), `"12.50"`},
		{"numeric integer", decimal.RequireFromString("-3"), Of(Numeric), `"-3"`},
		{"text", "tv <&> \"q\"\n", Of(Text), `"tv <&> \"q\"\n"`},
		{"uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", Of(UUID), `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"jsonb", `{"a": [1, 2]}`, Of(JSONB), `{"a": [1, 2]}`},
		{"date", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Of(Date), `"2026-12-01"`},
		{"timestamp", time.Date(2026, 12, 1, 10, 0, 0, 500000000, time.UTC), Of(Timestamp), `"2026-12-01T10:00:00.5"`},
		{"timestamp whole", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Of(Timestamp), `"2026-12-01T10:00:00"`},
		{"timestamptz", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Of(Timestamptz), `"2026-12-01T10:00:00Z"`},
		{"timestamptz micros", time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC), Of(Timestamptz), `"2026-12-01T10:00:00.123456Z"`},
		{"interval", IntervalValue{Days: 1, Micros: 2 * 3600e6}, Of(Interval), `"1 day 02:00:00"`},
		{"bytea", []byte{0xde, 0xad, 0xbe, 0xef}, Of(Bytea), `"\\xdeadbeef"`},
		{"int array", []any{int64(1), nil, int64(2)}, ArrayOf(Of(Int4)), `[1,null,2]`},
		{"numeric array", []any{decimal.RequireFromString("1.0")}, ArrayOf(Of(Numeric)), `["1.0"]`},
		{"record", []any{int64(1), "x"}, pair, `{"a":1,"b":"x"}`},
		{"record null field", []any{int64(1), nil}, pair, `{"a":1,"b":null}`},
		{"array of records", []any{[]any{int64(1), "x"}}, ArrayOf(pair), `[{"a":1,"b":"x"}]`},
		{"NULL", nil, Of(Int4).OrNull(), `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSON(nil, tt.v, tt.t))
			if got != tt.want {
				t.Fatalf("AppendJSON = %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("%s is not valid JSON", got)
			}
			back, err := DecodeJSONStrict(decodeNumber(t, got), tt.t)
			if err != nil {
				t.Fatalf("DecodeJSONStrict(%s): %v", got, err)
			}
			if f, ok := tt.v.(float64); ok && math.IsNaN(f) {
				if b, _ := back.(float64); !math.IsNaN(b) {
					t.Fatalf("read back %v, want NaN", back)
				}
				return
			}
			if string(AppendJSON(nil, back, tt.t)) != tt.want {
				t.Fatalf("read back %#v, which writes %s", back, AppendJSON(nil, back, tt.t))
			}
		})
	}
}

func decodeNumber(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDecodeJSONStrict checks what the API accepts beside the canonical
// forms, and that everything else is refused with the type wanted.
func TestDecodeJSONStrict(t *testing.T) {
	rec := RecordOf([]Field{{"a", Of(Int4)}})
	tests := []struct {
		name string
		in   string
		t    Type
		want any    // on success
		err  string // on failure, a part of the message
	}{
		{"int from string", `"42"`, Of(Int4), int64(42), ""},
		{"numeric from number keeps digits", `12.50`, Of(Numeric), decimal.RequireFromString("12.50"), ""},
		{"numeric(10,2) rounds", `"1.005"`, Type{Kind: Numeric, Scale: 2, Precision: 10}, decimal.RequireFromString("1.01"), ""},
		{"float from string NaN", `"NaN"`, Of(Float8), nil, ""},
		{"bool from string", `"true"`, Of(Bool), nil, "want bool, got \"true\""},
		{"int from bool", `true`, Of(Int8), nil, "want int8, got true"},
		{"int4 out of range", `3000000000`, Of(Int4), nil, "integer out of range"},
		{"int fraction", `1.5`, Of(Int4), nil, "want int4"},
		{"text from number", `5`, Of(Text), nil, "want text, got 5"},
		{"int from word", `"two"`, Of(Int4), nil, `want int4, got "two"`},
		{"null for non-null", `null`, Of(Text), nil, "want text, got null"},
		{"null for nullable", `null`, Of(Text).OrNull(), nil, ""},
		{"bad date", `"2026-13-01"`, Of(Date), nil, "want date"},
		{"array of wrong", `[1, "x"]`, ArrayOf(Of(Int4)), nil, `[1]: want int4?, got "x"`},
		{"record unknown field", `{"a": 1, "z": 2}`, rec, nil, "z: want {a int4}, got 2 (no such field)"},
		{"record missing field", `{}`, rec, nil, "a: want int4, got null"},
		{"record from array", `[1]`, rec, nil, "want {a int4}"},
		{"jsonb anything", `{"b": 1, "a": [true]}`, Of(JSONB), `{"a": [true], "b": 1}`, ""},
		{"uuid bad", `"nope"`, Of(UUID), nil, "want uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeJSONStrict(decodeNumber(t, tt.in), tt.t)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				if d, ok := tt.want.(decimal.Decimal); !ok || FormatNumeric(d) != FormatNumeric(got.(decimal.Decimal)) {
					t.Fatalf("got %#v, want %#v", got, tt.want)
				}
			}
		})
	}
}
