package lang

import (
	"errors"
	"strings"

	"github.com/alecthomas/participle/v2"
)

// Parse parses the source text of one .step file. On a syntax error it
// returns an ErrorList holding one positioned *Error.
func Parse(filename, src string) (*File, error) {
	g, err := parser.ParseString(filename, src)
	if err != nil {
		return nil, ErrorList{syntaxError(filename, err)}
	}
	c := converter{}
	f := c.file(g)
	f.Name = filename
	return f, c.errs.Err()
}

// ParseExpr parses a single expression, as the REPL and tests need.
func ParseExpr(filename, src string) (Expr, error) {
	g, err := exprParser.ParseString(filename, src)
	if err != nil {
		return nil, ErrorList{syntaxError(filename, err)}
	}
	c := converter{}
	x := c.expr(g)
	return x, c.errs.Err()
}

var exprParser = participle.MustBuild[gExpr](
	participle.Lexer(stepLexer),
	participle.Elide("Whitespace", "Comment"),
	participle.UseLookahead(3),
)

func syntaxError(filename string, err error) *Error {
	var perr participle.Error
	if errors.As(err, &perr) {
		pos := perr.Position()
		if pos.Filename == "" {
			pos.Filename = filename
		}
		msg := perr.Message()
		msg = strings.Replace(msg, "unexpected token", "syntax error: unexpected", 1)
		if !strings.HasPrefix(msg, "syntax error") {
			msg = "syntax error: " + msg
		}
		return &Error{Pos: pos, Msg: msg}
	}
	return &Error{Pos: Pos{Filename: filename, Line: 1, Column: 1}, Msg: "syntax error: " + err.Error()}
}
