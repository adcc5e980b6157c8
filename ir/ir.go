package ir

import (
	"errors"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Column is a named, typed column of a node's rows.
type Column struct {
	Name string
	Type types.Type
}

// Circuit is a lowered program: a DAG of nodes in topological order (every
// node comes after its inputs), plus the names that reach it.
type Circuit struct {
	Nodes   []*Node
	Inputs  []*Input  // one per table, in declaration order
	Views   []*View   // every view, in dependency order
	Outputs []*Output // the views the program outputs
	// Clock is the clock source when some view reads the clock (calls
	// now()), nil otherwise. Its output each step is the clock's change.
	Clock *Node
}

// Input is a table whose changes the runtime is given.
type Input struct {
	Name       string
	Columns    []Column
	PrimaryKey []int
	Node       *Node
	// Postgres is the existing table a source reads, nil for a table
	// declared in the program.
	Postgres *PostgresTable
	// Watermark is the table's declared watermark; nil when none is.
	Watermark *Watermark
}

// PostgresTable names a table in the database.
type PostgresTable struct {
	Schema string // empty: the connection's search_path decides
	Name   string
}

// View is a named query and the node computing its changes.
type View struct {
	Name    string
	Columns []Column
	Node    *Node
}

// Output materialises a view (in memory, or as a Postgres table).
type Output struct {
	View       *View
	Table      []string // target table name parts; nil when not given
	Indexes    [][]int
	PrimaryKey []int
}

// Node is one operator of the circuit. Its output each step is a Z-set
// of changes to rows with columns Cols.
type Node struct {
	ID     int
	Op     Op
	Inputs []*Node
	Cols   []Column
	// Span is the declaration the node computes part of: the name of its
	// view, or of its table for a source. An operator that fails other
	// than in an expression (which has a span of its own) points there.
	// Like every span it is left out of Explain and Fingerprint: moving
	// text around changes no circuit.
	Span lang.Span
}

// Op is what a node computes: *Source, *Clock, *Constant, *Filter, *Map,
// *FlatMap, *TemporalFilter, *Sum, *Integrate, *OrderedIntegrate, *Delay,
// *Join, *SemiJoin, *Distinct, *Aggregate, *SetOp, *TopK, *Window, *Fixpoint,
// *Recurse or *Import.
type Op interface {
	// Name is the operator's name in explain output.
	Name() string
}

// Source emits the changes given to an input table this step.
type Source struct{ Table string }

// Clock is the runtime's clock as a relation of one row, one column (the
// time, a timestamptz). Each step the runtime gives the time of the step;
// when it differs from the time of the previous step, the node emits the
// retraction of the old row and the insertion of the new (the first step,
// only the insertion). The previous time is read from State, the index of
// the Integrate node that integrates the clock.
type Clock struct{ State int }

// FlatMap replaces each row by one row per element of the array Elem
// evaluates to: the row followed by the element. Linear.
type FlatMap struct{ Elem Scalar }

// Bound is one conjunct of a TemporalFilter, Row Op Clock with Op a
// comparison (lang.Eq to lang.Ge): Row reads the row only (converted to
// the type both sides compare in), Clock reads the clock only (it is
// evaluated over a row holding the clock alone). Input is the
// TemporalFilter's input holding the integral ordered by Row; bounds on
// the same Row share one.
type Bound struct {
	Op         lang.Op
	Row, Clock Scalar
	Input      int
	// rising says that Clock never decreases as the clock moves on:
	// now() moved by constant intervals, or rounded down. Clock
	// determines it, so the fingerprint leaves it out.
	rising bool
}

// Rising reports whether the bound's clock side never decreases as the
// clock moves on.
func (b Bound) Rising() bool { return b.rising }

// TemporalFilter passes the rows for which Pred, a conjunction of Bounds,
// is true, where Pred reads the clock: it is evaluated over the row
// followed by the clock. Inputs: Δin, the clock source, then the delayed
// OrderedIntegrates of the input, one per distinct Row of the bounds.
//
// Its incremental form is that of a join with the one-row clock relation,
// Δout = σ_now(Δin) + σ_now(z⁻¹ I in) − σ_before(z⁻¹ I in); but a row's
// truth can change with the clock only if, for some bound, its Row value
// lies between the bound's Clock values before and now. So when the clock
// moves, the operator reads only those rows, by a range scan of each
// bound's ordered integral, rather than every row.
type TemporalFilter struct {
	Pred   Scalar
	Bounds []Bound
}

// OrderedIntegrate accumulates its input's changes into a Z-set ordered
// by Key (a value with an order key, types.OrderKey), which its consumer
// reads by ranges of Key. Rows whose Key is NULL are not kept.
type OrderedIntegrate struct{ Key Scalar }

// Constant emits its rows in the first step and nothing after: the
// changes of a relation that never changes.
type Constant struct{ Rows *zset.ZSet }

// Filter passes the rows for which Pred is true. Linear.
type Filter struct{ Pred Scalar }

// Map replaces each row by Exprs evaluated over it. Linear.
type Map struct{ Exprs []Scalar }

// Sum adds its inputs' changes (union all). Linear.
type Sum struct{}

// Integrate accumulates its input's changes into a Z-set indexed by Key:
// its value after a step is the sum of all changes so far. The runtime
// keeps it as operator state.
type Integrate struct{ Key []Scalar }

// Delay outputs its input's value as of the previous step (z⁻¹). In a
// circuit it only ever delays an Integrate, so it reads the integral
// before this step's changes are added.
type Delay struct{}

// Join is the incremental inner equi-join. Inputs: Δleft, Δright,
// z⁻¹(I left), z⁻¹(I right), the integrals indexed by LeftKey and
// RightKey. Output rows are the left row followed by the right row.
// Without keys it is the cross join: every row's key is empty.
type Join struct {
	LeftKey, RightKey []Scalar
}

// SemiJoin is the incremental semi-join, or with Anti the anti-join: it
// outputs each row of its left input that has at least one match in its
// right input (Anti: none), with the left row's own weight, however many
// rows it matches. A pair matches when LeftKey == RightKey, free of
// NULLs, and Cond, when not nil, is true. Outer joins use the anti-join
// for their unmatched rows.
//
// Inputs: Δleft, Δright, z⁻¹(I left) indexed by LeftKey, and z⁻¹ of the
// right side's integral indexed by RightKey. Without Cond that integral
// holds only the right rows' keys (a Map to RightKey): its weights are
// the match counts, and a change on the right touches the left integral
// only when a key's count crosses zero. With Cond it holds the right rows,
// since whether a pair matches depends on both rows.
type SemiJoin struct {
	Anti              bool
	LeftKey, RightKey []Scalar
	Cond              *Scalar
	// Swapped says that Cond reads the right row followed by the left
	// one: the anti-join giving a right join's unmatched right rows
	// evaluates the join's condition, written over left ++ right.
	Swapped bool
}

// Distinct is the incremental distinct. Inputs: Δin and z⁻¹(I in) indexed
// by the whole row; a row's output changes only when the sign of its
// integrated weight does.
type Distinct struct{}

// AggFunc is one aggregate of an Aggregate node.
type AggFunc struct {
	// Name is the name of a stdlib aggregate, whose Aggregator computes
	// it.
	Name     string
	Arg      *Scalar // the first argument; nil for count()
	Sep      *Scalar // string_agg's separator
	Distinct bool    // count(distinct x)
	OrderBy  []OrderKey
	Type     types.Type
}

// Ordered reports whether the aggregate's result depends on an order of
// the group's rows: array_agg, string_agg, first and last, which keep the
// rows' items (order keys, value, separator) in an ordered multiset.
func (a AggFunc) Ordered() bool {
	agg, ok := stdlib.Aggregates()[a.Name]
	return ok && agg.Ordered
}

// Aggregator returns the implementation of the aggregate, bound to its
// argument types.
func (a AggFunc) Aggregator() (stdlib.Aggregator, error) {
	c := stdlib.AggCall{Distinct: a.Distinct, OrderBy: len(a.OrderBy), Result: a.Type}
	for _, x := range []*Scalar{a.Arg, a.Sep} {
		if x != nil {
			c.Args = append(c.Args, x.Type)
		}
	}
	return stdlib.Bind(a.Name, c)
}

// Aggregate groups its input by Key and keeps per-group state: linear
// accumulators for count, sum, avg, bool_and and bool_or (weighted counts
// of true and of non-NULL values); for min, max and count(distinct) a
// multiset of the group's values ordered by value, so deleting the
// current minimum is correct; for array_agg, string_agg, first and last a
// multiset of items ordered by the order keys, then the value. Each step
// it re-emits only the groups that changed, as a retraction of the old
// row and an insertion of the new. Output rows are the key values
// followed by the aggregate values.
type Aggregate struct {
	Key  []Scalar
	Aggs []AggFunc
}

// SetOp is the incremental except or intersect, with or without all.
// Inputs: Δleft, Δright, and z⁻¹(I left) and z⁻¹(I right), each indexed
// by the whole row's equality class (types.KeyOf). Only the classes a
// change touches are looked up; for each, the result's rows before and
// after the change are computed from the class's weights on the two
// sides, and their difference emitted.
type SetOp struct {
	Op  lang.SetKind // lang.Except or lang.Intersect
	All bool
}

// OrderKey is one key of an ordering (an ordered aggregate's, or top's):
// ascending with NULLs last, or descending with NULLs first.
type OrderKey struct {
	Key  Scalar
	Desc bool
}

// TopK keeps, per group of equal Per values, the first N rows in the
// order of By, ties broken by the whole row ascending (NULLs last) and
// then by the row's identity. Its state, per group, is the ordered
// multiset of the group's rows; a step re-ranks only the groups its
// changes touch and emits the difference of each one's first N rows.
type TopK struct {
	N   int64
	By  []OrderKey
	Per []Scalar
}

// Window adds to each row, per group of equal Per values in the order of
// By (ties broken as TopK breaks them), each of Funcs: its Arg at the
// row before (lag) or after (lead), NULL where there is none, or the
// row's place (row_number, and rank and dense_rank, whose ties are rows
// equal in By). Its state, per group, is the ordered multiset of the
// group's rows, as TopK's; a change emits the rows it changes and those
// next to them, whose lag or lead it changes, or, with a place, the
// group's rows whose output it changes.
type Window struct {
	By    []OrderKey
	Per   []Scalar
	Funcs []WindowFunc
}

// Session gives each row, per group of equal Per values, its session
// window: rows whose times (Time) follow one another by less than Gap
// are one session, from the first one's time to the last one's plus Gap;
// each row gets the session's start and end. Its state, per group, is
// the group's rows ordered by time (as TopK's); a change emits the rows
// of the sessions it changes, before and after.
type Session struct {
	Time Scalar
	Gap  types.IntervalValue
	Per  []Scalar
}

// Stamp adds to each row the time it arrived: the time of the step that
// inserted it. Its state is each row's arrival times, indexed by the
// row (a table _index_N on Postgres, as an Integrate's); a deletion
// retracts the copies of the row that arrived last.
type Stamp struct{}

// WindowFunc is one function of a Window: "lag" or "lead" of Arg;
// "row_number", "rank" or "dense_rank" (without Arg); or "count", "sum"
// or "avg" of Arg over the row and the Frame rows before it.
type WindowFunc struct {
	Name string
	Arg  Scalar
	// Frame and Type are, for an aggregate over the rows before ("count",
	// "sum" or "avg"), how many rows it takes with the row and its
	// result's type.
	Frame int
	Type  types.Type
}

// Positional reports whether the function gives a row's place, which a
// change moves for every row after it.
func (f WindowFunc) Positional() bool { return f.Name != "lag" && f.Name != "lead" }

// Aggregate reports whether the function aggregates a frame of rows.
func (f WindowFunc) Aggregate() bool {
	return f.Name == "count" || f.Name == "sum" || f.Name == "avg"
}

// Fixpoint computes a recursive view: the least set V with
// V = distinct(base + body(V)), where the body is a nested circuit
// (Body, in order) whose Recurse node reads V's changes and whose Out
// node gives the changes of body(V). Its input is the base. The body
// holds only linear operators and joins, so it is monotone, and its
// state is always exactly its integrated inputs.
//
// Within a step the body runs as many iterations as the fixpoint needs,
// semi-naively: each feeds back only the rows that changed in the last.
// Deletions are maintained by DRed (delete and re-derive): every row
// with a derivation that used a deleted row is deleted first, then
// those still derivable and every new row are derived again. The
// Fixpoint's own state is the support of each row, the weight of
// base + body(V), indexed by the row's equality class.
type Fixpoint struct {
	View string
	Body []*Node
	Rec  *Node // the body's Recurse node
	Out  *Node // the body node whose rows are body(V)
}

// Recurse is the recursive view read inside its fixpoint's body: each
// iteration it emits the changes to the view fed back to it.
type Recurse struct{ View string }

// Import brings an outer node (its input) into a fixpoint's body: it
// emits that node's changes in the iterations of a step that take them.
type Import struct{}

// Name returns "source".
func (*Source) Name() string { return "source" }

// Name returns "clock".
func (*Clock) Name() string { return "clock" }

// Name returns "flatmap".
func (*FlatMap) Name() string { return "flatmap" }

// Name returns "temporal-filter".
func (*TemporalFilter) Name() string { return "temporal-filter" }

// Name returns "integrate-ordered".
func (*OrderedIntegrate) Name() string { return "integrate-ordered" }

// Name returns "constant".
func (*Constant) Name() string { return "constant" }

// Name returns "filter".
func (*Filter) Name() string { return "filter" }

// Name returns "map".
func (*Map) Name() string { return "map" }

// Name returns "sum".
func (*Sum) Name() string { return "sum" }

// Name returns "integrate".
func (*Integrate) Name() string { return "integrate" }

// Name returns "delay".
func (*Delay) Name() string { return "delay" }

// Name returns "join".
func (*Join) Name() string { return "join" }

// Name returns "semijoin", or "antijoin" for an anti-join.
func (j *SemiJoin) Name() string {
	if j.Anti {
		return "antijoin"
	}
	return "semijoin"
}

// Name returns "distinct".
func (*Distinct) Name() string { return "distinct" }

// Name returns "aggregate".
func (*Aggregate) Name() string { return "aggregate" }

// Name returns "except" or "intersect", with " all" when it is.
func (op *SetOp) Name() string {
	if op.All {
		return op.Op.String() + " all"
	}
	return op.Op.String()
}

// Name returns "top".
func (*TopK) Name() string { return "top" }

// Name returns "window".
func (*Window) Name() string { return "window" }

// Name returns "stamp".
func (*Stamp) Name() string { return "stamp" }

// Name returns "session".
func (*Session) Name() string { return "session" }

// Name returns "fixpoint".
func (*Fixpoint) Name() string { return "fixpoint" }

// Name returns "recurse".
func (*Recurse) Name() string { return "recurse" }

// Name returns "import".
func (*Import) Name() string { return "import" }

// Scalar is a compiled per-row expression.
type Scalar struct {
	Text string // source-like rendering for explain
	// Canon is the complete rendering the circuit's Fingerprint is made
	// of: every part typed, function calls with their bodies.
	Canon string
	Type  types.Type // result type
	// Eval evaluates the expression over a row. Its error, when a part
	// of the expression fails on the row, is an *EvalError holding the
	// span of the innermost part that failed. EvalIn evaluates without
	// it an expression that needs a frame (FrameSize > 0): replacing
	// Eval does not change what EvalIn gives for one.
	Eval func(row zset.Row) (any, error)
	// Scaled, when not nil, evaluates a numeric expression to its
	// decimal's coefficient and exponent without making the decimal:
	// a sum adds them in int64 (see ScaledFunc).
	Scaled ScaledFunc
	// Span is the source text of the whole expression; zero for one the
	// compiler made up (a key of the whole row).
	Span lang.Span
	// Expr is the checked expression the Scalar was compiled from, for a
	// backend that translates expressions into its own language (the
	// Postgres store computes a backfill's aggregates in SQL); nil when
	// the expression reads the clock, which only Eval knows.
	Expr typecheck.Expr
	// col is 1 + the index of the column the expression reads as it is,
	// when it is a plain column reference; 0 otherwise. Not part of the
	// fingerprint, which Canon already determines.
	col int
	// evalIn is Eval in a frame of frame slots its caller lends (see
	// EvalIn); nil when Eval alone evaluates, as for a Scalar made by
	// hand or whose Eval was wrapped.
	evalIn func(row zset.Row, frame []any) (any, error)
	frame  int
}

// FrameSize is the number of slots of the frame EvalIn needs; 0 when it
// needs none.
func (s *Scalar) FrameSize() int {
	if s.evalIn == nil {
		return 0
	}
	return s.frame
}

// EvalIn is Eval, with frame, of FrameSize slots at least, lent for the
// values the evaluation keeps meanwhile (its calls' arguments, its
// locals) rather than a frame of Eval's own. A caller that evaluates
// rows one after the other lends them all the same frame: an evaluation
// writes every slot it reads first. The frame must be the caller's
// alone meanwhile, and when the caller is done with it, it still holds
// values of the last row.
func (s *Scalar) EvalIn(row zset.Row, frame []any) (any, error) {
	if s.FrameSize() == 0 {
		return s.Eval(row)
	}
	return s.evalIn(row, frame)
}

// Column reports whether the expression is a plain reference to a column
// of its input row, and which: its value is that column's, unchanged.
func (s Scalar) Column() (index int, ok bool) { return s.col - 1, s.col > 0 }

// EvalError is an expression that failed on a row (a division by zero,
// a cast of text that does not parse, a function given a value it does
// not take): Err is why, Span the source text of the innermost part of
// the expression that failed, so that the error can be shown in the
// source as a type error is.
type EvalError struct {
	Span lang.Span
	Err  error
}

// Error returns "file:line:col: message".
func (e *EvalError) Error() string { return e.Span.String() + ": " + e.Err.Error() }

// Unwrap returns the cause, so that errors.Is and errors.As see it.
func (e *EvalError) Unwrap() error { return e.Err }

// Diagnostic returns the error as a positioned diagnostic, printed with
// the source line and a caret by lang.Error.Format.
func (e *EvalError) Diagnostic() *lang.Error { return e.Span.Error(e.Err.Error()) }

// at returns err placed at span: unchanged when it is nil or already
// placed (a part inside failed first), or when span is unknown.
func at(span lang.Span, err error) error {
	if err == nil {
		return nil // before placed, whose address escapes: no allocation per row
	}
	return placeAt(span, err)
}

func placeAt(span lang.Span, err error) error {
	var placed *EvalError
	if span.IsZero() || errors.As(err, &placed) {
		return err
	}
	return &EvalError{Span: span, Err: err}
}

// EvalKey evaluates key expressions over a row into a key row. It reports
// hasNull when any key value is NULL, since NULL keys never join.
func EvalKey(key []Scalar, row zset.Row) (k zset.Row, hasNull bool, err error) {
	k = make(zset.Row, len(key))
	for i, s := range key {
		v, err := s.Eval(row)
		if err != nil {
			return nil, false, err
		}
		hasNull = hasNull || v == nil
		k[i] = v
	}
	return k, hasNull, nil
}

// aggregateNames keeps the checker's aggregates and the IR's in step.
var _ = stdlib.Aggregates
