package lang_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
)

// brokenSeeds are inputs near the edges of the grammar: truncated
// declarations, stray characters, unbalanced brackets, bad literals.
var brokenSeeds = []string{
	"",
	"table",
	"table t (",
	"table t (a int4",
	"table t (a int4,)",
	"table t (a int4, primary key ())",
	"view v =",
	"view v = t |",
	"view v = t | where",
	"view v = t | select {",
	"view v = t | group by { }",
	"view v = t | join u on",
	"view v = values []",
	"view v = values [{a = 1}, {b = 2}]",
	"view v = t | where a < b < c",
	"view v = t | where a == b is null",
	"view v = t | where \"unterminated",
	"view v = t | where \"bad \\q escape\"",
	"view v = t | where 1.2.3",
	"view v = t | where 99999999999999999999999999 > 1e999",
	"view v = t | select { x = `` }",
	"view v = t | select { x = `a\nb` }",
	"output",
	"output v to table",
	"output v primary key (a) index (b)",
	"fn f(",
	"fn f(a int4) int4 =",
	"@",
	"\x00",
	"\xff\xfe",
	"table t (a int4)\n\tview v = t",
	"table t (a numeric(1,2,3)[]?)",
	"view v = ((((t))))",
	"view v = t | top by a",
	"view v = t | flatten",
	"# only a comment",
	"view v = t | where a.b.c.d",
	"view v = t | where f(distinct a order by b desc)",
	"view v = t | where {a = 1}.a == 1",
	"view v = t | where if a then b",
	"table t (a int4, s text, at timestamp, j jsonb, x text[])\nview v = t | select { l = let a = a + 1 in a, c = case a when 1 then s end, k = s::int4, i = interval \"1 day\", n = a ?? 0, d = a is distinct from 1, p = s like \"%\", q = j ->> \"k\", w = now() - at } | flatten e = x",
	"fn f(x int4) int4 = f(x)",
	"fn f(x int4?) int4 = x ?? 0\ntable t (a int4?)\nview v = t | where f(a) > now()",
	"view v = t | where let a = 1 in",
	"view v = t | where case when end",
	"view v = t | where cast(a as)",
	"view v = t | where a::numeric(",
	"view v = t | where j -> -1",
	"view v = t | where position(a in)",
	"view v = t | where extract(from x)",
	"view v = t | where interval \"\"",
}

// FuzzFrontEnd runs arbitrary text through the whole front end: parsing,
// checking and lowering must never panic, and every failure must be a
// non-empty lang.ErrorList whose errors point at a line and column of at
// least 1. (FuzzParse in parse_test.go fuzzes the parser alone.)
func FuzzFrontEnd(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "*.step"))
	golden, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.step"))
	for _, file := range append(examples, golden...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range brokenSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := lang.Parse("fuzz.step", src)
		if err != nil {
			checkErrorList(t, "parse", src, err)
			return
		}
		_ = lang.Dump(file)
		prog, err := typecheck.Check(file, nil)
		if err != nil {
			checkErrorList(t, "check", src, err)
			return
		}
		if _, err := ir.Lower(prog); err != nil {
			t.Fatalf("a checked program fails to lower: %v", err)
		}
	})
}

func checkErrorList(t *testing.T, stage, src string, err error) {
	t.Helper()
	var list lang.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("%s: error %v (%T) is not a non-empty lang.ErrorList", stage, err, err)
	}
	for _, e := range list {
		if e.Pos.Line < 1 || e.Pos.Column < 1 {
			t.Fatalf("%s: error %q is at line %d, column %d", stage, e.Error(), e.Pos.Line, e.Pos.Column)
		}
	}
	_ = list.Format(src)
}
