package stdlib_test

import (
	"cmp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

var (
	int4    = types.Of(types.Int4)
	int8    = types.Of(types.Int8)
	numeric = types.Of(types.Numeric)
	text    = types.Of(types.Text)
	boolT   = types.Of(types.Bool)
)

func rec(fields ...any) types.Type {
	var fs []types.Field
	for i := 0; i < len(fields); i += 2 {
		fs = append(fs, types.Field{Name: fields[i].(string), Type: fields[i+1].(types.Type)})
	}
	return types.RecordOf(fs)
}

// call checks and binds f for the argument types and applies it to vals.
func callFunc(t *testing.T, name string, ts []types.Type, vals ...any) (types.Type, any) {
	t.Helper()
	f := stdlib.Funcs()[name]
	rt, err := f.Check(ts)
	if err != nil {
		t.Fatalf("%s%v: %v", name, ts, err)
	}
	v, err := f.BindStrict(ts)(vals)
	if err != nil {
		t.Fatalf("%s(%v): %v", name, vals, err)
	}
	return rt, v
}

func TestArrayFunctions(t *testing.T) {
	texts := types.ArrayOf(text.OrNull())
	pairs := types.ArrayOf(rec("who", text, "n", int4.OrNull()))
	tests := []struct {
		name  string
		types []types.Type
		vals  []any
		want  any
		rtype string
	}{
		// select cardinality(ARRAY['a', NULL]) -> 2
		{"cardinality", []types.Type{texts}, []any{[]any{"a", nil}}, int64(2), "int4"},
		{"cardinality", []types.Type{texts}, []any{[]any{}}, int64(0), "int4"},
		{"cardinality", []types.Type{texts.OrNull()}, []any{nil}, nil, "int4?"},
		// select array_to_string(ARRAY['a', NULL, 'b c'], ',') -> a,b c
		{"array_to_string", []types.Type{texts, text}, []any{[]any{"a", nil, "b c"}, ","}, "a,b c", "text"},
		// select array_to_string(ARRAY['a', NULL], ',', '*') -> a,*
		{"array_to_string", []types.Type{texts, text, text}, []any{[]any{"a", nil}, ",", "*"}, "a,*", "text"},
		{"array_to_string", []types.Type{texts, text, text.OrNull()}, []any{[]any{"a", nil}, ",", nil}, "a", "text"},
		{"array_to_string", []types.Type{texts.OrNull(), text}, []any{nil, ","}, nil, "text?"},
		{"array_to_string", []types.Type{texts, text.OrNull()}, []any{[]any{"a"}, nil}, nil, "text?"},
		// Records in their text form: select array_to_string(ARRAY[ROW('a b', 1), ROW('c', NULL)], '; ')
		{"array_to_string", []types.Type{pairs, text}, []any{[]any{[]any{"a b", int64(1)}, []any{"c", nil}}, "; "}, `("a b",1); (c,)`, "text"},
		{"array_to_string", []types.Type{types.ArrayOf(numeric), text}, []any{[]any{decimal.RequireFromString("1.50")}, "|"}, "1.50", "text"},
	}
	for _, tt := range tests {
		rt, got := callFunc(t, tt.name, tt.types, tt.vals...)
		if rt.String() != tt.rtype {
			t.Errorf("%s%v: result type %s, want %s", tt.name, tt.types, rt, tt.rtype)
		}
		if got != tt.want {
			t.Errorf("%s(%v) = %v, want %v", tt.name, tt.vals, got, tt.want)
		}
	}
	for _, bad := range [][]types.Type{{text}, {texts, int4}, {texts}, {texts, text, text, text}} {
		if _, err := stdlib.Funcs()["array_to_string"].Check(bad); err == nil {
			t.Errorf("array_to_string%v checked", bad)
		}
	}
	if _, err := stdlib.Funcs()["cardinality"].Check([]types.Type{text}); err == nil {
		t.Error("cardinality(text) checked")
	}
	if _, err := stdlib.Funcs()["length"].Check([]types.Type{texts}); err == nil || !strings.Contains(err.Error(), "cardinality") {
		t.Errorf("length of an array: %v, want a hint at cardinality", err)
	}
}

func TestAggregateSignatures(t *testing.T) {
	aggs := stdlib.Aggregates()
	tests := []struct {
		name string
		args []types.Type
		want string // result type, or the error's start
	}{
		{"count", []types.Type{text.OrNull()}, "int8"},
		{"bool_and", []types.Type{boolT}, "bool"},
		{"bool_or", []types.Type{boolT.OrNull()}, "bool?"},
		{"bool_or", []types.Type{int4}, "bool_or wants bool"},
		{"array_agg", []types.Type{int4}, "int4[]"},
		{"array_agg", []types.Type{int4.OrNull()}, "(int4?)[]"},
		{"array_agg", []types.Type{rec("a", text)}, "{a text}[]"},
		{"array_agg", []types.Type{types.ArrayOf(int4)}, "array_agg of arrays"},
		{"string_agg", []types.Type{text, text}, "text"},
		{"string_agg", []types.Type{text.OrNull(), text.OrNull()}, "text?"},
		{"string_agg", []types.Type{int4, text}, "string_agg wants (text, text)"},
		{"first", []types.Type{numeric.OrNull()}, "numeric?"},
		{"last", []types.Type{rec("a", int8)}, "{a int8}"},
	}
	for _, tt := range tests {
		rt, err := aggs[tt.name].Check(tt.args)
		got := rt.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s%v: %s, want %s", tt.name, tt.args, got, tt.want)
		}
	}
	for name, want := range map[string][3]bool{
		"count": {true, false, false}, "sum": {false, false, false}, "array_agg": {false, true, false},
		"string_agg": {false, true, false}, "first": {false, true, true}, "last": {false, true, true},
	} {
		a := aggs[name]
		if got := [3]bool{a.Distinct, a.Ordered, a.NeedsOrder}; got != want {
			t.Errorf("%s: distinct, ordered, needs order = %v, want %v", name, got, want)
		}
	}
}

// TestRecordsAndArrays checks which records and arrays compare and unify,
// and that values are converted to the unified type.
func TestRecordsAndArrays(t *testing.T) {
	a := rec("x", int4, "y", text)
	tests := []struct {
		a, b       types.Type
		comparable bool
		unified    string // "" when they do not unify
	}{
		{a, a, true, "{x int4, y text}"},
		{a, rec("x", int8.OrNull(), "y", text), true, "{x int8?, y text}"},
		{a, rec("x", numeric, "y", text.OrNull()).OrNull(), true, "{x numeric, y text?}?"},
		{a, rec("y", int4, "x", text), false, ""},
		{a, rec("x", int4), false, ""},
		{a, rec("x", text, "y", text), false, ""},
		{rec("j", types.Of(types.JSONB)), rec("j", types.Of(types.JSONB)), false, "{j jsonb}"},
		{types.ArrayOf(int4), types.ArrayOf(numeric.OrNull()), true, "(numeric?)[]"},
		{types.ArrayOf(int4), types.ArrayOf(text), false, ""},
		{types.ArrayOf(a), types.Type{Kind: types.Null, Nullable: true}, true, "{x int4, y text}[]?"},
	}
	for _, tt := range tests {
		if _, _, ok := stdlib.Comparable(tt.a, tt.b); ok != tt.comparable {
			t.Errorf("Comparable(%s, %s) = %v, want %v", tt.a, tt.b, ok, tt.comparable)
		}
		u, ok := stdlib.Unify(tt.a, tt.b)
		got := ""
		if ok {
			got = u.String()
		}
		if got != tt.unified {
			t.Errorf("Unify(%s, %s) = %q, want %q", tt.a, tt.b, got, tt.unified)
		}
	}
	// {x int4, y text} compared with {x numeric, y text}: 1 == 1.0.
	ca, cb, _ := stdlib.Comparable(a, rec("x", numeric, "y", text))
	one := []any{int64(1), "a"}
	if c := types.Compare(ca(one), cb([]any{decimal.RequireFromString("1.0"), "a"})); c != 0 {
		t.Errorf("{1, a} compared with {1.0, a}: %d", c)
	}
	to, _ := stdlib.Unify(types.ArrayOf(a), types.ArrayOf(rec("x", numeric, "y", text)))
	conv := stdlib.Converter(types.ArrayOf(a), to)
	got := conv([]any{one, nil})
	if s := types.Format(got, to); s != `{"(1,a)",NULL}` {
		t.Errorf("converted to %s: %s", to, s)
	}
	if _, isDec := got.([]any)[0].([]any)[0].(decimal.Decimal); !isDec {
		t.Errorf("int4 field not converted to numeric: %T", got.([]any)[0].([]any)[0])
	}
	if stdlib.Converter(a, rec("x", int4.OrNull(), "y", text)) != nil {
		t.Error("a conversion that changes nothing is not nil")
	}
}

// TestComparator checks how a comparator orders values, each pair in
// both orders: integers of every width, text, timestamps, an integer
// against a numeric and a float, and records; and that it orders them
// as types.Compare does once Comparable's converters bring them to a
// common type.
func TestComparator(t *testing.T) {
	at := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		a, b types.Type
		x, y any
		want int // x against y
	}{
		{int4, int4, int64(1), int64(2), -1},
		{types.Of(types.Int2), int8, int64(-7), int64(-7), 0},
		{int8, int4, int64(1 << 40), int64(3), 1},
		{text, text, "apple", "apples", -1},
		{text, text, "b", "b", 0},
		{text, text, "", "a", -1},
		{types.Of(types.Timestamp), types.Of(types.Timestamptz), at, at.Add(time.Microsecond), -1},
		{int4, numeric, int64(2), decimal.RequireFromString("1.50"), 1},
		{int4, numeric, int64(2), decimal.RequireFromString("2.00"), 0},
		{int8, types.Of(types.Float8), int64(3), 2.5, 1},
		{rec("x", int4, "y", text), rec("x", numeric, "y", text), []any{int64(1), "b"}, []any{decimal.RequireFromString("1.0"), "a"}, 1},
	}
	for _, tt := range tests {
		for _, swap := range []bool{false, true} {
			a, b, x, y, want := tt.a, tt.b, tt.x, tt.y, tt.want
			if swap {
				a, b, x, y, want = b, a, y, x, -want
			}
			ca, cb, ok := stdlib.Comparable(a, b)
			if !ok {
				t.Fatalf("%s and %s are not comparable", a, b)
			}
			got := cmp.Compare(stdlib.Comparator(a, b)(x, y), 0)
			if got != want {
				t.Errorf("Comparator(%s, %s)(%v, %v) = %d, want %d", a, b, x, y, got, want)
			}
			if c := cmp.Compare(types.Compare(ca(x), cb(y)), 0); c != got {
				t.Errorf("Comparator(%s, %s)(%v, %v) = %d, but types.Compare of them converted = %d", a, b, x, y, got, c)
			}
		}
	}
}
