package ir_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
)

// fingerprintOf compiles a program; ok is false when it does not compile.
func fingerprintOf(src string) (fp string, ok bool) {
	f, err := lang.Parse("p.step", src)
	if err != nil {
		return "", false
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		return "", false
	}
	c, err := ir.Lower(p)
	if err != nil {
		return "", false
	}
	return ir.Fingerprint(c), true
}

// TestFingerprintChanges checks, program by program, that edits which
// change what an output holds change the fingerprint, and that edits
// which change nothing leave it alone.
func TestFingerprintChanges(t *testing.T) {
	const base = `table t (x int4, s text)
fn big(x int4) bool = x >= 3
view v = t | where big(x)
output v to table v
`
	tests := []struct {
		name, src string
		same      bool
	}{
		{"function body", strings.Replace(base, "x >= 3", "x >= 2", 1), false},
		{"function body operator", strings.Replace(base, "x >= 3", "x > 3", 1), false},
		{"output table", strings.Replace(base, "to table v", "to table w", 1), false},
		{"output index", strings.Replace(base, "to table v", "to table v index (x)", 1), false},
		{"column type", strings.Replace(base, "s text", "s int4", 1), false},
		{"comment", "# a comment\n" + base, true},
		{"whitespace", strings.ReplaceAll(base, " = ", "  =\n   "), true},
		{"parameter name", strings.ReplaceAll(strings.Replace(base, "x >= 3", "y >= 3", 1), "big(x int4)", "big(y int4)"), true},
	}
	want, ok := fingerprintOf(base)
	if !ok {
		t.Fatal("the base program does not compile")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := fingerprintOf(tt.src)
			if !ok {
				t.Fatalf("does not compile:\n%s", tt.src)
			}
			if (got == want) != tt.same {
				t.Errorf("fingerprint equal = %v, want %v\n--- base\n%s--- edited\n%s", got == want, tt.same, want, got)
			}
		})
	}
}

// token matches one token of the language, as lang's lexer splits them.
var token = regexp.MustCompile("#[^\\n]*|[ \\t\\r\\n]+|\"(\\\\.|[^\"\\\\\\n])*\"|[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*|`[^`\\n]+`|->>|->|::|\\?\\?|==|!=|<=|>=|\\|\\||[-+*/%<>=|(){}\\[\\],.?:]")

// mutations gives the replacements of a token that change its meaning:
// another number, another string, another comparison, arithmetic,
// logical operator, aggregate, order or join.
func mutations(tok string) []string {
	switch {
	case tok[0] >= '0' && tok[0] <= '9':
		if tok == "0" {
			return []string{"1"}
		}
		return []string{"0" + tok + "1", "2" + tok}
	case tok[0] == '"':
		return []string{`"q` + tok[1:]}
	}
	swaps := map[string][]string{
		"==": {"!="}, "!=": {"=="}, "<": {"<=", ">"}, "<=": {"<"}, ">": {">="}, ">=": {">"},
		"+": {"-"}, "-": {"+"}, "*": {"+"}, "/": {"*"}, "%": {"*"},
		"and": {"or"}, "or": {"and"}, "true": {"false"}, "false": {"true"},
		"min": {"max"}, "max": {"min"}, "sum": {"max"}, "first": {"last"}, "last": {"first"},
		"desc": {"asc"}, "asc": {"desc"}, "left": {"inner"}, "union": {"intersect"},
	}
	return swaps[tok]
}

// TestVersionProperty is the version hash property over every example
// program: every single-token edit of a number, a string or an operator
// that still compiles changes the fingerprint (such an edit changes what
// some output contains), and edits of comments and white space don't.
func TestVersionProperty(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.step"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example programs: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			want, ok := fingerprintOf(src)
			if !ok {
				t.Fatal("does not compile")
			}
			locs := token.FindAllStringIndex(src, -1)
			if end := locs[len(locs)-1][1]; end != len(src) {
				t.Fatalf("the test's tokenizer stopped at offset %d", end)
			}
			mutants, neutral := 0, 0
			for _, loc := range locs {
				tok := src[loc[0]:loc[1]]
				before, after := src[:loc[0]], src[loc[1]:]
				switch {
				case tok[0] == '#':
					neutral++
					if got, _ := fingerprintOf(before + "# edited" + after); got != want {
						t.Errorf("editing the comment at offset %d changed the fingerprint", loc[0])
					}
					continue
				case strings.TrimSpace(tok) == "":
					neutral++
					if got, _ := fingerprintOf(before + tok + " \n\t" + after); got != want {
						t.Errorf("adding white space at offset %d changed the fingerprint", loc[0])
					}
					continue
				}
				for _, m := range mutations(tok) {
					edited := before + m + after
					got, ok := fingerprintOf(edited)
					if !ok {
						continue
					}
					mutants++
					if got == want {
						line := strings.Count(before, "\n") + 1
						t.Errorf("line %d: %q -> %q compiles and leaves the fingerprint unchanged", line, tok, m)
					}
				}
			}
			if mutants == 0 || neutral == 0 {
				t.Errorf("%d mutants and %d neutral edits: the test tried nothing", mutants, neutral)
			}
			t.Logf("%d mutants, %d neutral edits", mutants, neutral)
		})
	}
}
