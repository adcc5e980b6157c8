package lang_test

import (
	"strings"
	"testing"

	"github.com/stepping-io/stepping/lang"
)

// TestOpSpelling checks each operator's written form, which diagnostics,
// explain output and program fingerprints print, and that LookupBinary
// finds every binary operator by it.
func TestOpSpelling(t *testing.T) {
	cases := []struct {
		op    lang.Op
		text  string
		unary bool
	}{
		{lang.Or, "or", false},
		{lang.And, "and", false},
		{lang.Not, "not", true},
		{lang.Eq, "==", false},
		{lang.Ne, "!=", false},
		{lang.Lt, "<", false},
		{lang.Le, "<=", false},
		{lang.Gt, ">", false},
		{lang.Ge, ">=", false},
		{lang.Like, "like", false},
		{lang.ILike, "ilike", false},
		{lang.NotLike, "not like", false},
		{lang.NotILike, "not ilike", false},
		{lang.IsDistinctFrom, "is distinct from", false},
		{lang.IsNotDistinctFrom, "is not distinct from", false},
		{lang.Coalesce, "??", false},
		{lang.Concat, "||", false},
		{lang.Add, "+", false},
		{lang.Sub, "-", false},
		{lang.Mul, "*", false},
		{lang.Div, "/", false},
		{lang.Mod, "%", false},
		{lang.Neg, "-", true},
		{lang.Arrow, "->", false},
		{lang.ArrowText, "->>", false},
	}
	// Every operator has a spelling; the first Op without one ends them.
	n := 0
	for op := lang.InvalidOp + 1; !strings.HasPrefix(op.String(), "Op("); op++ {
		n++
	}
	if n != len(cases) {
		t.Errorf("lang has %d operators, the table %d: add the new ones", n, len(cases))
	}
	for _, c := range cases {
		if got := c.op.String(); got != c.text {
			t.Errorf("Op %d prints %q, want %q", int(c.op), got, c.text)
		}
		if got := c.op.IsUnary(); got != c.unary {
			t.Errorf("%s: IsUnary() = %v, want %v", c.text, got, c.unary)
		}
		got, ok := lang.LookupBinary(c.text)
		switch {
		case c.unary && c.text == "-":
			// "-" between operands is Sub; Neg is never looked up.
			if got != lang.Sub {
				t.Errorf("LookupBinary(%q) = %v, want Sub", c.text, int(got))
			}
		case c.unary:
			if ok {
				t.Errorf("LookupBinary(%q) found %d, a unary operator", c.text, int(got))
			}
		case !ok || got != c.op:
			t.Errorf("LookupBinary(%q) = %d, %v, want %d", c.text, int(got), ok, int(c.op))
		}
	}
	for _, s := range []string{"", "=", "is null", "LIKE", "union"} {
		if op, ok := lang.LookupBinary(s); ok {
			t.Errorf("LookupBinary(%q) = %s, want none", s, op)
		}
	}
	if got := lang.InvalidOp.String(); got != "Op(0)" {
		t.Errorf("InvalidOp prints %q, want Op(0)", got)
	}
}
