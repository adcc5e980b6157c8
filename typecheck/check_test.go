package typecheck_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
)

// TestErrorsGolden checks every testdata/errors/*.step file: it must parse,
// fail to check with several errors, each positioned and in source order,
// and the formatted ErrorList must match the .golden file.
func TestErrorsGolden(t *testing.T) {
	for _, file := range glob(t, "errors") {
		t.Run(name(file), func(t *testing.T) {
			src := golden.Read(t, file)
			f, err := lang.Parse(filepath.ToSlash(file), src)
			if err != nil {
				t.Fatalf("syntax error in a checker test (only type errors belong here):\n%s", format(t, err, src))
			}
			prog, err := typecheck.Check(f, nil)
			if err == nil {
				t.Fatalf("%s checked clean, want errors", file)
			}
			if prog != nil {
				t.Errorf("Check returned a program along with errors")
			}
			var list lang.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want lang.ErrorList", err)
			}
			if len(list) < 2 {
				t.Errorf("%d error, want several: the checker must go on after an error", len(list))
			}
			if !sort.SliceIsSorted(list, func(i, j int) bool {
				a, b := list[i].Pos, list[j].Pos
				return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
			}) {
				t.Errorf("errors are not in source order")
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Column < 1 {
					t.Errorf("error without a position: %s", e.Msg)
				}
			}
			golden.Check(t, goldenPath(file), list.Format(src))
		})
	}
}

// TestOKGolden checks every testdata/ok/*.step file: it must check clean,
// and the tables, views (with each column's type) and outputs of the
// checked program must match the .golden file.
func TestOKGolden(t *testing.T) {
	for _, file := range glob(t, "ok") {
		t.Run(name(file), func(t *testing.T) {
			src := golden.Read(t, file)
			f, err := lang.Parse(filepath.ToSlash(file), src)
			if err != nil {
				t.Fatalf("syntax error:\n%s", format(t, err, src))
			}
			prog, err := typecheck.Check(f, nil)
			if err != nil {
				t.Fatalf("unexpected errors:\n%s", format(t, err, src))
			}
			golden.Check(t, goldenPath(file), describe(prog))
		})
	}
}

// describe renders what the checker learned about a program.
func describe(p *typecheck.Program) string {
	var b strings.Builder
	for _, tab := range p.Tables {
		fmt.Fprintf(&b, "table %s %s", tab.Name, columns(tab.Columns))
		if len(tab.PrimaryKey) > 0 {
			fmt.Fprintf(&b, " primary key %s", indexes(tab.Columns, tab.PrimaryKey))
		}
		b.WriteByte('\n')
	}
	for _, v := range p.Views {
		fmt.Fprintf(&b, "view %s %s\n", v.Name, columns(v.Columns))
	}
	for _, o := range p.Outputs {
		fmt.Fprintf(&b, "output %s", o.View.Name)
		if o.Table != nil {
			fmt.Fprintf(&b, " to table %s", strings.Join(o.Table, "."))
		}
		for _, ix := range o.Indexes {
			fmt.Fprintf(&b, " index %s", indexes(o.View.Columns, ix))
		}
		if len(o.PrimaryKey) > 0 {
			fmt.Fprintf(&b, " primary key %s", indexes(o.View.Columns, o.PrimaryKey))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func columns(cols []typecheck.Column) string {
	var s []string
	for _, c := range cols {
		s = append(s, c.Name+" "+c.Type.String())
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func indexes(cols []typecheck.Column, idx []int) string {
	var s []string
	for _, i := range idx {
		s = append(s, cols[i].Name)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// TestViewsBeforeReaders checks that Program.Views lists each view after
// the views it reads, whatever the declaration order.
func TestViewsBeforeReaders(t *testing.T) {
	src := "view c = b | select { z = y }\nview b = a | select { y = x }\nview a = t\ntable t (x int4)\n"
	f, err := lang.Parse("order.step", src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range p.Views {
		got = append(got, v.Name)
	}
	if strings.Join(got, " ") != "a b c" {
		t.Errorf("views in order %v, want [a b c]", got)
	}
}

// FuzzCheck checks arbitrary programs: the checker must never panic, and
// must return either a program or a non-empty ErrorList, never both.
func FuzzCheck(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*.step"))
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "*.step"))
	for _, file := range append(seeds, examples...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := lang.Parse("fuzz.step", src)
		if err != nil {
			return
		}
		p, err := typecheck.Check(file, nil)
		var list lang.ErrorList
		switch {
		case err == nil && p == nil:
			t.Fatal("no program and no error")
		case err != nil && p != nil:
			t.Fatal("a program and an error")
		case err != nil && (!errors.As(err, &list) || len(list) == 0):
			t.Fatalf("error %v is not a non-empty ErrorList", err)
		case err != nil:
			_ = list.Format(src)
		default:
			_ = describe(p)
		}
	})
}

func glob(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.step"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no testdata/%s/*.step files", dir)
	}
	return files
}

func name(file string) string       { return strings.TrimSuffix(filepath.Base(file), ".step") }
func goldenPath(file string) string { return strings.TrimSuffix(file, ".step") + ".golden" }

func format(t *testing.T, err error, src string) string {
	t.Helper()
	var list lang.ErrorList
	if errors.As(err, &list) {
		return list.Format(src)
	}
	return err.Error()
}

// TestNumericLiteralRange checks that numeric constants outside
// Postgres's numeric range, written as literals or cast from text, are
// errors at their place rather than values whose digits are built.
func TestNumericLiteralRange(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"whole digits", strings.Repeat("9", 131073), "2:27: value overflows numeric format"},
		{"fraction digits", "0." + strings.Repeat("0", 16383) + "1", "2:27: value overflows numeric format"},
		{"cast from text", `"1e100000000"::numeric`, "2:27: value overflows numeric format"},
		{"typed literal", `numeric "-1e131072"`, "2:27: value overflows numeric format"},
		{"cast of too small", `"1e-16384"::numeric`, "2:27: value overflows numeric format"},
	}
	for _, tt := range tests {
		src := "table t (a int4, primary key (a))\nview v = t | select { x = " + tt.expr + " }\n"
		f, err := lang.Parse("n.step", src)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		_, err = typecheck.Check(f, nil)
		if err == nil {
			t.Errorf("%s: checked clean, want %q", tt.name, tt.want)
			continue
		}
		if got := err.Error(); !strings.Contains(got, "n.step:"+tt.want) {
			t.Errorf("%s: error %.200s, want n.step:%s", tt.name, got, tt.want)
		}
	}
	// The largest and smallest that fit still check.
	for _, expr := range []string{strings.Repeat("9", 131072), "0." + strings.Repeat("0", 16382) + "1", `"1e131071"::numeric`} {
		f, err := lang.Parse("n.step", "table t (a int4, primary key (a))\nview v = t | select { x = "+expr+" }\n")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := typecheck.Check(f, nil); err != nil {
			t.Errorf("%.30s...: %.200v", expr, err)
		}
	}
}
