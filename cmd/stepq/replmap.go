package main

import (
	"errors"
	"fmt"
	"strings"

	stepping "github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/lang"
)

// origin is a text the user wrote: the statement being run (name "") or
// an earlier declaration (name "view receipts").
type origin struct {
	name string
	text string
	// file, line and col place text in a file it was loaded from (its
	// first character's line and column), so that errors name the file;
	// empty for text typed at the prompt.
	file      string
	line, col int
}

// piece says where a stretch of a synthesized program came from. A
// copied piece maps byte for byte; a literal piece, text the REPL wrote
// around the user's, maps every offset to one place of its origin.
type piece struct {
	syn, n int // offset and length in the synthesized text
	o      *origin
	at     int  // offset in the origin
	exact  bool // copied byte for byte
}

// synth builds a program out of the user's texts and the REPL's own, and
// maps the compiler's positions back to what the user wrote, so that
// errors point into the statement just typed or the declaration they
// are about.
type synth struct {
	b      strings.Builder
	pieces []piece
}

// lit appends text of the REPL's own, attributed to offset at of o.
func (s *synth) lit(text string, o *origin, at int) {
	s.pieces = append(s.pieces, piece{syn: s.b.Len(), n: len(text), o: o, at: at})
	s.b.WriteString(text)
}

// copy appends o.text[sp] as it is.
func (s *synth) copy(o *origin, sp span) {
	s.pieces = append(s.pieces, piece{syn: s.b.Len(), n: sp.end - sp.start, o: o, at: sp.start, exact: true})
	s.b.WriteString(sp.of(o.text))
}

func (s *synth) String() string { return s.b.String() }

// locate maps an offset of the synthesized text to its origin: the
// piece that holds it, or, past every piece (the end of the text), the
// end of the last.
func (s *synth) locate(off int) (*origin, int) {
	pick := -1
	for i, p := range s.pieces {
		if off >= p.syn && off < p.syn+p.n {
			pick = i
			break
		}
		if p.syn <= off {
			pick = i
		}
	}
	if pick < 0 {
		return nil, 0
	}
	p := s.pieces[pick]
	if !p.exact {
		return p.o, p.at
	}
	return p.o, p.at + min(off-p.syn, p.n)
}

// diag is a diagnostic placed in an origin.
type diag struct {
	o *origin
	e *lang.Error
}

// replError is a statement's failure: diagnostics placed in what the
// user wrote, or a plain message.
type replError struct {
	diags []diag
	msg   string
}

func (e *replError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	var parts []string
	for _, d := range e.diags {
		parts = append(parts, d.e.Msg)
	}
	return strings.Join(parts, "; ")
}

// format renders the error as the REPL prints it: each diagnostic with
// its line:column in the statement (or in the declaration it is about),
// the source line and carets.
func (e *replError) format() string {
	if len(e.diags) == 0 {
		return "error: " + e.msg + "\n"
	}
	var b strings.Builder
	for _, d := range e.diags {
		text := d.e.Format(d.o.text)
		_, rest, _ := strings.Cut(text, "\n")
		where := fmt.Sprintf("%d:%d", d.e.Pos.Line, d.e.Pos.Column)
		switch {
		case d.o.file != "":
			line, col := d.o.line+d.e.Pos.Line-1, d.e.Pos.Column
			if d.e.Pos.Line == 1 {
				col += d.o.col - 1
			}
			where = fmt.Sprintf("%s:%d:%d", d.o.file, line, col)
			if d.o.name != "" {
				where += " (" + d.o.name + ")"
			}
		case d.o.name != "":
			where = d.o.name + " " + where
		}
		msg := d.e.Msg
		if d.e.Hint != "" {
			msg += " (" + d.e.Hint + ")"
		}
		fmt.Fprintf(&b, "error at %s: %s\n%s", where, msg, rest)
	}
	return b.String()
}

// errorf is a plain error of a statement.
func errorf(format string, args ...any) error {
	return &replError{msg: fmt.Sprintf(format, args...)}
}

// errorAt is an error positioned at o.text[sp].
func errorAt(o *origin, sp span, hint, format string, args ...any) error {
	return &replError{diags: []diag{{o: o, e: &lang.Error{
		Pos: posAt(o.text, sp.start), End: posAt(o.text, max(sp.end, sp.start+1)), Msg: fmt.Sprintf(format, args...), Hint: hint,
	}}}}
}

// mapError places a compiler error of the synthesized text in the
// user's texts; other errors pass through.
func (s *synth) mapError(err error) error {
	ds := stepping.Diagnostics(err)
	if ds == nil {
		return err
	}
	out := &replError{}
	for _, d := range ds {
		o, at := s.locate(d.Offset)
		if o == nil {
			out.diags = append(out.diags, diag{o: &origin{}, e: &lang.Error{
				Pos: lang.Pos{Line: d.Line, Column: d.Col, Offset: d.Offset},
				End: lang.Pos{Line: d.End.Line, Column: d.End.Col, Offset: d.End.Offset},
				Msg: d.Message, Hint: d.Hint,
			}})
			continue
		}
		end := at + 1
		if eo, eat := s.locate(d.End.Offset); eo == o && eat > at {
			end = eat
		}
		out.diags = append(out.diags, diag{o: o, e: &lang.Error{Pos: posAt(o.text, at), End: posAt(o.text, end), Msg: d.Message, Hint: d.Hint}})
	}
	return out
}

// posAt is the line and column of a byte offset of text.
func posAt(text string, off int) lang.Pos {
	off = min(max(off, 0), len(text))
	line := 1 + strings.Count(text[:off], "\n")
	col := off - strings.LastIndexByte(text[:off], '\n')
	return lang.Pos{Offset: off, Line: line, Column: col}
}

// parseError places a parse error of a piece of a statement (text[sp]
// parsed alone) in the statement.
func parseError(o *origin, sp span, err error) error {
	var list lang.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	out := &replError{}
	for _, e := range list {
		at := sp.start + min(e.Pos.Offset, sp.end-sp.start)
		end := sp.start + min(e.End.Offset, sp.end-sp.start)
		out.diags = append(out.diags, diag{o: o, e: &lang.Error{Pos: posAt(o.text, at), End: posAt(o.text, max(end, at+1)), Msg: e.Msg, Hint: e.Hint}})
	}
	return out
}
