package typecheck

import (
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// Column is a named, typed column of a relation.
type Column struct {
	Name string
	Type types.Type
}

// Program is a checked .step file.
type Program struct {
	Tables    []*Table    // input tables, in declaration order
	Views     []*View     // views, each after the views it reads
	Outputs   []*Output   // outputs, in declaration order
	Functions []*Function // user-defined functions, in declaration order
}

// Function is a user-defined pure function. Its body refers to its
// parameters as the locals 0..len(Params)-1 and to no row; Frame is the
// number of local slots an evaluation of the body needs (its parameters
// and its let bindings).
type Function struct {
	Name   string
	Pos    lang.Pos
	Params []Column
	Result types.Type
	Body   Expr
	Frame  int
}

// Table looks a table up by name.
func (p *Program) Table(name string) *Table {
	for _, t := range p.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// View looks a view up by name.
func (p *Program) View(name string) *View {
	for _, v := range p.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Table is an input: a declared table whose changes are given to the
// runtime, or a source reading an existing Postgres table.
type Table struct {
	Name       string
	Pos        lang.Pos
	Columns    []Column
	PrimaryKey []int        // column indexes; empty when rows form a multiset
	Source     *SourceTable // the Postgres table of a source; nil for a declared table
	Watermark  *Watermark   // nil when the table declares none
}

// Watermark is a table's declared bound on how late its rows arrive: no
// row will come whose Column is earlier than the latest value seen less
// Lateness (an interval of days and time).
type Watermark struct {
	Column   int
	Lateness types.IntervalValue
}

// SourceTable names the Postgres table a source reads.
type SourceTable struct {
	Schema string // empty when the program did not write one and no catalog resolved it
	Name   string
}

// View is a named query.
type View struct {
	Name    string
	Pos     lang.Pos
	Query   Rel
	Columns []Column
}

// Output materialises a view.
type Output struct {
	Pos        lang.Pos
	View       *View
	Table      []string // target table name parts; nil when not written
	Indexes    [][]int  // column indexes of each declared index
	PrimaryKey []int
}

// Rel is a typed relational operator: *Scan, *ViewRef, *Values, *Filter,
// *Project, *Join, *Group, *Distinct, *Union, *SetOp, *Top, *Window, *Stamp, *Session, *Fixpoint,
// *RecRef or *Flatten. Its rows have the columns Cols returns.
type Rel interface {
	Cols() []Column
}

// Scan reads an input table.
type Scan struct{ Table *Table }

// ViewRef reads another view.
type ViewRef struct{ View *View }

// Values is a literal relation; each row's expressions are constant.
type Values struct {
	Columns []Column
	Rows    [][]Expr
}

// Filter keeps rows for which Cond is true (not false, not NULL).
type Filter struct {
	In   Rel
	Cond Expr
}

// Project maps each row to Exprs, evaluated over the input row.
type Project struct {
	In      Rel
	Exprs   []Expr
	Columns []Column
}

// JoinKind says which rows a join produces.
type JoinKind int

// The join kinds.
const (
	InnerJoin JoinKind = iota // pairs of matching rows
	LeftJoin                  // inner, plus unmatched left rows padded with NULLs
	RightJoin                 // inner, plus unmatched right rows padded with NULLs
	FullJoin                  // inner, plus unmatched rows of both sides
	SemiJoin                  // left rows with at least one match (exists)
	AntiJoin                  // left rows with no match (not exists)
	CrossJoin                 // every pair of rows; no keys
)

var joinKindNames = [...]string{
	InnerJoin: "inner", LeftJoin: "left", RightJoin: "right", FullJoin: "full",
	SemiJoin: "semi", AntiJoin: "anti", CrossJoin: "cross",
}

// String returns the kind as the language writes it: "left", "semi", ...
func (k JoinKind) String() string { return joinKindNames[k] }

// PreservesLeft reports whether unmatched left rows appear in the output
// of an outer join (left or full).
func (k JoinKind) PreservesLeft() bool { return k == LeftJoin || k == FullJoin }

// PreservesRight reports whether unmatched right rows appear in the output
// of an outer join (right or full).
func (k JoinKind) PreservesRight() bool { return k == RightJoin || k == FullJoin }

// Join is an equi-join of Left and Right on LeftKeys == RightKeys (no keys
// for a cross join). Rows whose key has a NULL never match, as in SQL.
//
// Inner, outer and cross joins output the left row followed by the right
// row; the side an outer join pads with NULLs has nullable columns. Semi
// and anti joins output the left row alone, once per left row whatever
// the number of matches.
//
// Cond, when not nil, is the rest of an outer, semi or anti join's
// condition, over the left row followed by the right row: a pair matches
// only when its keys are equal and Cond is true, as in SQL's ON. An inner
// join's other conjuncts are Filters above it instead, which is the same.
type Join struct {
	Kind                JoinKind
	Left, Right         Rel
	LeftKeys, RightKeys []Expr // over the left and right rows respectively
	Cond                Expr
}

// AggCall is one aggregate computed per group.
type AggCall struct {
	Name     string
	Args     []Expr // over the input row
	Distinct bool   // count(distinct x)
	// OrderBy orders the rows for array_agg, string_agg, first and last;
	// its keys are over the input row.
	OrderBy []OrderKey
	Type    types.Type
}

// OrderKey is one key of an ordering: an aggregate's order by, or top's.
type OrderKey struct {
	X    Expr
	Desc bool
}

// Group groups rows by Keys and computes Aggs per group. Its output row is
// the key values followed by the aggregate values, and then Out, when not
// nil, maps that row to the columns the user wrote.
type Group struct {
	In      Rel
	Keys    []Expr
	Aggs    []AggCall
	Out     []Expr // over keys ++ aggs
	Columns []Column
}

// Distinct keeps one copy of each row present.
type Distinct struct{ In Rel }

// Union combines two relations with the same columns; All keeps
// duplicates (bag union), otherwise the result is a set.
type Union struct {
	Left, Right Rel
	All         bool
	Columns     []Column
}

// SetOp is except or intersect of two relations with the same columns.
// Rows are compared as SQL's = does (types.KeyOf). Without All the
// result is a set, as SQL's EXCEPT and INTERSECT; with All, a row whose
// class the left holds m times and the right n times appears max(0, m-n)
// times (except all) or min(m, n) times (intersect all). The row shown
// for a class is its left row of smallest identity (types.RowKey).
type SetOp struct {
	Op          lang.SetKind // lang.Except or lang.Intersect
	All         bool
	Left, Right Rel
	Columns     []Column
}

// Top keeps, in each group of rows with equal Per values (one group
// without Per), the first N rows in the order of By, ties broken by the
// whole row ascending and then by the row's identity. NULL sorts after
// every value ascending and before every value descending. A row of
// weight w counts as w rows.
type Top struct {
	In  Rel
	N   int64
	By  []OrderKey
	Per []Expr
}

// Fixpoint is a recursive view's query: the least set V of rows such
// that V = distinct(Base + Step), where Step reads V through RecRef.
// Base does not read V. Columns are Base's.
type Fixpoint struct {
	Name    string // the view's name
	Base    Rel
	Step    Rel // the union all of the recursive branches
	Columns []Column
}

// RecRef reads the recursive view being defined, inside the Step of its
// Fixpoint.
type RecRef struct {
	Name    string
	Columns []Column
}

// Flatten replaces each row by one row per element of the array Elem
// evaluates to over it: the row's columns followed by the element. A NULL
// or empty array gives no rows.
type Flatten struct {
	In      Rel
	Elem    Expr
	Columns []Column
}

// Cols returns the input's columns and the element's.
func (r *Flatten) Cols() []Column { return r.Columns }

// Session gives each row the session window of its time Time among the
// rows of its group (equal Per values): rows whose times follow one
// another by less than Gap are one session, from the first's time to the
// last's plus Gap. Columns are the input's, then window_start and
// window_end. A row whose time is NULL is in no session and left out.
type Session struct {
	In      Rel
	Time    Expr
	Gap     types.IntervalValue
	Per     []Expr
	Columns []Column
}

// Cols returns the input's columns and the window's.
func (r *Session) Cols() []Column { return r.Columns }

// Stamp adds to each row the time it arrived: the time of the step that
// inserted it, kept with it until it is deleted. Columns are the input's
// and the stamp's (timestamptz).
type Stamp struct {
	In      Rel
	Columns []Column
}

// Cols returns the input's columns and the stamp's.
func (r *Stamp) Cols() []Column { return r.Columns }

// Window adds to each row, per group of rows with equal Per values in
// the order By (then by the row, as Top orders them), the value of each
// of Funcs at the row before it (lag) or after it (lead), NULL where
// there is none. Columns are the input's and then the Funcs'.
type Window struct {
	In      Rel
	By      []OrderKey
	Per     []Expr
	Funcs   []WindowFunc
	Columns []Column
}

// WindowFunc is one function of a window: lag(Arg) or lead(Arg), Arg at
// the previous or the next row of the group; row_number(), rank() or
// dense_rank(), the row's place in the group, without Arg; or count,
// sum or avg of Arg over the row and the Frame rows before it.
type WindowFunc struct {
	Name string
	Arg  Expr
	// Frame is, for an aggregate over the rows before (count, sum, avg),
	// how many it takes with the row; T is its result's type.
	Frame int
	T     types.Type
}

// Cols returns the input's columns and the functions'.
func (r *Window) Cols() []Column { return r.Columns }

// Cols returns the table's columns.
func (r *Scan) Cols() []Column { return r.Table.Columns }

// Cols returns the view's columns.
func (r *ViewRef) Cols() []Column { return r.View.Columns }

// Cols returns the literal's columns.
func (r *Values) Cols() []Column { return r.Columns }

// Cols returns the input's columns.
func (r *Filter) Cols() []Column { return r.In.Cols() }

// Cols returns the projected columns.
func (r *Project) Cols() []Column { return r.Columns }

// Cols returns the left columns followed by the right, those of a side
// an outer join pads made nullable; or, for semi and anti joins, the left
// columns alone.
func (r *Join) Cols() []Column {
	switch r.Kind {
	case SemiJoin, AntiJoin:
		return r.Left.Cols()
	}
	left, right := r.Left.Cols(), r.Right.Cols()
	if r.Kind.PreservesRight() {
		left = nullable(left)
	}
	if r.Kind.PreservesLeft() {
		right = nullable(right)
	}
	return append(append([]Column{}, left...), right...)
}

// nullable returns cols with every type made nullable.
func nullable(cols []Column) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = Column{Name: c.Name, Type: c.Type.OrNull()}
	}
	return out
}

// Cols returns the group's output columns.
func (r *Group) Cols() []Column { return r.Columns }

// Cols returns the input's columns.
func (r *Distinct) Cols() []Column { return r.In.Cols() }

// Cols returns the union's columns.
func (r *Union) Cols() []Column { return r.Columns }

// Cols returns the set operation's columns.
func (r *SetOp) Cols() []Column { return r.Columns }

// Cols returns the input's columns.
func (r *Top) Cols() []Column { return r.In.Cols() }

// Cols returns the recursive view's columns.
func (r *Fixpoint) Cols() []Column { return r.Columns }

// Cols returns the recursive view's columns.
func (r *RecRef) Cols() []Column { return r.Columns }

// Children returns the relations r reads directly, in order.
func Children(r Rel) []Rel {
	switch r := r.(type) {
	case *Filter:
		return []Rel{r.In}
	case *Project:
		return []Rel{r.In}
	case *Join:
		return []Rel{r.Left, r.Right}
	case *Group:
		return []Rel{r.In}
	case *Distinct:
		return []Rel{r.In}
	case *Union:
		return []Rel{r.Left, r.Right}
	case *SetOp:
		return []Rel{r.Left, r.Right}
	case *Top:
		return []Rel{r.In}
	case *Window:
		return []Rel{r.In}
	case *Stamp:
		return []Rel{r.In}
	case *Session:
		return []Rel{r.In}
	case *Fixpoint:
		return []Rel{r.Base, r.Step}
	}
	return nil
}

// ReadsRec reports whether r reads a RecRef, directly or below.
func ReadsRec(r Rel) bool {
	if _, ok := r.(*RecRef); ok {
		return true
	}
	for _, c := range Children(r) {
		if ReadsRec(c) {
			return true
		}
	}
	return false
}

// Expr is a typed expression over a row: *ColRef, *Const, *Unary,
// *Binary, *IsNull, *Call, *If, *Cast, *Record, *FieldRef, *Let, *Local
// or *FuncCall.
type Expr interface {
	Type() types.Type
}

// ColRef reads column Index of the row.
type ColRef struct {
	Index int
	Name  string
	T     types.Type
}

// Const is a constant value.
type Const struct {
	Value any
	T     types.Type
}

// Unary is lang.Neg or lang.Not applied to X.
type Unary struct {
	Op   lang.Op
	X    Expr
	T    types.Type
	Span lang.Span // the source text, for errors while it runs
}

// Binary is X Op Y: and, or, a comparison, is [not] distinct from,
// [not] like or ilike, ||, a jsonb access or arithmetic (?? becomes a
// Call of coalesce). Operands of comparisons and arithmetic may have
// different number types; the implementation promotes them.
type Binary struct {
	Op   lang.Op
	X, Y Expr
	T    types.Type
	Span lang.Span // the source text, for errors while it runs
}

// IsNull tests X for NULL (or for not NULL when Not).
type IsNull struct {
	X   Expr
	Not bool
}

// Call calls a built-in function.
type Call struct {
	Func *stdlib.Func
	Args []Expr
	T    types.Type
	Span lang.Span // the source text, for errors while it runs
}

// If is if Cond then Then else Else; a NULL condition takes Else.
type If struct {
	Cond, Then, Else Expr
	T                types.Type
}

// Type returns the column's type.
func (e *ColRef) Type() types.Type { return e.T }

// Type returns the constant's type.
func (e *Const) Type() types.Type { return e.T }

// Type returns the result type.
func (e *Unary) Type() types.Type { return e.T }

// Type returns the result type.
func (e *Binary) Type() types.Type { return e.T }

// Type returns bool.
func (e *IsNull) Type() types.Type { return types.Of(types.Bool) }

// Type returns the function's result type.
func (e *Call) Type() types.Type { return e.T }

// Type returns the result type.
func (e *If) Type() types.Type { return e.T }

// Cast converts X to type T with stdlib.Cast: a written cast, or a
// number widened where the checker makes two types agree (int4 to
// numeric where two sides of a join key or a union disagree), also
// inside an array or record.
type Cast struct {
	X    Expr
	T    types.Type
	Span lang.Span // the source text, for errors while it runs
}

// Type returns the target type.
func (e *Cast) Type() types.Type { return e.T }

// Record builds a record value, one field per expression; its type is a
// record type.
type Record struct {
	Fields []Expr
	T      types.Type
}

// Type returns the record type.
func (e *Record) Type() types.Type { return e.T }

// FieldRef reads field Index, named Name, of the record X; it is NULL
// when X is.
type FieldRef struct {
	X     Expr
	Index int
	Name  string
	T     types.Type
}

// Type returns the field's type, nullable when the record is.
func (e *FieldRef) Type() types.Type { return e.T }

// Let evaluates X, binds it to local slot Slot, and evaluates Body, in
// which Local{Slot} reads the value. Slots are numbered from the
// outermost binding of an expression (or, in a function body, after the
// parameters), so an evaluation needs as many slots as the deepest
// nesting of bindings.
type Let struct {
	Slot int
	Name string
	X    Expr
	Body Expr
}

// Type returns the body's type.
func (e *Let) Type() types.Type { return e.Body.Type() }

// Local reads local slot Slot: a let binding or a function parameter.
type Local struct {
	Slot int
	Name string
	T    types.Type
}

// Type returns the bound value's type.
func (e *Local) Type() types.Type { return e.T }

// FuncCall calls a user-defined function. Args have the parameters'
// types already (the checker casts them). Where NullIf[i] is set, a NULL
// argument i was given for a non-null parameter: the call is then NULL
// without evaluating the body.
type FuncCall struct {
	Func   *Function
	Args   []Expr
	NullIf []bool
	T      types.Type
	Span   lang.Span // the source text, for errors while it runs
}

// Type returns the function's result type, nullable when a NullIf
// argument is.
func (e *FuncCall) Type() types.Type { return e.T }

// UsesClock reports whether x reads the runtime's clock (calls now(),
// directly or through a user-defined function): its value can change
// from step to step with no change to its row.
func UsesClock(x Expr) bool {
	found := false
	Walk(x, func(e Expr) {
		switch e := e.(type) {
		case *Call:
			found = found || e.Func.Clock
		case *FuncCall:
			found = found || UsesClock(e.Func.Body)
		}
	})
	return found
}

// Walk calls f on x and every sub-expression of x, not entering the
// bodies of user-defined functions.
func Walk(x Expr, f func(Expr)) {
	f(x)
	for _, c := range subExprs(x) {
		Walk(c, f)
	}
}

// subExprs returns the expressions x reads directly, in order; not the
// body of a user-defined function it calls.
func subExprs(x Expr) []Expr {
	switch x := x.(type) {
	case *Unary:
		return []Expr{x.X}
	case *Binary:
		return []Expr{x.X, x.Y}
	case *IsNull:
		return []Expr{x.X}
	case *Call:
		return x.Args
	case *FuncCall:
		return x.Args
	case *If:
		return []Expr{x.Cond, x.Then, x.Else}
	case *Cast:
		return []Expr{x.X}
	case *Let:
		return []Expr{x.X, x.Body}
	case *Record:
		return x.Fields
	case *FieldRef:
		return []Expr{x.X}
	}
	return nil
}

// SpanOf returns the source text an expression was checked from: set on
// the expressions that can fail while a program runs (arithmetic,
// negation, casts, calls), zero on the others.
func SpanOf(x Expr) lang.Span {
	if p := spanField(x); p != nil {
		return *p
	}
	return lang.Span{}
}

// spanField returns where x keeps its span, nil when it keeps none.
func spanField(x Expr) *lang.Span {
	switch x := x.(type) {
	case *Unary:
		return &x.Span
	case *Binary:
		return &x.Span
	case *Call:
		return &x.Span
	case *Cast:
		return &x.Span
	case *FuncCall:
		return &x.Span
	}
	return nil
}

// place gives x, and every expression below it that has no span yet,
// the span sp. The checker calls it on the result of each expression
// the user wrote, innermost first, so what it made up on its own (a
// widening cast, the coalesce of ??, the == of a case) takes the span
// of the smallest written expression around it. It stops at an
// expression already placed: everything below it was placed before.
func place(x Expr, sp lang.Span) {
	if p := spanField(x); p != nil {
		if !p.IsZero() {
			return
		}
		*p = sp
	}
	for _, c := range subExprs(x) {
		place(c, sp)
	}
}

// FrameSize is the number of local slots an evaluation of x needs: one
// more than the largest slot it binds or reads.
func FrameSize(x Expr) int {
	n := 0
	Walk(x, func(e Expr) {
		switch e := e.(type) {
		case *Let:
			n = max(n, e.Slot+1)
		case *Local:
			n = max(n, e.Slot+1)
		}
	})
	return n
}
