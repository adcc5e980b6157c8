package lang_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
)

// nestings build a program nesting one construct n levels deep; each
// nested level adds one to the count lang.MaxNesting bounds. The prefix
// of each is "table t ...\nview v = ", so errors are on line 2.
var nestings = []struct {
	name  string
	build func(n int) string
}{
	{"parentheses", func(n int) string {
		return "t | select { x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + " }"
	}},
	{"records", func(n int) string {
		return "t | select { x = " + strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n) + " }"
	}},
	{"not", func(n int) string { return "t | where " + strings.Repeat("not ", n) + "b" }},
	{"minus", func(n int) string { return "t | select { x = " + strings.Repeat("- ", n) + "a }" }},
	{"else if", func(n int) string {
		return "t | select { x = " + strings.Repeat("if b then 1 else ", n) + "2 }"
	}},
	{"let", func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "let x%d = %d in ", i, i)
		}
		return "t | select { x = " + b.String() + "a }"
	}},
	{"case", func(n int) string {
		return "t | select { x = " + strings.Repeat("case when b then ", n) + "1" + strings.Repeat(" end", n) + " }"
	}},
	{"relations", func(n int) string {
		return strings.Repeat("(t | union ", n) + "t" + strings.Repeat(")", n)
	}},
	{"mixed", func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString([]string{"(", "-", "[", "not "}[i%4])
		}
		return "t | select { x = " + b.String() + "a }" // unbalanced: an error either way
	}},
}

const nestingDecls = "table t (a int4, b bool, primary key (a))\nview v = "

// TestNestingLimit checks that a program nested far beyond MaxNesting is a
// positioned syntax error, not a crash: the parser would overflow the
// goroutine's stack on a hundred thousand levels, which can't be
// recovered from.
func TestNestingLimit(t *testing.T) {
	for _, tt := range nestings {
		src := nestingDecls + tt.build(100000)
		_, err := lang.Parse("deep.step", src)
		var list lang.ErrorList
		if !errors.As(err, &list) || len(list) != 1 {
			t.Errorf("%s: Parse gave %v, want one error", tt.name, err)
			continue
		}
		e := list[0]
		if e.Pos.Line != 2 || !strings.Contains(e.Msg, "nested more than 1000 levels") {
			t.Errorf("%s: error %v, want one at line 2 about nesting", tt.name, e)
		}
	}
	if _, err := lang.ParseExpr("", strings.Repeat("(", 100000)+"1"+strings.Repeat(")", 100000)); err == nil ||
		!strings.Contains(err.Error(), "nested more than") {
		t.Errorf("ParseExpr of 100000 parentheses: %v", err)
	}
}

// TestNestingUnderLimit checks that a program nested just under the
// limit parses, checks and lowers without trouble.
func TestNestingUnderLimit(t *testing.T) {
	for _, tt := range nestings {
		if tt.name == "mixed" {
			continue
		}
		start := time.Now()
		src := nestingDecls + tt.build(lang.MaxNesting-10)
		f, err := lang.Parse("deep.step", src)
		if err != nil {
			t.Errorf("%s: %.300v", tt.name, err)
			continue
		}
		prog, err := typecheck.Check(f, nil)
		if err != nil {
			t.Errorf("%s: %.300v", tt.name, err)
			continue
		}
		if _, err := ir.Lower(prog); err != nil {
			t.Errorf("%s: lowering: %.300v", tt.name, err)
		}
		t.Logf("%s: %v", tt.name, time.Since(start))
	}
}

// TestNestingNotChained checks what the limit must not count: long flat
// sequences of operators, fields, stages and conditions.
func TestNestingNotChained(t *testing.T) {
	n := lang.MaxNesting + 50
	var fields []string
	for i := range n {
		fields = append(fields, fmt.Sprintf("x%d = if b then -a else (a)", i))
	}
	for name, body := range map[string]string{
		"sum":    "t | select { x = a" + strings.Repeat(" + 1", n) + " }",
		"fields": "t | select { " + strings.Join(fields, ", ") + " }",
		"stages": "t" + strings.Repeat(" | where not b", n),
		"ands":   "t | where b" + strings.Repeat(" and not b", n),
	} {
		if _, err := lang.Parse("flat.step", nestingDecls+body); err != nil {
			t.Errorf("%s: %.300v", name, err)
		}
	}
}
