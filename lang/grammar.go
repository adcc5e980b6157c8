package lang

// The participle grammar. These structs mirror the concrete syntax, one per
// rule, and are converted to the AST of ast.go by convert.go; expressions
// need one rule per precedence level here but are a plain tree there.

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// keywords are reserved: they can't be used as bare identifiers (write
// `table` in backquotes for a column named table). Other words of the
// grammar (by, on, left, index, key, asc, desc, ...) are contextual.
var keywords = []string{
	"table", "source", "view", "output", "fn", "where", "select", "join",
	"group", "distinct", "union", "except", "intersect", "top", "flatten",
	"as", "values", "and", "or", "not", "if", "then", "else", "true",
	"false", "null", "is",
}

func keywordPattern() string {
	p := `\b(`
	for i, k := range keywords {
		if i > 0 {
			p += "|"
		}
		p += k
	}
	return p + `)\b`
}

var stepLexer = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "Whitespace", Pattern: `[ \t\r\n]+`},
	{Name: "String", Pattern: `"(\\.|[^"\\\n])*"`},
	{Name: "Number", Pattern: `[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`},
	{Name: "Keyword", Pattern: keywordPattern()},
	{Name: "Ident", Pattern: "[A-Za-z_][A-Za-z0-9_]*|`[^`\\n]+`"},
	{Name: "Op", Pattern: `==|!=|<=|>=|\|\||[-+*/%<>=|(){}\[\],.?:]`},
})

var parser = participle.MustBuild[gFile](
	participle.Lexer(stepLexer),
	participle.Elide("Whitespace", "Comment"),
	participle.UseLookahead(3),
)

type gFile struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Decls  []*declaration `parser:"@@*"`
}

type declaration struct {
	Table  *gTable  `parser:"@@"`
	Source *gSource `parser:"| @@"`
	View   *gView   `parser:"| @@"`
	Output *gOutput `parser:"| @@"`
	Func   *gFunc   `parser:"| @@"`
}

type identifier struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   string `parser:"@Ident"`
}

type tableName struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Parts  []string `parser:"@Ident ( '.' @Ident )*"`
}

type gTable struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier    `parser:"'table' @@"`
	Items  []*columnOrKey `parser:"'(' @@ ( ',' @@ )* ')'"`
}

type gSource struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier    `parser:"'source' @@ '='"`
	Table  *tableName     `parser:"'table' @@"`
	Items  []*columnOrKey `parser:"( '(' @@ ( ',' @@ )* ')' )?"`
}

type columnOrKey struct {
	PrimaryKey []*identifier `parser:"'primary' 'key' '(' @@ ( ',' @@ )* ')'"`
	Column     *columnDef    `parser:"| @@"`
}

type columnDef struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier `parser:"@@"`
	Type   *typeName   `parser:"@@"`
}

type typeName struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Name     string `parser:"@Ident"`
	Args     []int  `parser:"( '(' @Number ( ',' @Number )* ')' )?"`
	Array    bool   `parser:"@( '[' ']' )?"`
	Nullable bool   `parser:"@'?'?"`
}

type gView struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier `parser:"'view' @@ '='"`
	Query  *pipeline   `parser:"@@"`
}

type gOutput struct {
	Pos        lexer.Position
	EndPos     lexer.Position
	Name       *identifier `parser:"'output' @@"`
	Table      *tableName  `parser:"( 'to' 'table' @@ )?"`
	Indexes    []*nameList `parser:"( 'index' '(' @@ ')' )*"`
	PrimaryKey *nameList   `parser:"( 'primary' 'key' '(' @@ ')' )?"`
}

type nameList struct {
	Names []*identifier `parser:"@@ ( ',' @@ )*"`
}

type gFunc struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier  `parser:"'fn' @@"`
	Params []*columnDef `parser:"'(' ( @@ ( ',' @@ )* )? ')'"`
	Result *typeName    `parser:"@@ '='"`
	Body   *expression  `parser:"@@"`
}

type pipeline struct {
	Pos    lexer.Position
	EndPos lexer.Position
	From   *relation `parser:"@@"`
	Stages []*stage  `parser:"( '|' @@ )*"`
}

type relation struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Values []*record   `parser:"(   'values' '[' @@ ( ',' @@ )* ']'"`
	Sub    *pipeline   `parser:"| '(' @@ ')'"`
	Ref    *identifier `parser:"| @@ )"`
	Alias  *identifier `parser:"( 'as' @@ )?"`
}

type stage struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Where    *expression `parser:"'where' @@"`
	Select   []*field    `parser:"| 'select' '{' @@ ( ',' @@ )* '}'"`
	Join     *gJoin      `parser:"| @@"`
	Group    *gGroup     `parser:"| @@"`
	Distinct bool        `parser:"| @'distinct'"`
	Set      *gSet       `parser:"| @@"`
	Top      *gTop       `parser:"| @@"`
	Flatten  *gFlatten   `parser:"| @@"`
}

type gJoin struct {
	Kind  string      `parser:"@( 'left' | 'right' | 'full' | 'semi' | 'anti' | 'cross' )? 'join'"`
	Right *relation   `parser:"@@"`
	On    *expression `parser:"( 'on' @@ )?"`
}

type gGroup struct {
	Keys []*field `parser:"'group' ( 'by' @@ ( ',' @@ )* )?"`
	Aggs []*field `parser:"'{' ( @@ ( ',' @@ )* )? '}'"`
}

type gSet struct {
	Op    string    `parser:"@( 'union' | 'except' | 'intersect' )"`
	All   bool      `parser:"@'all'?"`
	Right *relation `parser:"@@"`
}

type gTop struct {
	N   int           `parser:"'top' @Number"`
	By  []*orderKey   `parser:"'by' @@ ( ',' @@ )*"`
	Per []*expression `parser:"( 'per' @@ ( ',' @@ )* )?"`
}

type gFlatten struct {
	Name  *identifier `parser:"'flatten' @@ '='"`
	Value *expression `parser:"@@"`
}

type orderKey struct {
	Pos    lexer.Position
	EndPos lexer.Position
	X      *expression `parser:"@@"`
	Dir    string      `parser:"@( 'asc' | 'desc' )?"`
}

type field struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier `parser:"( @@ '=' )?"`
	Value  *expression `parser:"@@"`
}

type expression struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gAnd   `parser:"@@"`
	Rest   []*gAnd `parser:"( 'or' @@ )*"`
}

type gAnd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gNot   `parser:"@@"`
	Rest   []*gNot `parser:"( 'and' @@ )*"`
}

type gNot struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Not    *gNot `parser:"'not' @@"`
	Cmp    *gCmp `parser:"| @@"`
}

type gCmp struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gConcat  `parser:"@@"`
	Tail   *gCmpTail `parser:"@@?"`
}

type gCmpTail struct {
	Op    string   `parser:"@( '==' | '!=' | '<=' | '>=' | '<' | '>' )"`
	Right *gConcat `parser:"@@"`
	Is    bool     `parser:"| @'is'"`
	Not   bool     `parser:"@'not'?"`
	Null  bool     `parser:"@'null'"`
}

type gConcat struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gAdd   `parser:"@@"`
	Rest   []*gAdd `parser:"( '||' @@ )*"`
}

type gAdd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gMul     `parser:"@@"`
	Ops    []*gAddOp `parser:"@@*"`
}

type gAddOp struct {
	EndPos lexer.Position
	Op     string `parser:"@( '+' | '-' )"`
	Right  *gMul  `parser:"@@"`
}

type gMul struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gUnary   `parser:"@@"`
	Ops    []*gMulOp `parser:"@@*"`
}

type gMulOp struct {
	EndPos lexer.Position
	Op     string  `parser:"@( '*' | '/' | '%' )"`
	Right  *gUnary `parser:"@@"`
}

type gUnary struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Neg     *gUnary   `parser:"'-' @@"`
	Postfix *gPostfix `parser:"| @@"`
}

type gPostfix struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Primary *operand      `parser:"@@"`
	Fields  []*identifier `parser:"( '.' @@ )*"`
}

type operand struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Number *string     `parser:"@Number"`
	String *string     `parser:"| @String"`
	True   bool        `parser:"| @'true'"`
	False  bool        `parser:"| @'false'"`
	Null   bool        `parser:"| @'null'"`
	If     *ifExpr     `parser:"| @@"`
	Call   *call       `parser:"| @@"`
	Name   *identifier `parser:"| @@"`
	Paren  *expression `parser:"| '(' @@ ')'"`
	Record *record     `parser:"| @@"`
}

type record struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Fields []*field `parser:"'{' ( @@ ( ',' @@ )* )? '}'"`
}

type ifExpr struct {
	Cond *expression `parser:"'if' @@"`
	Then *expression `parser:"'then' @@"`
	Else *expression `parser:"'else' @@"`
}

type call struct {
	Fun      *identifier   `parser:"@@ '('"`
	Distinct bool          `parser:"@'distinct'?"`
	Args     []*expression `parser:"( @@ ( ',' @@ )* )?"`
	OrderBy  []*orderKey   `parser:"( 'order' 'by' @@ ( ',' @@ )* )? ')'"`
}
