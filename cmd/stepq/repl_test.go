package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
)

// TestReplTranscripts runs each testdata/repl/NAME.in through stepq repl
// --echo as a script (standard input not a terminal), with standard
// output and error in one stream, and compares the transcript with
// NAME.golden. A script with errors exits with status 1, one without 0.
func TestReplTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/repl/*.in")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/repl/*.in")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			script, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer script.Close()
			cmd := exec.Command(stepq, "repl", "--echo")
			var out bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = script, &out, &out
			err = cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			wantCode := 0
			if strings.Contains(out.String(), "\nerror") {
				wantCode = 1
			}
			if code != wantCode {
				t.Errorf("exit status %d, want %d", code, wantCode)
			}
			// A statement's time (:timing) differs from run to run.
			got := timingLine.ReplaceAllString(out.String(), "Time: N ms")
			golden.Check(t, strings.TrimSuffix(in, ".in")+".golden", got)
		})
	}
}

var timingLine = regexp.MustCompile(`Time: [0-9]+\.[0-9]{3} ms`)

// TestReplLoad loads the shop example with its data files, as stepq repl
// FILE does, and queries it: the outputs are those stepq run prints.
func TestReplLoad(t *testing.T) {
	cmd := exec.Command(stepq, "repl", "examples/shop.step")
	cmd.Dir = repoRoot
	cmd.Stdin = strings.NewReader("basket_totals\nreceipts\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	golden.Check(t, "testdata/repl_load.golden", string(out))
	want, err := os.ReadFile(filepath.Join(repoRoot, "examples", "shop", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// expected.txt is the two outputs under their names; the REPL
	// prints the same tables after its load summary.
	for _, table := range strings.Split(string(want), "\n\n") {
		_, body, _ := strings.Cut(table, "\n")
		if !strings.Contains(string(out), body) {
			t.Errorf("the REPL's output lacks\n%s\ngot\n%s", body, out)
		}
	}
}

// TestComplete checks the completions offered at the cursor.
func TestComplete(t *testing.T) {
	s := newSession(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, nil)
	s.run("table products (name text, price numeric, primary key (name))\nview cheap = products | where price < 3")
	if s.failed {
		t.Fatal("setup failed")
	}
	tests := []struct {
		line string
		want []string
	}{
		{"products | where products.p", []string{"price"}},
		{"products | where products.", []string{"name", "price"}},
		{"prod", []string{"products"}},
		{"products | select { x = upp", []string{"upper"}},
		{"products | where price > ch", []string{"cheap"}},
		{":de", []string{"describe "}},
		{":q", []string{"quit"}},
		{":describe ch", []string{"cheap"}},
		{"table t (a int", []string{"int2", "int4", "int8", "interval"}},
		{"table t (a int4, b t", []string{"text", "timestamp", "timestamptz"}},
		{"ins", []string{"insert"}},
		{"products | ", []string{"anti", "cross", "distinct", "except", "flatten", "full", "group", "hop", "intersect", "join", "left", "right", "select", "semi", "session", "stamp", "top", "tumble", "union", "where", "window"}},
		{"products | s", []string{"select", "semi", "session", "stamp"}},
		{"products | join ch", []string{"cheap"}},
		{"view v = pro", []string{"products"}},
		{"products | select { u = n", []string{"name", "not", "now", "null"}},
		{"products | select { u = p", []string{"position", "price", "products"}},
		{"products | select { u = x::nu", []string{"numeric"}},
	}
	for _, tt := range tests {
		head, got, tail := s.complete(tt.line, len(tt.line))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("complete(%q) = %q, want %q", tt.line, got, tt.want)
		}
		if tail != "" || !strings.HasPrefix(tt.line, head) {
			t.Errorf("complete(%q): head %q, tail %q", tt.line, head, tail)
		}
	}
	// In the middle of a line, the text after the cursor is kept.
	head, got, tail := s.complete("products | where na > 1", len("products | where na"))
	if head != "products | where " || !reflect.DeepEqual(got, []string{"name"}) || tail != " > 1" {
		t.Errorf("mid-line completion: %q %q %q", head, got, tail)
	}
}

// TestAccumulator checks where statements end, at a terminal (no
// lookahead) and in a script (lookahead for | lines).
func TestAccumulator(t *testing.T) {
	feed := func(a *accumulator, lines ...string) []string {
		var out []string
		for _, l := range lines {
			out = append(out, a.feed(l)...)
		}
		if s, ok := a.flush(); ok {
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		lines []string
		want  []string
	}{
		{[]string{"table t (a int4,", "b text)"}, []string{"table t (a int4,\nb text)"}},
		{[]string{"view v = t |", "where a > 1"}, []string{"view v = t |\nwhere a > 1"}},
		{[]string{"view v = t | where a >", "1"}, []string{"view v = t | where a >\n1"}},
		{[]string{"view v =", "t"}, []string{"view v =\nt"}},
		{[]string{"t | select { a,", "# comment", "b }"}, []string{"t | select { a,\n# comment\nb }"}},
		{[]string{"insert into t {a = 1}; t"}, []string{"insert into t {a = 1}; t"}},
		{[]string{":tables", "t"}, []string{":tables", "t"}},
		{[]string{"view v = t | where", "", "t"}, []string{"view v = t | where", "t"}},
		{[]string{`t | where s == "a (`, `"`}, []string{"t | where s == \"a (\n\""}},
	}
	for _, tt := range tests {
		a := &accumulator{}
		if got := feed(a, tt.lines...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("feed %q = %q, want %q", tt.lines, got, tt.want)
		}
	}

	// A script's | line continues the statement before it.
	a := &accumulator{lookahead: true}
	got := feed(a, "view v =", "  t", "  | where a > 1", "t")
	if want := []string{"view v =\n  t\n  | where a > 1", "t"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lookahead: %q, want %q", got, want)
	}
	// At a terminal it continues the view or query just before, run
	// again; after another statement it stands alone (and fails).
	a = &accumulator{}
	got = feed(a, "view v = t", "| where a > 1", "| select { a }", "insert into t {a = 1}", "| where a > 2")
	if want := []string{"view v = t", "view v = t\n| where a > 1", "view v = t\n| where a > 1\n| select { a }", "insert into t {a = 1}", "| where a > 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("continuation: %q, want %q", got, want)
	}
}

// TestReadmeReplTour runs the statements of the README's REPL tour and
// checks that the transcript there is what the REPL prints.
func TestReadmeReplTour(t *testing.T) {
	readme := golden.Read(t, filepath.Join(repoRoot, "README.md"))
	const start = "$ go run ./cmd/stepq repl\n"
	i := strings.Index(readme, start)
	if i < 0 {
		t.Fatal("README.md has no REPL tour")
	}
	tour := readme[i+len(start):]
	tour = tour[:strings.Index(tour, "```")]
	var script strings.Builder
	for _, line := range strings.Split(tour, "\n") {
		for _, p := range []string{prompt, contPrompt} {
			if rest, ok := strings.CutPrefix(line, p); ok {
				script.WriteString(rest + "\n")
			}
		}
	}
	cmd := exec.Command(stepq, "repl", "--echo")
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if string(out) != tour {
		t.Errorf("the README's REPL tour differs from what the REPL prints:\n%s", out)
	}
}

// TestDeclareComputesOnlyTheNewView declares views in a session with
// rows: each new view is computed alone from what it reads (the
// session's engine is extended, not rebuilt and replayed), and shows
// exactly what a session declaring everything first would show after
// the same inserts; a redefined view rebuilds.
func TestDeclareComputesOnlyTheNewView(t *testing.T) {
	steps := []string{
		"table t (id int4, g int4, primary key (id))",
		"insert into t {id = 1, g = 1}, {id = 2, g = 1}, {id = 3, g = 2}",
		"view big = t | where id > 1",
		"view per = big | group by g { n = count() }",
		"insert into t {id = 4, g = 2}",
		"per",
		"view per = big | group by g { n = count(), m = max(id) }",
		"per",
	}
	var out bytes.Buffer
	s := newSession(context.Background(), &out, &out, nil)
	extended := []int{0, 0, 1, 2, 2, 2, 2, 2}
	for i, stmt := range steps {
		s.run(stmt)
		if s.extended != extended[i] {
			t.Fatalf("after %q: %d declarations extended the engine, want %d\n%s", stmt, s.extended, extended[i], out.String())
		}
	}
	var want bytes.Buffer
	fresh := newSession(context.Background(), &want, &want, nil)
	fresh.run("table t (id int4, g int4, primary key (id))")
	fresh.run("view big = t | where id > 1")
	fresh.run("view per = big | group by g { n = count(), m = max(id) }")
	fresh.run("insert into t {id = 1, g = 1}, {id = 2, g = 1}, {id = 3, g = 2}")
	fresh.run("insert into t {id = 4, g = 2}")
	want.Reset()
	fresh.run("per")
	if got := out.String(); !strings.HasSuffix(got, want.String()) {
		t.Errorf("the session ends with\n%s\nwant\n%s", got, want.String())
	}
}
