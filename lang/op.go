package lang

import (
	"fmt"
	"strconv"
)

// Op is an operator of the expression language, as go/token's Token is
// for go/ast: the parser decides which operator was written once, and
// every later stage (the checker, the lowering, the operator tables of
// package stdlib) switches on these constants instead of on its spelling.
//
// x is [not] null is not an Op: it has a node of its own, IsNull, since
// it has one operand and no right-hand side to type.
type Op int

// The operators, in the order of spec.md §7's precedence table, lowest
// first. Their values are no part of any format: the program fingerprint
// and explain output print an operator's String.
const (
	InvalidOp Op = iota // the zero Op, which no parsed expression has

	Or  // or
	And // and
	Not // not (unary)

	Eq                // ==
	Ne                // !=
	Lt                // <
	Le                // <=
	Gt                // >
	Ge                // >=
	Like              // like
	ILike             // ilike
	NotLike           // not like
	NotILike          // not ilike
	IsDistinctFrom    // is distinct from
	IsNotDistinctFrom // is not distinct from

	Coalesce // ?? (the first non-NULL of its operands)
	Concat   // ||
	Add      // +
	Sub      // - (binary)
	Mul      // *
	Div      // /
	Mod      // %
	Neg      // - (unary)

	Arrow     // -> (a jsonb field or element, as jsonb)
	ArrowText // ->> (a jsonb field or element, as text)

	opEnd // one past the last operator, for loops over them all
)

// opText is each operator's written spelling.
var opText = [...]string{
	Or:                "or",
	And:               "and",
	Not:               "not",
	Eq:                "==",
	Ne:                "!=",
	Lt:                "<",
	Le:                "<=",
	Gt:                ">",
	Ge:                ">=",
	Like:              "like",
	ILike:             "ilike",
	NotLike:           "not like",
	NotILike:          "not ilike",
	IsDistinctFrom:    "is distinct from",
	IsNotDistinctFrom: "is not distinct from",
	Coalesce:          "??",
	Concat:            "||",
	Add:               "+",
	Sub:               "-",
	Mul:               "*",
	Div:               "/",
	Mod:               "%",
	Neg:               "-",
	Arrow:             "->",
	ArrowText:         "->>",
}

// String returns the operator as it is written in a program ("-" for
// both Sub and Neg), so that diagnostics, explain output and the program
// fingerprint read as they did when operators were strings. An Op outside
// the constants prints as Op(n).
func (op Op) String() string {
	if op > InvalidOp && op < opEnd {
		return opText[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// IsUnary reports whether op takes one operand: Not and Neg.
func (op Op) IsUnary() bool { return op == Not || op == Neg }

// binaryOps maps the spelling of each binary operator to it. Unary
// operators are left out so that "-" has one meaning here: Sub.
var binaryOps = func() map[string]Op {
	m := make(map[string]Op)
	for op := InvalidOp + 1; op < opEnd; op++ {
		if !op.IsUnary() {
			m[op.String()] = op
		}
	}
	return m
}()

// LookupBinary returns the binary operator spelled s ("+", "is distinct
// from", "->>"), as String gives it, or false when no binary operator is
// spelled so. The parser uses it on the operator tokens it read; tests
// that name operators in their tables use it too.
func LookupBinary(s string) (Op, bool) {
	op, ok := binaryOps[s]
	return op, ok
}

// SetKind is what a set stage does with its two relations.
type SetKind int

// The set stages.
const (
	InvalidSet SetKind = iota
	Union
	Except
	Intersect
)

var setKindNames = [...]string{InvalidSet: "invalid set operation", Union: "union", Except: "except", Intersect: "intersect"}

// String returns the set stage's keyword.
func (k SetKind) String() string {
	if k < 0 || int(k) >= len(setKindNames) {
		return fmt.Sprintf("SetKind(%d)", int(k))
	}
	return setKindNames[k]
}

// LookupSet returns the set stage a keyword names, or InvalidSet.
func LookupSet(keyword string) SetKind {
	for k, name := range setKindNames {
		if k != int(InvalidSet) && name == keyword {
			return SetKind(k)
		}
	}
	return InvalidSet
}
