package types

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestFormatComposite checks the text forms of arrays and records against
// what Postgres 15 prints for the same values (array_out, record_out).
func TestFormatComposite(t *testing.T) {
	text := Of(Text)
	pair := RecordOf([]Field{{"name", text}, {"body", text.OrNull()}})
	tests := []struct {
		v    any
		t    Type
		want string
	}{
		// select ARRAY['a b', '', 'NULL', 'x"y', 'c,d', 'back\slash', NULL, 'plain']::text[]
		{[]any{"a b", "", "NULL", `x"y`, "c,d", `back\slash`, nil, "plain"}, ArrayOf(text.OrNull()),
			`{"a b","","NULL","x\"y","c,d","back\\slash",NULL,plain}`},
		// select ROW(1, 'a b', NULL, '', 'x"y', 'p(q)', 'back\slash')
		{[]any{int64(1), "a b", nil, "", `x"y`, "p(q)", `back\slash`},
			RecordOf([]Field{{"a", Of(Int4)}, {"b", text}, {"c", text.OrNull()}, {"d", text}, {"e", text}, {"f", text}, {"g", text}}),
			`(1,"a b",,"","x""y","p(q)","back\\slash")`},
		// select ARRAY[ROW('alice','hi there'), ROW('bob', 'x')]
		{[]any{[]any{"alice", "hi there"}, []any{"bob", "x"}}, ArrayOf(pair), `{"(alice,\"hi there\")","(bob,x)"}`},
		// select ARRAY[ROW(1,NULL)]
		{[]any{[]any{"1", nil}}, ArrayOf(pair), `{"(1,)"}`},
		// select ROW(ARRAY['a','b c'], ROW(1,'x y'))
		{[]any{[]any{"a", "b c"}, []any{int64(1), "x y"}},
			RecordOf([]Field{{"tags", ArrayOf(text)}, {"r", RecordOf([]Field{{"n", Of(Int4)}, {"s", text}})}}),
			`("{a,""b c""}","(1,""x y"")")`},
		{[]any{decimal.RequireFromString("1.50"), true}, RecordOf([]Field{{"n", Of(Numeric)}, {"b", Of(Bool)}}), "(1.50,t)"},
		{[]any{}, RecordOf(nil), "()"},
		{[]any{}, ArrayOf(text), "{}"},
	}
	for _, tt := range tests {
		if got := Format(tt.v, tt.t); got != tt.want {
			t.Errorf("Format(%v, %s) = %s, want %s", tt.v, tt.t, got, tt.want)
		}
	}
}

// TestCompareComposite checks that inside arrays and records NULL equals
// NULL and sorts after every value, as Postgres compares composite and
// array values, while a NULL value itself sorts first.
func TestCompareComposite(t *testing.T) {
	one, two := int64(1), int64(2)
	tests := []struct {
		a, b any
		want int
	}{
		{[]any{one, nil}, []any{one, two}, 1}, // select ARRAY[1,NULL] > ARRAY[1,2]: t
		{[]any{one, nil}, []any{one, nil}, 0}, // NULL fields are equal
		{[]any{one}, []any{one, two}, -1},     // the shorter first
		{[]any{two}, []any{one, two}, 1},      // element by element first
		{nil, []any{one}, -1},                 // a NULL value first
		{[]any{[]any{nil}}, []any{[]any{one}}, 1},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if CompareNullsLast(nil, one) != 1 || CompareNullsLast(one, nil) != -1 || CompareNullsLast(nil, nil) != 0 || CompareNullsLast(one, two) != -1 {
		t.Error("CompareNullsLast does not put NULL last")
	}
}

// TestRecordFromJSON reads records as to_jsonb writes them, nested in
// arrays, with exact numerics and absent fields as NULL.
func TestRecordFromJSON(t *testing.T) {
	rt := RecordOf([]Field{{"author", Of(Text)}, {"n", Of(Numeric).OrNull()}, {"ok", Of(Bool)}})
	dec := json.NewDecoder(strings.NewReader(`[{"author": "ann", "n": 1.50, "ok": true}, {"author": "bob", "ok": false}]`))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	got, err := FromJSON(v, ArrayOf(rt))
	if err != nil {
		t.Fatal(err)
	}
	if s := Format(got, ArrayOf(rt)); s != `{"(ann,1.50,t)","(bob,,f)"}` {
		t.Errorf("read %s", s)
	}
	if _, err := FromJSON(map[string]any{"author": "x", "ok": true, "extra": "y"}, rt); err == nil {
		t.Error("a JSON object with an unknown field was read as a record")
	}
	if _, err := FromJSON("(a,b)", rt); err == nil {
		t.Error("a JSON string was read as a record")
	}
}

// TestFormatNumericFast checks the short path of FormatNumeric against
// decimal's own StringFixed and String, over coefficients and exponents
// on both sides of its limits.
func TestFormatNumericFast(t *testing.T) {
	coefs := []int64{0, 1, -1, 5, -5, 9, 10, 99, 100, 150, -150, 12345, -12345, 999999999999999, -999999999999999, 1 << 53, -(1 << 53), 1<<53 + 1, 1000000000000000, 9999999999999999, 1 << 62}
	for _, c := range coefs {
		for e := int32(-25); e <= 3; e++ {
			d := decimal.New(c, e)
			want := d.String()
			if e < 0 {
				want = d.StringFixed(-e)
			}
			if got := FormatNumeric(d); got != want {
				t.Errorf("FormatNumeric(%d e%d) = %q, want %q", c, e, got, want)
			}
		}
	}
}

// TestSameRowKey checks SameRowKey against comparing RowKeys.
func TestSameRowKey(t *testing.T) {
	instant := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	vals := []any{nil, true, false, int64(1), int64(2), 1.5, "a", "ab", decimal.New(15, -1), decimal.New(150, -2), decimal.New(1, 70), []any{int64(1)}, []any{int64(1), nil},
		0.0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000002), math.Inf(1),
		decimal.New(15, 1), decimal.New(150, 0), decimal.New(-150, 0), decimal.Decimal{}, decimal.New(0, 0), decimal.New(0, -1),
		instant, instant.In(time.FixedZone("x", 3600)), instant.Add(time.Nanosecond), instant.Add(time.Microsecond), []byte("a")}
	for _, a := range vals {
		for _, b := range vals {
			for _, rows := range [][2][]any{{{a}, {b}}, {{a, b}, {b, a}}, {{a, b}, {a}}, {{a}, {a, b}}} {
				if got, want := SameRowKey(rows[0], rows[1]), RowKey(rows[0]) == RowKey(rows[1]); got != want {
					t.Errorf("SameRowKey(%v, %v) = %v, want %v", rows[0], rows[1], got, want)
				}
			}
		}
	}
}

// TestAppendFormat checks that AppendFormat appends what Format returns,
// for the values it writes itself and those it hands to Format.
func TestAppendFormat(t *testing.T) {
	huge, _ := decimal.NewFromString("123456789012345678901234567890.50")
	vals := []struct {
		v any
		t Type
	}{
		{nil, Type{Kind: Int8}}, {int64(0), Type{Kind: Int8}}, {int64(-42), Type{Kind: Int4}}, {int64(math.MaxInt64), Type{Kind: Int8}},
		{"", Type{Kind: Text}}, {"Basket id: %s", Type{Kind: Text}},
		{decimal.New(1999, -2), Type{Kind: Numeric}}, {decimal.New(-5, -3), Type{Kind: Numeric}}, {decimal.New(0, -2), Type{Kind: Numeric}},
		{decimal.New(15, 1), Type{Kind: Numeric}}, {decimal.New(7, -25), Type{Kind: Numeric}}, {huge, Type{Kind: Numeric}},
		{true, Type{Kind: Bool}}, {1.5, Type{Kind: Float8}}, {time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Type{Kind: Timestamptz}},
	}
	for _, c := range vals {
		want := "prefix:" + Format(c.v, c.t)
		if got := string(AppendFormat([]byte("prefix:"), c.v, c.t)); got != want {
			t.Errorf("AppendFormat(%v) = %q, want %q", c.v, got, want)
		}
	}
}
