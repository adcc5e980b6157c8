package lang

// Node is implemented by every syntax tree node: it reports the span of
// source text it was parsed from, End being just past its last token.
type Node interface {
	Span() (pos, end Pos)
}

// span is embedded in nodes to carry their positions.
type span struct {
	Pos Pos
	End Pos
}

// Span returns the node's start and end positions.
func (s span) Span() (Pos, Pos) { return s.Pos, s.End }

// File is one parsed .step file.
type File struct {
	span
	Name  string
	Decls []Decl
}

// Decl is a top-level declaration: *TableDecl, *SourceDecl, *ViewDecl,
// *OutputDecl or *FuncDecl.
type Decl interface {
	Node
	declNode()
}

// Ident is a name with its position.
type Ident struct {
	span
	Name string
}

// QualName is a possibly schema-qualified table name such as public.orders.
type QualName struct {
	span
	Parts []string
}

// TableDecl declares a table whose rows the program is given directly
// (in memory, in the REPL or through the API): table t (cols, primary key (..)).
type TableDecl struct {
	span
	Name       *Ident
	Columns    []*ColumnDef
	PrimaryKey []*Ident
	Watermark  *Watermark // nil when none is declared
}

// SourceDecl names an existing Postgres table as an input:
// source x = table schema.name [(cols)]. The column list, when given,
// declares the expected row type; otherwise it comes from the catalog.
type SourceDecl struct {
	span
	Name       *Ident
	Table      *QualName
	Columns    []*ColumnDef
	PrimaryKey []*Ident
	Watermark  *Watermark // nil when none is declared
}

// Watermark declares how late a table's rows may arrive: watermark at -
// interval "5 minutes" says no row will come with at earlier than the
// latest at seen less five minutes. Lateness is nil for watermark at,
// which allows none.
type Watermark struct {
	span
	Column   *Ident
	Lateness *TypedLit
}

// ColumnDef is one column of a table: a name and a type.
type ColumnDef struct {
	span
	Name *Ident
	Type *TypeExpr
}

// TypeExpr is a written type: a name with optional modifiers
// (numeric(12,2)), array brackets (text[]) and nullability (int4?).
type TypeExpr struct {
	span
	Name     string
	Args     []int
	Array    bool
	Nullable bool
}

// ViewDecl defines a view: view v = pipeline.
type ViewDecl struct {
	span
	Name  *Ident
	Query *Pipeline
}

// OutputDecl materialises a view: output v [to table t] [index (..)]... [primary key (..)].
type OutputDecl struct {
	span
	Name       *Ident
	Table      *QualName
	Indexes    [][]*Ident
	PrimaryKey []*Ident
}

// FuncDecl is a user-defined pure function (parsed; not yet implemented):
// fn name(a int4, b text) text = expr.
type FuncDecl struct {
	span
	Name   *Ident
	Params []*ColumnDef
	Result *TypeExpr
	Body   Expr
}

func (*TableDecl) declNode()  {}
func (*SourceDecl) declNode() {}
func (*ViewDecl) declNode()   {}
func (*OutputDecl) declNode() {}
func (*FuncDecl) declNode()   {}

// Pipeline is a relation followed by stages: from | stage | stage ...
type Pipeline struct {
	span
	From   Term
	Stages []Stage
}

// Term is a relation a pipeline starts from or joins with: *RelRef,
// *ValuesTerm or *SubPipeline.
type Term interface {
	Node
	termNode()
}

// RelRef names a table, source or view, optionally renamed: orders as o.
type RelRef struct {
	span
	Name  *Ident
	Alias *Ident
}

// ValuesTerm is a literal relation: values [{a = 1}, {a = 2}].
type ValuesTerm struct {
	span
	Rows  []*RecordLit
	Alias *Ident
}

// SubPipeline is a parenthesised pipeline used as a relation.
type SubPipeline struct {
	span
	Query *Pipeline
	Alias *Ident
}

func (*RelRef) termNode()      {}
func (*ValuesTerm) termNode()  {}
func (*SubPipeline) termNode() {}

// Stage is one step of a pipeline: *WhereStage, *SelectStage, *JoinStage,
// *GroupStage, *DistinctStage, *SetStage, *TopStage, *WindowStage,
// *TumbleStage, *HopStage, *SessionStage, *StampStage or *FlattenStage.
type Stage interface {
	Node
	stageNode()
}

// WhereStage keeps the rows for which Cond is true.
type WhereStage struct {
	span
	Cond Expr
}

// SelectStage maps each row to a new record of named fields.
type SelectStage struct {
	span
	Fields []*Field
}

// JoinStage joins with another relation. Kind is "inner", "left", "right",
// "full", "semi" (exists) or "anti" (not exists), or "cross" with no On.
type JoinStage struct {
	span
	Kind  string
	Right Term
	On    Expr
}

// GroupStage groups rows by keys and computes aggregates per group:
// group by k1, k2 = expr { name = agg(..), ... }.
type GroupStage struct {
	span
	Keys []*Field
	Aggs []*Field
}

// DistinctStage removes duplicate rows.
type DistinctStage struct {
	span
}

// SetStage combines with another relation: union [all], except, intersect.
type SetStage struct {
	span
	Op    SetKind
	All   bool
	Right Term
}

// TopStage keeps the first N rows per group in an order:
// top 3 by score desc per user.
type TopStage struct {
	span
	N   int
	By  []*OrderKey
	Per []Expr
}

// WindowStage adds to each row values of the rows before and after it
// in an order, per group: window by at per meter { prev = lag(value) }.
type WindowStage struct {
	span
	By     []*OrderKey
	Per    []Expr
	Fields []*Field
}

// TumbleStage gives each row the tumbling window of its time: tumble at
// every interval "10 minutes" adds window_start and window_end.
type TumbleStage struct {
	span
	Time, Every Expr
}

// HopStage gives each row one row per hopping window its time falls in:
// hop at every interval "5 minutes" size interval "15 minutes".
type HopStage struct {
	span
	Time, Every, Size Expr
}

// SessionStage gives each row the session window its time falls in:
// session at gap interval "10 minutes" per user.
type SessionStage struct {
	span
	Time, Gap Expr
	Per       []Expr
}

// StampStage adds to each row the time it arrived: stamp arrived.
type StampStage struct {
	span
	Name *Ident
}

// OrderKey is one key of an ordering.
type OrderKey struct {
	span
	X    Expr
	Desc bool
}

// FlattenStage expands an array-valued expression into one row per element
// (not yet implemented): flatten tag = tags.
type FlattenStage struct {
	span
	Name  *Ident
	Value Expr
}

func (*WhereStage) stageNode()    {}
func (*SelectStage) stageNode()   {}
func (*JoinStage) stageNode()     {}
func (*GroupStage) stageNode()    {}
func (*DistinctStage) stageNode() {}
func (*SetStage) stageNode()      {}
func (*TopStage) stageNode()      {}
func (*WindowStage) stageNode()   {}
func (*TumbleStage) stageNode()   {}
func (*HopStage) stageNode()      {}
func (*StampStage) stageNode()    {}
func (*SessionStage) stageNode()  {}
func (*FlattenStage) stageNode()  {}

// Field is a named expression in a select, group key list or aggregate
// list. Name is nil when written without one; the checker then derives the
// name from the expression (a column reference keeps its column's name).
type Field struct {
	span
	Name  *Ident
	Value Expr
}

// Expr is an expression: *Name, *Selector, *Literal, *TypedLit, *Unary,
// *Binary, *IsNull, *Call, *IfExpr, *CaseExpr, *LetExpr, *CastExpr,
// *ParenExpr or *RecordLit.
type Expr interface {
	Node
	exprNode()
}

// Name is a bare identifier in an expression.
type Name struct {
	span
	Name string
}

// Selector is X.Sel: a column of a named relation or a record field.
type Selector struct {
	span
	X   Expr
	Sel *Ident
}

// LitKind says which kind of literal a Literal is.
type LitKind int

// The literal kinds.
const (
	IntLit LitKind = iota
	DecimalLit
	FloatLit
	StringLit
	BoolLit
	NullLit
)

// Literal is a constant. Value is the literal's text, unquoted and
// unescaped for strings.
type Literal struct {
	span
	Kind  LitKind
	Value string
}

// TypedLit is a constant of a named type written as a string:
// interval "7 days". Type is the type's name as written.
type TypedLit struct {
	span
	Type  *Ident
	Value string
}

// Unary is Op X, with Op Neg or Not.
type Unary struct {
	span
	Op Op
	X  Expr
}

// Binary is X Op Y, Op being any operator but the unary Neg and Not:
// or and == != < <= > >= || + - * / %, ?? (the first non-NULL of X and
// Y), like, ilike, not like, not ilike, is [not] distinct from, and the
// jsonb accesses -> and ->>.
type Binary struct {
	span
	Op Op
	X  Expr
	Y  Expr
}

// IsNull is X is [not] null.
type IsNull struct {
	span
	X   Expr
	Not bool
}

// Call is a function or aggregate call: name([distinct] args [order by
// ..]) [filter (where cond)].
type Call struct {
	span
	Fun      *Ident
	Distinct bool
	Args     []Expr
	OrderBy  []*OrderKey
	// Filter is an aggregate's condition on the rows it takes, as SQL's
	// FILTER (WHERE ...); nil for none.
	Filter Expr
	// Frame is, for an aggregate in a window, how many rows before the
	// row it takes with the row (rows N preceding); nil for none.
	Frame *int
}

// IfExpr is if c then a else b.
type IfExpr struct {
	span
	Cond Expr
	Then Expr
	Else Expr
}

// CaseExpr is case [Subject] when c then x ... [else y] end. Without a
// Subject each When is a condition; with one, a value compared with it.
// Else is nil when not written.
type CaseExpr struct {
	span
	Subject Expr
	Whens   []*CaseWhen
	Else    Expr
}

// CaseWhen is one branch of a CaseExpr: when When then Then.
type CaseWhen struct {
	span
	When Expr
	Then Expr
}

// LetExpr is let a = x, b = y in Body: each binding is visible in the
// bindings after it and in Body.
type LetExpr struct {
	span
	Bindings []*LetBinding
	Body     Expr
}

// LetBinding is one name = value of a LetExpr.
type LetBinding struct {
	span
	Name  *Ident
	Value Expr
}

// CastExpr converts X to Type: x::type or cast(x as type).
type CastExpr struct {
	span
	X    Expr
	Type *TypeExpr
}

// IndexExpr is X[Index], an array's element.
type IndexExpr struct {
	span
	X, Index Expr
}

// ParenExpr is (X); kept so printed source round-trips.
type ParenExpr struct {
	span
	X Expr
}

// RecordLit is a record constructor: {a = 1, b = "x"}.
type RecordLit struct {
	span
	Fields []*Field
}

func (*Name) exprNode()      {}
func (*Selector) exprNode()  {}
func (*IndexExpr) exprNode() {}
func (*Literal) exprNode()   {}
func (*Unary) exprNode()     {}
func (*Binary) exprNode()    {}
func (*IsNull) exprNode()    {}
func (*Call) exprNode()      {}
func (*IfExpr) exprNode()    {}
func (*ParenExpr) exprNode() {}
func (*TypedLit) exprNode()  {}
func (*CaseExpr) exprNode()  {}
func (*LetExpr) exprNode()   {}
func (*CastExpr) exprNode()  {}
func (*RecordLit) exprNode() {}
