package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Pos is a position in a source file: file name, byte offset, 1-based line
// and column. It is participle's position type, so grammar nodes get theirs
// filled in by the parser.
type Pos = lexer.Position

// Error is one diagnostic tied to a span of source text.
type Error struct {
	Pos  Pos    // where the offending text starts
	End  Pos    // just past where it ends; zero when only Pos is known
	Msg  string // what is wrong, without position
	Hint string // optional help, such as "did you mean price?"
}

// Error returns "file:line:col: message", the one-line form.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", posString(e.Pos), e.Msg)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func posString(p Pos) string {
	name := p.Filename
	if name == "" {
		name = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d", name, p.Line, p.Column)
}

// Format renders the error with the source line it points into and a caret
// line underneath, given the full text of the file.
func (e *Error) Format(src string) string {
	var b strings.Builder
	b.WriteString(e.Error())
	b.WriteByte('\n')
	line := sourceLine(src, e.Pos.Line)
	if line == "" && e.Pos.Line == 0 {
		return b.String()
	}
	b.WriteString("    ")
	b.WriteString(expandTabs(line))
	b.WriteString("\n    ")
	col := max(e.Pos.Column, 1)
	prefix := expandTabs(line[:min(col-1, len(line))])
	b.WriteString(strings.Repeat(" ", len([]rune(prefix))))
	width := 1
	if e.End.Line == e.Pos.Line && e.End.Column > e.Pos.Column {
		width = e.End.Column - e.Pos.Column
	}
	b.WriteString(strings.Repeat("^", width))
	b.WriteByte('\n')
	return b.String()
}

func sourceLine(src string, n int) string {
	if n < 1 {
		return ""
	}
	for i := 1; i < n; i++ {
		j := strings.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := strings.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimRight(src, "\r")
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

// ErrorList is every diagnostic of one run, in source order once sorted.
// Like go/scanner.ErrorList it is itself an error.
type ErrorList []*Error

// Add appends a diagnostic.
func (l *ErrorList) Add(pos, end Pos, hint, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, End: end, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// Sort orders the list by file, line and column.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Error returns the first error and a count of the rest.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Err returns nil for an empty list and the list otherwise.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Format renders every diagnostic with its source line and caret.
func (l ErrorList) Format(src string) string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Format(src))
	}
	return b.String()
}
