package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestPage pages output longer than the terminal through the pager, and
// writes shorter output, or any with no pager, as it is.
func TestPage(t *testing.T) {
	long := []byte("a\nb\nc\nd\n")
	tests := []struct {
		name  string
		rows  int
		pager string
		want  string
	}{
		{"longer than the terminal", 3, "tr a-z A-Z", "A\nB\nC\nD\n"},
		{"fits", 10, "tr a-z A-Z", "a\nb\nc\nd\n"},
		{"no pager", 3, "", "a\nb\nc\nd\n"},
		{"size unknown", 0, "tr a-z A-Z", "a\nb\nc\nd\n"},
		{"a pager that cannot run", 3, "/nonexistent/pager", "a\nb\nc\nd\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := page(&out, long, tt.rows, tt.pager); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := out.String(); got != tt.want && !(tt.name == "a pager that cannot run" && strings.HasSuffix(got, tt.want)) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestEdit edits the last statement with an editor that changes it, and
// :e runs what the editor left.
func TestEdit(t *testing.T) {
	text, err := edit("sed -i -e s/3/4/", "products | where price > 3")
	if err != nil || text != "products | where price > 4" {
		t.Fatalf("edit: %q, %v", text, err)
	}
	var out, errw bytes.Buffer
	s := newSession(context.Background(), &out, &errw, nil)
	s.run("table products (name text, price numeric, primary key (name))")
	s.run(`insert into products {name = "tv", price = 3.5}`)
	s.run("products | where price > 4")
	out.Reset()
	s.edit = func(text string) (string, error) { return edit("sed -i -e s/4/3/", text) }
	s.run(":e")
	if !strings.Contains(out.String(), "products | where price > 3\n") || !strings.Contains(out.String(), " tv   |   3.5\n") || errw.Len() > 0 {
		t.Errorf(":e printed\n%s\n%s", out.String(), errw.String())
	}
	off := newSession(context.Background(), &out, &errw, nil)
	off.run(":e")
	if !strings.Contains(errw.String(), ":e opens the last statement in $EDITOR, on a terminal") {
		t.Errorf(":e off a terminal: %s", errw.String())
	}
}

// TestAutoExpand prints rows expanded under :x auto only when the table
// is wider than the terminal.
func TestAutoExpand(t *testing.T) {
	var out, errw bytes.Buffer
	s := newSession(context.Background(), &out, &errw, nil)
	s.run("table notes (id int4, body text, primary key (id))")
	s.run(`insert into notes {id = 1, body = "a rather long line of text that will not fit"}`)
	s.run(":x auto")
	for _, tt := range []struct {
		width    int
		expanded bool
	}{{20, true}, {200, false}} {
		s.width = func() int { return tt.width }
		out.Reset()
		s.run("notes")
		if got := strings.Contains(out.String(), "-[ RECORD 1 ]"); got != tt.expanded || errw.Len() > 0 {
			t.Errorf("width %d: expanded %v, want %v\n%s%s", tt.width, got, tt.expanded, out.String(), errw.String())
		}
	}
}
