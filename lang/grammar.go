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
	Decls  []*gDecl `@@*`
}

type gDecl struct {
	Table  *gTable  `  @@`
	Source *gSource `| @@`
	View   *gView   `| @@`
	Output *gOutput `| @@`
	Func   *gFunc   `| @@`
}

type gIdent struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   string `@Ident`
}

type gQualName struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Parts  []string `@Ident ( "." @Ident )*`
}

type gTable struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent        `"table" @@`
	Items  []*gColumnItem `"(" @@ ( "," @@ )* ")"`
}

type gSource struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent        `"source" @@ "="`
	Table  *gQualName     `"table" @@`
	Items  []*gColumnItem `( "(" @@ ( "," @@ )* ")" )?`
}

type gColumnItem struct {
	PrimaryKey []*gIdent `  "primary" "key" "(" @@ ( "," @@ )* ")"`
	Column     *gColumn  `| @@`
}

type gColumn struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `@@`
	Type   *gType  `@@`
}

type gType struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Name     string `@Ident`
	Args     []int  `( "(" @Number ( "," @Number )* ")" )?`
	Array    bool   `@( "[" "]" )?`
	Nullable bool   `@"?"?`
}

type gView struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent    `"view" @@ "="`
	Query  *gPipeline `@@`
}

type gOutput struct {
	Pos        lexer.Position
	EndPos     lexer.Position
	Name       *gIdent       `"output" @@`
	Table      *gQualName    `( "to" "table" @@ )?`
	Indexes    []*gIdentList `( "index" "(" @@ ")" )*`
	PrimaryKey *gIdentList   `( "primary" "key" "(" @@ ")" )?`
}

type gIdentList struct {
	Names []*gIdent `@@ ( "," @@ )*`
}

type gFunc struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent    `"fn" @@`
	Params []*gColumn `"(" ( @@ ( "," @@ )* )? ")"`
	Result *gType     `@@ "="`
	Body   *gExpr     `@@`
}

type gPipeline struct {
	Pos    lexer.Position
	EndPos lexer.Position
	From   *gTerm    `@@`
	Stages []*gStage `( "|" @@ )*`
}

type gTerm struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Values []*gRecord `(   "values" "[" @@ ( "," @@ )* "]"`
	Sub    *gPipeline `  | "(" @@ ")"`
	Ref    *gIdent    `  | @@ )`
	Alias  *gIdent    `( "as" @@ )?`
}

type gStage struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Where    *gExpr    `  "where" @@`
	Select   []*gField `| "select" "{" @@ ( "," @@ )* "}"`
	Join     *gJoin    `| @@`
	Group    *gGroup   `| @@`
	Distinct bool      `| @"distinct"`
	Set      *gSet     `| @@`
	Top      *gTop     `| @@`
	Flatten  *gFlatten `| @@`
}

type gJoin struct {
	Kind  string `@( "left" | "right" | "full" | "semi" | "anti" | "cross" )? "join"`
	Right *gTerm `@@`
	On    *gExpr `( "on" @@ )?`
}

type gGroup struct {
	Keys []*gField `"group" ( "by" @@ ( "," @@ )* )?`
	Aggs []*gField `"{" ( @@ ( "," @@ )* )? "}"`
}

type gSet struct {
	Op    string `@( "union" | "except" | "intersect" )`
	All   bool   `@"all"?`
	Right *gTerm `@@`
}

type gTop struct {
	N   int          `"top" @Number`
	By  []*gOrderKey `"by" @@ ( "," @@ )*`
	Per []*gExpr     `( "per" @@ ( "," @@ )* )?`
}

type gFlatten struct {
	Name  *gIdent `"flatten" @@ "="`
	Value *gExpr  `@@`
}

type gOrderKey struct {
	Pos    lexer.Position
	EndPos lexer.Position
	X      *gExpr `@@`
	Dir    string `@( "asc" | "desc" )?`
}

type gField struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `( @@ "=" )?`
	Value  *gExpr  `@@`
}

type gExpr struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gAnd   `@@`
	Rest   []*gAnd `( "or" @@ )*`
}

type gAnd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gNot   `@@`
	Rest   []*gNot `( "and" @@ )*`
}

type gNot struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Not    *gNot `  "not" @@`
	Cmp    *gCmp `| @@`
}

type gCmp struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gConcat  `@@`
	Tail   *gCmpTail `@@?`
}

type gCmpTail struct {
	Op    string   `  @( "==" | "!=" | "<=" | ">=" | "<" | ">" )`
	Right *gConcat `  @@`
	Is    bool     `| @"is"`
	Not   bool     `  @"not"?`
	Null  bool     `  @"null"`
}

type gConcat struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gAdd   `@@`
	Rest   []*gAdd `( "||" @@ )*`
}

type gAdd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gMul     `@@`
	Ops    []*gAddOp `@@*`
}

type gAddOp struct {
	EndPos lexer.Position
	Op     string `@( "+" | "-" )`
	Right  *gMul  `@@`
}

type gMul struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gUnary   `@@`
	Ops    []*gMulOp `@@*`
}

type gMulOp struct {
	EndPos lexer.Position
	Op     string  `@( "*" | "/" | "%" )`
	Right  *gUnary `@@`
}

type gUnary struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Neg     *gUnary   `  "-" @@`
	Postfix *gPostfix `| @@`
}

type gPostfix struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Primary *gPrimary `@@`
	Fields  []*gIdent `( "." @@ )*`
}

type gPrimary struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Number *string  `  @Number`
	String *string  `| @String`
	True   bool     `| @"true"`
	False  bool     `| @"false"`
	Null   bool     `| @"null"`
	If     *gIf     `| @@`
	Call   *gCall   `| @@`
	Name   *gIdent  `| @@`
	Paren  *gExpr   `| "(" @@ ")"`
	Record *gRecord `| @@`
}

type gRecord struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Fields []*gField `"{" ( @@ ( "," @@ )* )? "}"`
}

type gIf struct {
	Cond *gExpr `"if" @@`
	Then *gExpr `"then" @@`
	Else *gExpr `"else" @@`
}

type gCall struct {
	Fun      *gIdent      `@@ "("`
	Distinct bool         `@"distinct"?`
	Args     []*gExpr     `( @@ ( "," @@ )* )?`
	OrderBy  []*gOrderKey `( "order" "by" @@ ( "," @@ )* )? ")"`
}
