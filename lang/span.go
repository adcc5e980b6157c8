package lang

// Span is a stretch of source text: where it starts and just past where
// it ends. Later stages (typed expressions, circuit nodes, compiled
// expressions) keep the Span of the text they came from, so that an
// error found long after parsing, even while a program runs, can point
// back at that text as a type error does.
type Span struct {
	Pos Pos
	End Pos // zero when only Pos is known
}

// SpanOf returns the span a syntax node was parsed from.
func SpanOf(n Node) Span {
	pos, end := n.Span()
	return Span{Pos: pos, End: end}
}

// Span returns the start and end positions, so that a Span is a Node.
func (s Span) Span() (Pos, Pos) { return s.Pos, s.End }

// IsZero reports whether the span is unknown: text the compiler made up
// rather than parsed has none.
func (s Span) IsZero() bool { return s.Pos.Line == 0 }

// String returns "file:line:col", the form diagnostics begin with.
func (s Span) String() string { return posString(s.Pos) }

// Error returns a diagnostic with message msg at the span.
func (s Span) Error(msg string) *Error { return &Error{Pos: s.Pos, End: s.End, Msg: msg} }
