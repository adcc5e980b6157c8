package lang_test

import (
	"testing"

	"github.com/stepping-io/stepping/lang"
)

// TestParseFiles joins the declarations of several files, each keeping
// its own file's positions, and gathers the syntax errors of all of them.
func TestParseFiles(t *testing.T) {
	tests := []struct {
		name  string
		files []lang.SourceFile
		decls []string // the file of each declaration, in order
		errs  string   // the formatted errors, when any
	}{
		{
			name: "two files",
			files: []lang.SourceFile{
				{Name: "d/a.step", Text: "view v = t | distinct\n"},
				{Name: "d/b.step", Text: "table t (a int4)\nview w = v | distinct\n"},
			},
			decls: []string{"d/a.step", "d/b.step", "d/b.step"},
		},
		{
			name: "syntax errors in two files",
			files: []lang.SourceFile{
				{Name: "d/a.step", Text: "view v = t |\n"},
				{Name: "d/b.step", Text: "table t (a int4)\n"},
				{Name: "d/c.step", Text: "table u (a int4"},
			},
			errs: "d/a.step:1:13: syntax error: unexpected end of file (expected a stage: where, select, join, group, distinct, union, except, intersect, top, window, tumble, hop, session, stamp or flatten)\n" +
				"d/c.step:1:16: syntax error: unexpected end of file (expected \")\")\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := lang.ParseFiles("d", tt.files)
			if tt.errs != "" {
				list, ok := err.(lang.ErrorList)
				if !ok {
					t.Fatalf("err %v, want an ErrorList", err)
				}
				got := ""
				for _, e := range list {
					got += e.Error() + "\n"
				}
				if got != tt.errs {
					t.Errorf("errors:\n%s\nwant:\n%s", got, tt.errs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Name != "d" || len(f.Decls) != len(tt.decls) {
				t.Fatalf("file %q with %d declarations, want d with %d", f.Name, len(f.Decls), len(tt.decls))
			}
			for i, d := range f.Decls {
				if pos, _ := d.Span(); pos.Filename != tt.decls[i] {
					t.Errorf("declaration %d in %q, want %q", i, pos.Filename, tt.decls[i])
				}
			}
		})
	}
}

// TestFormatFiles places each error in the text of its own file.
func TestFormatFiles(t *testing.T) {
	files := []lang.SourceFile{{Name: "a.step", Text: "one\ntwo\n"}, {Name: "b.step", Text: "three\n"}}
	list := lang.ErrorList{
		{Pos: lang.Pos{Filename: "a.step", Line: 2, Column: 2}, End: lang.Pos{Filename: "a.step", Line: 2, Column: 4}, Msg: "m1"},
		{Pos: lang.Pos{Filename: "b.step", Line: 1, Column: 1}, Msg: "m2"},
		{Pos: lang.Pos{Filename: "c.step", Line: 1, Column: 1}, Msg: "m3"},
	}
	want := "a.step:2:2: m1\n    two\n     ^^\nb.step:1:1: m2\n    three\n    ^\nc.step:1:1: m3\n"
	if got := list.FormatFiles(files); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestElsewhere names a place in the same file by its line and one in
// another by file:line:col.
func TestElsewhere(t *testing.T) {
	at := lang.Pos{Filename: "b.step", Line: 9, Column: 1}
	for _, tt := range []struct {
		p    lang.Pos
		want string
	}{
		{lang.Pos{Filename: "b.step", Line: 3, Column: 7}, "line 3"},
		{lang.Pos{Filename: "a.step", Line: 3, Column: 7}, "a.step:3:7"},
	} {
		if got := lang.Elsewhere(tt.p, at); got != tt.want {
			t.Errorf("Elsewhere(%v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
