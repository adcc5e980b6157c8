package lang

import (
	"fmt"
	"strings"
)

// SourceFile is the text of one file of a program, under the name its
// diagnostics give it.
type SourceFile struct {
	Name string
	Text string
}

// ParseFiles parses the files of one program and joins their
// declarations, in the order given, into one File named name. Each
// declaration keeps the positions of its own file, so diagnostics name the
// file they are in. Every file is parsed, and the syntax errors of all of
// them are returned together.
func ParseFiles(name string, files []SourceFile) (*File, error) {
	joined := &File{Name: name}
	var errs ErrorList
	for _, sf := range files {
		f, err := Parse(sf.Name, sf.Text)
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok {
				return nil, err
			}
			errs = append(errs, list...)
			continue
		}
		joined.Decls = append(joined.Decls, f.Decls...)
	}
	errs.Sort()
	return joined, errs.Err()
}

// FormatFiles renders every diagnostic with its source line and caret,
// taking the text of each from the file its position names. A diagnostic
// in a file not among files is rendered in its one-line form.
func (l ErrorList) FormatFiles(files []SourceFile) string {
	var b strings.Builder
	for _, e := range l {
		found := false
		for _, f := range files {
			if f.Name == e.Pos.Filename {
				b.WriteString(e.Format(f.Text))
				found = true
				break
			}
		}
		if !found {
			b.WriteString(e.Error() + "\n")
		}
	}
	return b.String()
}

// Elsewhere names the place p for a diagnostic at from: line L when both
// are in the same file, and file:line:col when p is in another, so that a
// diagnostic in a program of many files names both places.
func Elsewhere(p, from Pos) string {
	if p.Filename == from.Filename {
		return fmt.Sprintf("line %d", p.Line)
	}
	return posString(p)
}
