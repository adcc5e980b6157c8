package lang

import (
	"errors"
	"regexp"
	"strings"

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
	case msg == `unexpected token "="`, strings.HasPrefix(msg, `unexpected token "=" (expected "(" "distinct"`):
		// A name followed by = inside an expression: a comparison
		// written as in SQL.
		msg, hint = `unexpected token "="`, "compare with =="
		fallthrough
	default:
		msg = "syntax error: " + strings.Replace(msg, "unexpected token", "unexpected", 1)
	}
	msg = exprRules.ReplaceAllString(msg, "an expression")
	msg = strings.Replace(msg, `(expected "join" Relation ("on" an expression)?)`, "(expected a stage: "+stageList+")", 1)
	return &Error{Pos: pos, Msg: msg, Hint: hint}
}

// exprRules matches the grammar's names for the precedence levels of
// expressions, which mean nothing to a user: each is "an expression".
var exprRules = regexp.MustCompile(`\b(Expr(And|Not|CmpTail|Cmp|Coalesce|Concat|AddOp|Add|MulOp|Mul|Unary|Postfix)|Expression|Operand)\b`)

// stageList names what may follow a | in a pipeline.
const stageList = "where, select, join, group, distinct, union, except, intersect, top or flatten"

// endOfText is the position just past the last non-blank character, where
// an error about a missing ending is best shown.
func endOfText(filename, src string) Pos {
	trimmed := strings.TrimRight(src, " \t\r\n")
	line := strings.Count(trimmed, "\n") + 1
	col := len(trimmed) - strings.LastIndexByte(trimmed, '\n')
	return Pos{Filename: filename, Offset: len(trimmed), Line: line, Column: col}
}
