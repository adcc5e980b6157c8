package ir

import (
	"github.com/stepping-io/stepping/stdlib"
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
}

// Op is what a node computes: *Source, *Constant, *Filter, *Map, *Sum,
// *Integrate, *Delay, *Join, *SemiJoin, *Distinct or *Aggregate.
type Op interface {
	// Name is the operator's name in explain output.
	Name() string
}

// Source emits the changes given to an input table this step.
type Source struct{ Table string }

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
	// Name is count, sum, avg, min, max, bool_and, bool_or, array_agg,
	// string_agg, first or last.
	Name     string
	Arg      *Scalar // the first argument; nil for count()
	Sep      *Scalar // string_agg's separator
	Distinct bool    // count(distinct x)
	OrderBy  []OrderKey
	Type     types.Type
}

// OrderKey is one key of an ordered aggregate.
type OrderKey struct {
	Key  Scalar
	Desc bool
}

// Ordered reports whether the aggregate's result depends on an order of
// the group's rows: array_agg, string_agg, first and last, which keep the
// rows' items (order keys, value, separator) in an ordered multiset.
func (a AggFunc) Ordered() bool {
	switch a.Name {
	case "array_agg", "string_agg", "first", "last":
		return true
	}
	return false
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

// Name returns "source".
func (*Source) Name() string { return "source" }

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

// Scalar is a compiled per-row expression.
type Scalar struct {
	Text string     // source-like rendering for explain
	Type types.Type // result type
	Eval func(row zset.Row) (any, error)
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
