package lang_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/lang"
)

// TestParseGolden parses every testdata/parse/*.step file and compares
// lang.Dump of the tree, or for a syntax error the formatted ErrorList,
// with the .golden file beside it. Files named err_*.step must fail to
// parse and every other file must parse.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "parse", "*.step"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/parse/*.step files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".step")
		t.Run(name, func(t *testing.T) {
			src := golden.Read(t, file)
			path := filepath.ToSlash(file)
			f, err := lang.Parse(path, src)
			wantErr := strings.HasPrefix(name, "err_")
			var got string
			switch {
			case err == nil && wantErr:
				t.Fatalf("%s parsed, want a syntax error", file)
			case err == nil:
				got = lang.Dump(f)
			case !wantErr:
				t.Fatalf("%s: unexpected error:\n%s", file, formatErr(t, err, src))
			default:
				got = formatErr(t, err, src)
			}
			golden.Check(t, strings.TrimSuffix(file, ".step")+".golden", got)
		})
	}
}

// formatErr renders a parse error as stepq prints it; every parse error
// must be a positioned lang.ErrorList.
func formatErr(t *testing.T, err error, src string) string {
	t.Helper()
	var list lang.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want lang.ErrorList: %v", err, err)
	}
	for _, e := range list {
		if e.Pos.Line < 1 || e.Pos.Column < 1 || e.Pos.Filename == "" {
			t.Errorf("error without a position: %q at %+v", e.Msg, e.Pos)
		}
	}
	return list.Format(src)
}

// TestPrecedence checks how expressions group, as the spec's precedence
// table says, by printing each one fully parenthesised.
func TestPrecedence(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a or b and c", "(a or (b and c))"},
		{"a and b or c", "((a and b) or c)"},
		{"a or b or c", "((a or b) or c)"},
		{"not a == b", "(not (a == b))"},
		{"not a and b", "((not a) and b)"},
		{"not not a", "(not (not a))"},
		{"a == b || c", "(a == (b || c))"},
		{"a || b + c", "(a || (b + c))"},
		{"a || b || c", "((a || b) || c)"},
		{"a + b * c", "(a + (b * c))"},
		{"a * b + c", "((a * b) + c)"},
		{"a - b - c", "((a - b) - c)"},
		{"a / b % c * d", "(((a / b) % c) * d)"},
		{"-a * b", "((-a) * b)"},
		{"- -a", "(-(-a))"},
		{"-r.x", "(-r.x)"},
		{"-f(a)", "(-f(a))"},
		{"a.b.c", "a.b.c"},
		{"a + b is null", "((a + b) is null)"},
		{"not a is not null", "(not (a is not null))"},
		{"(a or b) and c", "(((a or b)) and c)"},
		{"a <= b and c >= d", "((a <= b) and (c >= d))"},
		{"if a then b + 1 else c or d", "if a then (b + 1) else (c or d)"},
		{"f(a, b * c)", "f(a, (b * c))"},
		{"count(distinct x)", "count(distinct x)"},
		{"string_agg(s, \",\" order by a desc, b)", "string_agg(s, \",\" order by a desc, b asc)"},
		{"{x = 1, y = a + b}.x", "{x = 1, y = (a + b)}.x"},
		{"1.50 + 2e3 - 7", "((1.50 + 2e3) - 7)"},
		{"`select` == `weird name`", "(select == weird name)"},
		{"null", "null"},
		{"true and false", "(true and false)"},
		{"a ?? b + 1", "(a ?? (b + 1))"},
		{"a ?? b ?? c", "((a ?? b) ?? c)"},
		{"a ?? 0 > 5", "((a ?? 0) > 5)"},
		{"a ?? b || c", "(a ?? (b || c))"},
		{"a is distinct from b + 1", "(a is distinct from (b + 1))"},
		{"not a is not distinct from b", "(not (a is not distinct from b))"},
		{"s like \"a%\" and t not ilike u", "((s like \"a%\") and (t not ilike u))"},
		{"s || t like p", "((s || t) like p)"},
		{"-x::int4", "(-x::int4)"},
		{"a.b::numeric(10,2) * 2", "(a.b::numeric(10,2) * 2)"},
		{"x::text::int8", "x::text::int8"},
		{"cast(a + b as float8)", "(a + b)::float8"},
		{"j -> \"a\" ->> \"b\" == \"x\"", "(((j -> \"a\") ->> \"b\") == \"x\")"},
		{"j -> 0 -> (k)", "((j -> 0) -> (k))"},
		{"-j ->> \"n\"", "(-(j ->> \"n\"))"},
		{"let t = a * b in t + 1", "let t = (a * b) in (t + 1)"},
		{"let t = a, u = t in if u then 1 else 2", "let t = a, u = t in if u then 1 else 2"},
		{"1 + let t = a in t * 2", "(1 + let t = a in (t * 2))"},
		{"case when a then 1 when b then 2 else 3 end", "case when a then 1 when b then 2 else 3 end"},
		{"case x when 1 then \"one\" end", "case x when 1 then \"one\" end"},
		{"case when a then b end + 1", "(case when a then b end + 1)"},
		{"case when end > 1 then `end` end", "case when (end > 1) then end end"},
		{"interval \"7 days\" + date \"2024-03-01\"", "(interval \"7 days\" + date \"2024-03-01\")"},
		{"now() - interval \"1 hour\"", "(now() - interval \"1 hour\")"},
		{"position(\"b\" in s || t)", "position(\"b\", (s || t))"},
		{"extract(day from at) + 1", "(extract(\"day\", at) + 1)"},
		{"position + extract", "(position + extract)"},
		{"cast + let_ - case_", "((cast + let_) - case_)"},
	}
	for _, tt := range tests {
		x, err := lang.ParseExpr("expr", tt.src)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tt.src, err)
			continue
		}
		if got := paren(x); got != tt.want {
			t.Errorf("ParseExpr(%q) = %s, want %s", tt.src, got, tt.want)
		}
	}
}

// TestExprSyntaxErrors checks expressions the grammar rejects.
func TestExprSyntaxErrors(t *testing.T) {
	for _, src := range []string{
		"a < b < c",
		"a == b is null",
		"a is null is null",
		"a +",
		".5",
		"5.",
		"f(a,)",
		"{a = }",
		"if a then b",
		"a $ b",
		"'single'",
		"let a = 1",
		"let = 1 in a",
		"case end",
		"case when a then b",
		"a::",
		"a ->",
		"a is distinct b",
	} {
		_, err := lang.ParseExpr("expr", src)
		if err == nil {
			t.Errorf("ParseExpr(%q) succeeded, want a syntax error", src)
			continue
		}
		var list lang.ErrorList
		if !errors.As(err, &list) || len(list) == 0 || list[0].Pos.Line != 1 {
			t.Errorf("ParseExpr(%q): error %v is not a positioned ErrorList", src, err)
		}
	}
}

// TestPositions checks that nodes carry the line and column they start at.
func TestPositions(t *testing.T) {
	src := "table t (a int4)\n\nview v =\n  t\n  | where a > 1\n"
	f, err := lang.Parse("pos.step", src)
	if err != nil {
		t.Fatal(err)
	}
	v := f.Decls[1].(*lang.ViewDecl)
	pos, _ := v.Span()
	if pos.Line != 3 || pos.Column != 1 || pos.Filename != "pos.step" {
		t.Errorf("view at %v, want pos.step:3:1", pos)
	}
	w := v.Query.Stages[0].(*lang.WhereStage)
	pos, end := w.Cond.Span()
	if pos.Line != 5 || pos.Column != 11 || end.Column != 16 {
		t.Errorf("where condition spans %d:%d-%d, want 5:11-16", pos.Line, pos.Column, end.Column)
	}
}

// FuzzParse parses arbitrary text: it must never panic, a failure must be
// a positioned ErrorList, and a tree must dump.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.step"))
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "*.step"))
	for _, file := range append(files, examples...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := lang.Parse("fuzz.step", src)
		if err != nil {
			var list lang.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty ErrorList", err)
			}
			_ = list.Format(src)
			return
		}
		_ = lang.Dump(file)
	})
}

// paren renders an expression with every operation in parentheses.
func paren(x lang.Expr) string {
	switch x := x.(type) {
	case *lang.Name:
		return x.Name
	case *lang.Literal:
		if x.Kind == lang.StringLit {
			return `"` + x.Value + `"`
		}
		return x.Value
	case *lang.Selector:
		return paren(x.X) + "." + x.Sel.Name
	case *lang.Unary:
		if x.Op == lang.Not {
			return "(not " + paren(x.X) + ")"
		}
		return "(-" + paren(x.X) + ")"
	case *lang.Binary:
		return "(" + paren(x.X) + " " + x.Op.String() + " " + paren(x.Y) + ")"
	case *lang.IsNull:
		if x.Not {
			return "(" + paren(x.X) + " is not null)"
		}
		return "(" + paren(x.X) + " is null)"
	case *lang.ParenExpr:
		return "(" + paren(x.X) + ")"
	case *lang.IfExpr:
		return "if " + paren(x.Cond) + " then " + paren(x.Then) + " else " + paren(x.Else)
	case *lang.Call:
		var args []string
		for _, a := range x.Args {
			args = append(args, paren(a))
		}
		s := x.Fun.Name + "("
		if x.Distinct {
			s += "distinct "
		}
		s += strings.Join(args, ", ")
		if len(x.OrderBy) > 0 {
			var keys []string
			for _, k := range x.OrderBy {
				dir := " asc"
				if k.Desc {
					dir = " desc"
				}
				keys = append(keys, paren(k.X)+dir)
			}
			s += " order by " + strings.Join(keys, ", ")
		}
		return s + ")"
	case *lang.TypedLit:
		return x.Type.Name + ` "` + x.Value + `"`
	case *lang.CastExpr:
		return paren(x.X) + "::" + x.Type.String()
	case *lang.LetExpr:
		var bs []string
		for _, b := range x.Bindings {
			bs = append(bs, b.Name.Name+" = "+paren(b.Value))
		}
		return "let " + strings.Join(bs, ", ") + " in " + paren(x.Body)
	case *lang.CaseExpr:
		s := "case "
		if x.Subject != nil {
			s += paren(x.Subject) + " "
		}
		for _, w := range x.Whens {
			s += "when " + paren(w.When) + " then " + paren(w.Then) + " "
		}
		if x.Else != nil {
			s += "else " + paren(x.Else) + " "
		}
		return s + "end"
	case *lang.RecordLit:
		var fs []string
		for _, f := range x.Fields {
			fs = append(fs, f.Name.Name+" = "+paren(f.Value))
		}
		return "{" + strings.Join(fs, ", ") + "}"
	}
	return "?"
}
