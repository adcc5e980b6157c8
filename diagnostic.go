package stepping

import (
	"errors"
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
)

// Position is a place in a source file: 1-based line and column (in
// bytes) and the 0-based byte offset.
type Position struct {
	Line   int `json:"line"`
	Col    int `json:"col"`
	Offset int `json:"offset"`
}

// Diagnostic is one error in a program: where it starts and ends, what is
// wrong, and a hint where one helps ("did you mean price?"). The JSON
// form is what stepq check -json prints.
type Diagnostic struct {
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Col     int      `json:"col"`
	Offset  int      `json:"offset"`
	End     Position `json:"end"` // just past the offending text; zero when unknown
	Message string   `json:"message"`
	Hint    string   `json:"hint"`
}

// String returns the one-line form "file:line:col: message (hint)".
func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
	if d.Hint != "" {
		s += " (" + d.Hint + ")"
	}
	return s
}

// Format renders the diagnostic as stepq check prints it: the one-line
// form, then the source line it points into and carets under the
// offending text, given the file's source.
func (d Diagnostic) Format(src string) string { return d.langError().Format(src) }

func (d Diagnostic) langError() *lang.Error {
	return &lang.Error{
		Pos:  lang.Pos{Filename: d.File, Line: d.Line, Column: d.Col, Offset: d.Offset},
		End:  lang.Pos{Filename: d.File, Line: d.End.Line, Column: d.End.Col, Offset: d.End.Offset},
		Msg:  d.Message,
		Hint: d.Hint,
	}
}

// Diagnostics returns the diagnostics an error from Compile, CompileFile
// or CompileDB holds, in source order; or, for a step that failed while
// the program ran (an error of an engine, or of the Postgres runner), the
// one diagnostic placing it in the program's text: at the innermost
// expression that failed, with the message "step N: view V: why". It
// returns nil when err is not about the program's text (a file that
// cannot be read, a database that cannot be reached).
func Diagnostics(err error) []Diagnostic {
	list := diagnosticList(err)
	if list == nil {
		return nil
	}
	out := make([]Diagnostic, 0, len(list))
	for _, e := range list {
		out = append(out, Diagnostic{
			File:    e.Pos.Filename,
			Line:    e.Pos.Line,
			Col:     e.Pos.Column,
			Offset:  e.Pos.Offset,
			End:     Position{Line: e.End.Line, Col: e.End.Column, Offset: e.End.Offset},
			Message: e.Msg,
			Hint:    e.Hint,
		})
	}
	return out
}

// diagnosticList finds the positioned errors in err's chain.
func diagnosticList(err error) lang.ErrorList {
	var list lang.ErrorList
	if errors.As(err, &list) {
		return list
	}
	var one *lang.Error
	if errors.As(err, &one) {
		return lang.ErrorList{one}
	}
	var public *StepError
	if errors.As(err, &public) {
		if public.diag != nil {
			return lang.ErrorList{public.diag}
		}
		return nil
	}
	var step *runtime.StepError
	if errors.As(err, &step) {
		if d := step.Diagnostic(); d != nil {
			return lang.ErrorList{d}
		}
		return nil
	}
	var failed *ir.EvalError
	if errors.As(err, &failed) && !failed.Span.IsZero() {
		return lang.ErrorList{failed.Diagnostic()}
	}
	return nil
}
