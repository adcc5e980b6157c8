package lang

import (
	"fmt"

	"github.com/alecthomas/participle/v2/lexer"
)

// MaxNesting is how deeply constructs may nest in a program: brackets,
// case ... end, and within one of those the chained if, let, not and
// unary minus. The parser recurses through every precedence level for
// each level of nesting, and a goroutine that runs out of stack can't
// recover, so a program of a hundred thousand parentheses would crash
// the process rather than fail; the limit is checked on the tokens
// before parsing starts.
const MaxNesting = 1000

// level is one open bracket (or case) and what is chained inside it.
type level struct {
	closer string // the token that closes it: ")", "]", "}" or "end"
	ifs    int    // if expressions since the last comma: each nests the next
	lets   int    // let expressions: a comma separates their bindings, not them
	prefix int    // the current run of not and unary minus
}

func (l level) depth() int { return 1 + l.ifs + l.lets + l.prefix }

// checkNesting reports an error at the first token that nests deeper than
// MaxNesting. It over-counts rather than under-counts where the tokens
// alone can't tell (an if or let is taken to last until its bracket
// closes, a comma or a | ends it), as the parser's own recursion is what
// it bounds. Text the lexer can't read is left for the parser to report.
func checkNesting(filename, src string) *Error {
	lex, err := stepLexer.LexString(filename, src)
	if err != nil {
		return nil
	}
	symbols := stepLexer.Symbols()
	elided := map[lexer.TokenType]bool{symbols["Whitespace"]: true, symbols["Comment"]: true}
	operandEnd := false // whether the previous token ends an operand, so - after it is binary
	stack := []level{{closer: ""}}
	total := 1
	push := func(tok lexer.Token, l level) *Error {
		stack = append(stack, l)
		total += l.depth()
		if total > MaxNesting {
			return &Error{Pos: tok.Pos, End: endOf(tok), Msg: fmt.Sprintf("syntax error: nested more than %d levels deep", MaxNesting),
				Hint: "split the expression with let or views"}
		}
		return nil
	}
	grow := func(tok lexer.Token, field *int) *Error {
		*field++
		total++
		if total > MaxNesting {
			return &Error{Pos: tok.Pos, End: endOf(tok), Msg: fmt.Sprintf("syntax error: nested more than %d levels deep", MaxNesting),
				Hint: "split the expression with let or views"}
		}
		return nil
	}
	// reset ends the chains of the innermost level: ifs and prefixes at a
	// comma, all of them at a | or a new declaration.
	reset := func(all bool) {
		top := &stack[len(stack)-1]
		total -= top.ifs + top.prefix
		top.ifs, top.prefix = 0, 0
		if all {
			total -= top.lets
			top.lets = 0
		}
	}
	for {
		tok, err := lex.Next()
		if err != nil {
			return nil
		}
		if tok.EOF() {
			return nil
		}
		if elided[tok.Type] {
			continue
		}
		top := &stack[len(stack)-1]
		var perr *Error
		switch v := tok.Value; {
		case v == "(" || v == "[" || v == "{" || v == "case" && tok.Type == symbols["Keyword"]:
			perr = push(tok, level{closer: map[string]string{"(": ")", "[": "]", "{": "}", "case": "end"}[v]})
			operandEnd = false
		case len(stack) > 1 && v == top.closer:
			total -= top.depth()
			stack = stack[:len(stack)-1]
			// The bracket was the operand a prefix run applied to.
			total -= stack[len(stack)-1].prefix
			stack[len(stack)-1].prefix = 0
			operandEnd = true
		case v == "," || v == ";":
			reset(false)
			operandEnd = false
		case v == "|" || len(stack) == 1 && isDeclKeyword(v):
			reset(true)
			operandEnd = false
		case v == "if":
			perr = grow(tok, &top.ifs)
			operandEnd = false
		case v == "let":
			perr = grow(tok, &top.lets)
			operandEnd = false
		case v == "not" || v == "-" && !operandEnd:
			perr = grow(tok, &top.prefix)
			operandEnd = false
		case tok.Type == symbols["Op"] || tok.Type == symbols["Keyword"] && v != "true" && v != "false" && v != "null":
			operandEnd = false
		default: // a name, number, string or constant
			total -= top.prefix
			top.prefix = 0
			operandEnd = true
		}
		if perr != nil {
			return perr
		}
	}
}

// isDeclKeyword reports whether v starts a declaration, which ends
// whatever the previous one left open at the top level.
func isDeclKeyword(v string) bool {
	switch v {
	case "table", "source", "view", "output", "fn":
		return true
	}
	return false
}

// endOf returns the position just past tok.
func endOf(tok lexer.Token) Pos {
	end := tok.Pos
	end.Offset += len(tok.Value)
	end.Column += len(tok.Value)
	return end
}
