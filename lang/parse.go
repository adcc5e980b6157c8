package lang

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
)

// Parse parses the source text of one .step file. On a syntax error it
// returns an ErrorList holding one positioned *Error; nesting deeper than
// MaxNesting is one.
func Parse(filename, src string) (*File, error) {
	if err := checkNesting(filename, src); err != nil {
		return nil, ErrorList{err}
	}
	g, err := parser.ParseString(filename, src)
	if err != nil {
		return nil, ErrorList{syntaxError(filename, src, err)}
	}
	c := converter{}
	f := c.file(g)
	f.Name = filename
	return f, c.errs.Err()
}

// ParseExpr parses a single expression, as the REPL and tests need.
func ParseExpr(filename, src string) (Expr, error) {
	if err := checkNesting(filename, src); err != nil {
		return nil, ErrorList{err}
	}
	g, err := exprParser.ParseString(filename, src)
	if err != nil {
		return nil, ErrorList{syntaxError(filename, src, err)}
	}
	c := converter{}
	x := c.expr(g)
	return x, c.errs.Err()
}

var exprParser = participle.MustBuild[expression](
	participle.Lexer(stepLexer),
	participle.Elide("Whitespace", "Comment"),
	participle.UseLookahead(3),
)

func syntaxError(filename, src string, err error) *Error {
	var perr participle.Error
	if !errors.As(err, &perr) {
		return &Error{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Msg: "syntax error: " + err.Error()}
	}
	pos := perr.Position()
	if pos.Filename == "" {
		pos.Filename = filename
	}
	msg := perr.Message()
	hint := ""
	switch {
	case strings.HasPrefix(msg, `unexpected token "<EOF>"`):
		msg = "syntax error: unexpected end of file" + strings.TrimPrefix(msg, `unexpected token "<EOF>"`)
		pos = endOfText(filename, src)
	case strings.Contains(msg, "invalid input text") && pos.Offset >= 0 && pos.Offset < len(src):
		// The lexer's text runs to the end of the line: name the
		// character it stopped at.
		r, _ := utf8.DecodeRuneInString(src[pos.Offset:])
		switch {
		case r == '"':
			msg = "syntax error: string not closed (a string ends with \" on its line)"
		case unicode.IsPrint(r):
			msg = `syntax error: unexpected "` + string(r) + `"`
		default:
			msg = fmt.Sprintf("syntax error: unexpected %q", r)
		}
	case msg == `unexpected token "="`, strings.HasPrefix(msg, `unexpected token "=" (expected "(" "distinct"`):
		// A name followed by = inside an expression: a comparison
		// written as in SQL.
		msg, hint = `unexpected token "="`, "compare with =="
		fallthrough
	default:
		msg = "syntax error: " + strings.Replace(msg, "unexpected token", "unexpected", 1)
	}
	msg = exprRules.ReplaceAllString(msg, "an expression")
	// A table's optional watermark, after its columns, is rarely what
	// was meant where the parser stopped.
	msg = strings.ReplaceAll(msg, " WatermarkDecl?", "")
	msg = strings.Replace(msg, `(expected "join" Relation ("on" an expression)?)`, "(expected a stage: "+stageList+")", 1)
	if start, ok := sqlQueryStart(src, pos.Offset); ok {
		// A SQL query fails wherever the lexer or the parser gives up
		// (at its ;, or its *): point at the query.
		pos.Column -= pos.Offset - start
		pos.Offset = start
		msg = fmt.Sprintf("syntax error: unexpected %q", strings.Fields(src[start:])[0])
	}
	if h := sqlHabit(src, pos.Offset); h != "" {
		hint = h
	}
	return &Error{Pos: pos, Msg: msg, Hint: hint}
}

// sqlQueryStart reports whether the line of offset in src is a SQL
// query, and where it begins: it begins with select, not followed by
// the { of a select stage, nor continuing a pipeline.
func sqlQueryStart(src string, offset int) (int, bool) {
	if offset < 0 || offset > len(src) {
		return 0, false
	}
	line := strings.LastIndexByte(src[:offset], '\n') + 1
	text := src[line:]
	start := line + len(text) - len(strings.TrimLeft(text, " \t"))
	word := strings.Fields(src[start:])
	if start > offset || len(word) < 2 || !strings.EqualFold(word[0], "select") || strings.HasPrefix(word[1], "{") {
		return 0, false
	}
	return start, !strings.HasSuffix(strings.TrimRight(src[:line], " \t\r\n"), "|")
}

// sqlHabit returns a hint for a syntax error at offset of src that SQL
// or psql writes there: how stepping writes the same thing. Empty when
// the text there is no such habit.
func sqlHabit(src string, offset int) string {
	if offset < 0 || offset > len(src) {
		return ""
	}
	at := src[offset:]
	before := strings.TrimRight(src[:offset], " \t")
	word := strings.ToLower(strings.TrimRightFunc(at, func(r rune) bool { return r != ' ' && r != '\n' && r != '\t' }))
	if i := strings.IndexAny(word, " \t\n"); i >= 0 {
		word = word[:i]
	}
	switch {
	case strings.HasPrefix(at, "'"):
		text := at[1:]
		if end := strings.IndexAny(text, "'\n"); end >= 0 {
			text = text[:end]
		}
		return fmt.Sprintf("strings are written in double quotes: %q", text)
	case strings.HasPrefix(at, ";"):
		return "no ; is needed: a declaration ends where the next one begins"
	case strings.HasPrefix(at, "\\"):
		return "psql's backslash commands are : commands in the REPL: :describe NAME for \\d NAME, :help for the rest"
	case strings.HasPrefix(at, "(*)") || strings.HasPrefix(at, "*)") && strings.HasSuffix(before, "("):
		return "count() counts rows: write it without *"
	case strings.HasPrefix(at, "*") && strings.HasSuffix(before, "select"):
		return "select names its columns in braces, select { a, b = expr }; to keep every column, leave the select out"
	case word == "select" && (before == "" || strings.HasSuffix(before, "\n")):
		return "a query starts with its table and pipes it through stages: t | where ... | select { ... }, as view NAME = ... in a program"
	}
	return ""
}

// exprRules matches the grammar's names for the precedence levels of
// expressions, which mean nothing to a user: each is "an expression".
var exprRules = regexp.MustCompile(`\b(Expr(And|Not|CmpTail|Cmp|Coalesce|Concat|AddOp|Add|MulOp|Mul|Unary|Postfix)|Expression|Operand)\b`)

// stageList names what may follow a | in a pipeline.
const stageList = "where, select, join, group, distinct, union, except, intersect, top, window, tumble, hop, session, stamp or flatten"

// endOfText is the position just past the last non-blank character, where
// an error about a missing ending is best shown.
func endOfText(filename, src string) Pos {
	trimmed := strings.TrimRight(src, " \t\r\n")
	line := strings.Count(trimmed, "\n") + 1
	col := len(trimmed) - strings.LastIndexByte(trimmed, '\n')
	return Pos{Filename: filename, Offset: len(trimmed), Line: line, Column: col}
}
