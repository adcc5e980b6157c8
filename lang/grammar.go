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
	"false", "null", "is", "let", "case",
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
	{Name: "Op", Pattern: `->>|->|::|\?\?|==|!=|<=|>=|\|\||[-+*/%<>=|(){}\[\],.?:]`},
})

var parser = participle.MustBuild[program](
	participle.Lexer(stepLexer),
	participle.Elide("Whitespace", "Comment"),
	participle.UseLookahead(3),
)

type program struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Decls  []*declaration `parser:"@@*"`
}

type declaration struct {
	Table  *tableDecl  `parser:"@@"`
	Source *sourceDecl `parser:"| @@"`
	View   *viewDecl   `parser:"| @@"`
	Output *outputDecl `parser:"| @@"`
	Func   *funcDecl   `parser:"| @@"`
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

type tableDecl struct {
	Pos       lexer.Position
	EndPos    lexer.Position
	Name      *identifier    `parser:"'table' @@"`
	Items     []*columnOrKey `parser:"'(' @@ ( ',' @@ )* ')'"`
	Watermark *watermarkDecl `parser:"@@?"`
}

type sourceDecl struct {
	Pos       lexer.Position
	EndPos    lexer.Position
	Name      *identifier    `parser:"'source' @@ '='"`
	Table     *tableName     `parser:"'table' @@"`
	Items     []*columnOrKey `parser:"( '(' @@ ( ',' @@ )* ')' )?"`
	Watermark *watermarkDecl `parser:"@@?"`
}

// watermarkDecl follows a table's columns: watermark at - interval
// "5 minutes". It comes after the closing parenthesis, where no
// declaration can start with an identifier, so that a column may still
// be named watermark.
type watermarkDecl struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Column   *identifier `parser:"'watermark' @@"`
	Lateness *typedLit   `parser:"( '-' @@ )?"`
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

type viewDecl struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier `parser:"'view' @@ '='"`
	Query  *pipeline   `parser:"@@"`
}

type outputDecl struct {
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

type funcDecl struct {
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
	Where    *expression   `parser:"'where' @@"`
	Select   []*field      `parser:"| 'select' '{' @@ ( ',' @@ )* '}'"`
	Join     *joinStage    `parser:"| @@"`
	Group    *groupStage   `parser:"| @@"`
	Distinct bool          `parser:"| @'distinct'"`
	Set      *setStage     `parser:"| @@"`
	Top      *topStage     `parser:"| @@"`
	Window   *windowStage  `parser:"| @@"`
	Tumble   *tumbleStage  `parser:"| @@"`
	Stamp    *identifier   `parser:"| 'stamp' @@"`
	Session  *sessionStage `parser:"| @@"`
	Hop      *hopStage     `parser:"| @@"`
	Flatten  *flattenStage `parser:"| @@"`
}

type joinStage struct {
	Kind  string      `parser:"@( 'left' | 'right' | 'full' | 'semi' | 'anti' | 'cross' )? 'join'"`
	Right *relation   `parser:"@@"`
	On    *expression `parser:"( 'on' @@ )?"`
}

type groupStage struct {
	Keys []*field `parser:"'group' ( 'by' @@ ( ',' @@ )* )?"`
	Aggs []*field `parser:"'{' ( @@ ( ',' @@ )* )? '}'"`
}

type setStage struct {
	Op    string    `parser:"@( 'union' | 'except' | 'intersect' )"`
	All   bool      `parser:"@'all'?"`
	Right *relation `parser:"@@"`
}

type topStage struct {
	N   int           `parser:"'top' @Number"`
	By  []*orderKey   `parser:"'by' @@ ( ',' @@ )*"`
	Per []*expression `parser:"( 'per' @@ ( ',' @@ )* )?"`
}

type windowStage struct {
	By     []*orderKey   `parser:"'window' 'by' @@ ( ',' @@ )*"`
	Per    []*expression `parser:"( 'per' @@ ( ',' @@ )* )?"`
	Fields []*field      `parser:"'{' @@ ( ',' @@ )* '}'"`
}

type tumbleStage struct {
	Time  *expression `parser:"'tumble' @@"`
	Every *expression `parser:"'every' @@"`
}

type sessionStage struct {
	Time *expression   `parser:"'session' @@"`
	Gap  *expression   `parser:"'gap' @@"`
	Per  []*expression `parser:"( 'per' @@ ( ',' @@ )* )?"`
}

type hopStage struct {
	Time  *expression `parser:"'hop' @@"`
	Every *expression `parser:"'every' @@"`
	Size  *expression `parser:"'size' @@"`
}

type flattenStage struct {
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
	Left   *exprAnd   `parser:"@@"`
	Rest   []*exprAnd `parser:"( 'or' @@ )*"`
}

type exprAnd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *exprNot   `parser:"@@"`
	Rest   []*exprNot `parser:"( 'and' @@ )*"`
}

type exprNot struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Not    *exprNot `parser:"'not' @@"`
	Cmp    *exprCmp `parser:"| @@"`
}

type exprCmp struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *exprCoalesce `parser:"@@"`
	Tail   *exprCmpTail  `parser:"@@?"`
}

type exprCmpTail struct {
	Op       string          `parser:"@( '==' | '!=' | '<=' | '>=' | '<' | '>' )"`
	Right    *exprCoalesce   `parser:"@@"`
	NotLike  bool            `parser:"| @'not'?"`
	Like     string          `parser:"@( 'like' | 'ilike' )"`
	Pattern  *exprCoalesce   `parser:"@@"`
	NotIn    bool            `parser:"| @'not'?"`
	In       []*exprCoalesce `parser:"'in' '(' @@ ( ',' @@ )* ')'"`
	Is       bool            `parser:"| @'is'"`
	Not      bool            `parser:"@'not'?"`
	Null     bool            `parser:"( @'null'"`
	Distinct *exprCoalesce   `parser:"| 'distinct' 'from' @@ )"`
}

type exprCoalesce struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *exprConcat   `parser:"@@"`
	Rest   []*exprConcat `parser:"( '??' @@ )*"`
}

type exprConcat struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *exprAdd   `parser:"@@"`
	Rest   []*exprAdd `parser:"( '||' @@ )*"`
}

type exprAdd struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *exprMul     `parser:"@@"`
	Ops    []*exprAddOp `parser:"@@*"`
}

type exprAddOp struct {
	EndPos lexer.Position
	Op     string   `parser:"@( '+' | '-' )"`
	Right  *exprMul `parser:"@@"`
}

type exprMul struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *exprUnary   `parser:"@@"`
	Ops    []*exprMulOp `parser:"@@*"`
}

type exprMulOp struct {
	EndPos lexer.Position
	Op     string     `parser:"@( '*' | '/' | '%' )"`
	Right  *exprUnary `parser:"@@"`
}

type exprUnary struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Neg     *exprUnary   `parser:"'-' @@"`
	Postfix *exprPostfix `parser:"| @@"`
}

type exprPostfix struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Primary *operand     `parser:"@@"`
	Ops     []*postfixOp `parser:"@@*"`
}

// postfixOp is what may follow an operand: a field access .f, a cast
// ::type, an array subscript [i], or a jsonb access -> key or ->> key.
type postfixOp struct {
	EndPos lexer.Position
	Field  *identifier `parser:"'.' @@"`
	Cast   *typeName   `parser:"| '::' @@"`
	Index  *expression `parser:"| '[' @@ ']'"`
	Arrow  string      `parser:"| @( '->>' | '->' )"`
	Key    *operand    `parser:"@@"`
}

type operand struct {
	Pos      lexer.Position
	EndPos   lexer.Position
	Number   *string       `parser:"@Number"`
	String   *string       `parser:"| @String"`
	True     bool          `parser:"| @'true'"`
	False    bool          `parser:"| @'false'"`
	Null     bool          `parser:"| @'null'"`
	If       *ifExpr       `parser:"| @@"`
	Case     *caseExpr     `parser:"| @@"`
	Let      *letExpr      `parser:"| @@"`
	Cast     *castExpr     `parser:"| @@"`
	Position *positionExpr `parser:"| @@"`
	Extract  *extractExpr  `parser:"| @@"`
	Typed    *typedLit     `parser:"| @@"`
	Call     *call         `parser:"| @@"`
	Name     *identifier   `parser:"| @@"`
	Paren    *expression   `parser:"| '(' @@ ')'"`
	Record   *record       `parser:"| @@"`
}

type record struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Fields []*field `parser:"'{' ( @@ ( ',' @@ )* )? '}'"`
}

// caseExpr is case [subject] when c then x ... [else y] end; without a
// subject each when is a condition, with one a value compared to it.
type caseExpr struct {
	Subject *expression `parser:"'case' ( (?! 'when' ) @@ )?"`
	Whens   []*caseWhen `parser:"@@+"`
	Else    *expression `parser:"( 'else' @@ )? 'end'"`
}

type caseWhen struct {
	Pos    lexer.Position
	EndPos lexer.Position
	When   *expression `parser:"'when' @@"`
	Then   *expression `parser:"'then' @@"`
}

// letExpr is let a = x, b = y in body: each name is bound in the ones
// after it and in the body.
type letExpr struct {
	Bindings []*letBinding `parser:"'let' @@ ( ',' @@ )*"`
	Body     *expression   `parser:"'in' @@"`
}

type letBinding struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *identifier `parser:"@@ '='"`
	Value  *expression `parser:"@@"`
}

// castExpr is cast(x as type), the same as x::type.
type castExpr struct {
	X    *expression `parser:"'cast' '(' @@"`
	Type *typeName   `parser:"'as' @@ ')'"`
}

// positionExpr is SQL's position(sub in s).
type positionExpr struct {
	Fun string        `parser:"@'position' '('"`
	Sub *exprCoalesce `parser:"@@ 'in'"`
	In  *expression   `parser:"@@ ')'"`
}

// extractExpr is SQL's extract(field from x).
type extractExpr struct {
	Fun   string      `parser:"@'extract' '('"`
	Field *identifier `parser:"@@ 'from'"`
	From  *expression `parser:"@@ ')'"`
}

// typedLit is a constant of a named type written as a string:
// interval "7 days", date "2024-03-01".
type typedLit struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Type   *identifier `parser:"@@"`
	Value  string      `parser:"@String"`
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
	Filter   *expression   `parser:"( 'filter' '(' 'where' @@ ')' )?"`
	Frame    *string       `parser:"( 'rows' @Number 'preceding' )?"`
}
