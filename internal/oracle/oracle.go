// Package oracle is a reference evaluator for checked programs, used by
// tests to check the incremental runtime.
//
// Eval computes every view's full contents from the full contents of the
// tables by walking the typed relational tree of package typecheck
// directly: a nested-loop join of every kind, grouping in a map with each
// aggregate computed from the group's rows, and so on. It is deliberately simple and
// not incremental; nothing here is shared with package runtime except the
// compilation of per-row expressions (ir.Compile), since expressions are
// not what the oracle checks.
//
// The oracle does not own any state and does not check table contents
// against their declarations (primary keys, nullability): it evaluates
// whatever Z-sets it is given.
package oracle

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Eval computes the contents of every view of prog, keyed by view name,
// given the contents of its tables keyed by table name. A table missing
// from tables is empty. Eval does not modify the given Z-sets, and the
// returned Z-sets share no state with them beyond rows, which are never
// mutated.
//
// It fails when an expression fails on some row (a division by zero, say)
// or when a group's input holds a row of negative weight, for which
// aggregates have no meaning.
func Eval(prog *typecheck.Program, tables map[string]*zset.ZSet) (map[string]*zset.ZSet, error) {
	return EvalAt(prog, tables, time.Time{})
}

// EvalAt is Eval with the clock at now: every now() of the program is now,
// as in the runtime's step at time now. (Eval evaluates now() as the zero
// time.)
func EvalAt(prog *typecheck.Program, tables map[string]*zset.ZSet, now time.Time) (map[string]*zset.ZSet, error) {
	e := &evaluator{tables: tables, views: map[*typecheck.View]*zset.ZSet{}, now: now.UTC().Round(time.Microsecond)}
	out := map[string]*zset.ZSet{}
	for _, v := range prog.Views {
		z, err := e.rel(v.Query)
		if err != nil {
			return nil, fmt.Errorf("oracle: view %s: %w", v.Name, err)
		}
		e.views[v] = z
		out[v.Name] = z
	}
	return out, nil
}

type evaluator struct {
	tables map[string]*zset.ZSet
	views  map[*typecheck.View]*zset.ZSet
	rec    *zset.ZSet // the recursive view's rows in the iteration being evaluated
	now    time.Time
}

func (e *evaluator) rel(r typecheck.Rel) (*zset.ZSet, error) {
	switch r := r.(type) {
	case *typecheck.Scan:
		if t, ok := e.tables[r.Table.Name]; ok && t != nil {
			return t.Clone(), nil
		}
		return zset.New(), nil
	case *typecheck.ViewRef:
		z, ok := e.views[r.View]
		if !ok {
			return nil, fmt.Errorf("view %s is read before it is computed", r.View.Name)
		}
		return z.Clone(), nil
	case *typecheck.Values:
		out := zset.New()
		for _, exprs := range r.Rows {
			row, err := evalAll(e.compileAll(exprs), nil)
			if err != nil {
				return nil, err
			}
			out.Add(row, 1)
		}
		return out, nil
	case *typecheck.Filter:
		return e.filter(r)
	case *typecheck.Project:
		in, err := e.rel(r.In)
		if err != nil {
			return nil, err
		}
		return project(in, e.compileAll(r.Exprs))
	case *typecheck.Flatten:
		return e.flatten(r)
	case *typecheck.Join:
		return e.join(r)
	case *typecheck.Group:
		return e.group(r)
	case *typecheck.Distinct:
		in, err := e.rel(r.In)
		if err != nil {
			return nil, err
		}
		return in.Distinct(), nil
	case *typecheck.Union:
		left, err := e.rel(r.Left)
		if err != nil {
			return nil, err
		}
		right, err := e.rel(r.Right)
		if err != nil {
			return nil, err
		}
		sum := left.Plus(right)
		if r.All {
			return sum, nil
		}
		return sum.Distinct(), nil
	case *typecheck.SetOp:
		return e.setOp(r)
	case *typecheck.Top:
		return e.top(r)
	case *typecheck.Window:
		return e.window(r)
	case *typecheck.Session:
		return e.session(r)
	case *typecheck.Fixpoint:
		return e.fixpoint(r)
	case *typecheck.RecRef:
		if e.rec == nil {
			return nil, fmt.Errorf("recursive reference to %s outside its fixpoint", r.Name)
		}
		return e.rec.Clone(), nil
	}
	return nil, fmt.Errorf("unknown relation %T", r)
}

// compileAll compiles expressions with now() the evaluator's clock.
func (e *evaluator) compileAll(es []typecheck.Expr) []ir.Scalar {
	out := make([]ir.Scalar, len(es))
	for i, x := range es {
		out[i] = ir.CompileAt(x, e.now)
	}
	return out
}

// flatten gives, for each row, one row per element of its array (none
// for NULL or an empty array), with the row's weight.
func (e *evaluator) flatten(r *typecheck.Flatten) (*zset.ZSet, error) {
	in, err := e.rel(r.In)
	if err != nil {
		return nil, err
	}
	elem := ir.CompileAt(r.Elem, e.now)
	out := zset.New()
	for _, en := range in.Entries() {
		v, err := elem.Eval(en.Row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		for _, x := range v.([]any) {
			out.Add(append(append(zset.Row{}, en.Row...), x), en.Weight)
		}
	}
	return out, nil
}

// evalAll evaluates each expression over row.
func evalAll(ss []ir.Scalar, row zset.Row) (zset.Row, error) {
	out := make(zset.Row, len(ss))
	for i, s := range ss {
		v, err := s.Eval(row)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (e *evaluator) filter(r *typecheck.Filter) (*zset.ZSet, error) {
	in, err := e.rel(r.In)
	if err != nil {
		return nil, err
	}
	cond := ir.CompileAt(r.Cond, e.now)
	out := zset.New()
	for _, en := range in.Entries() {
		v, err := cond.Eval(en.Row)
		if err != nil {
			return nil, err
		}
		if v == true {
			out.Add(en.Row, en.Weight)
		}
	}
	return out, nil
}

func project(in *zset.ZSet, exprs []ir.Scalar) (*zset.ZSet, error) {
	out := zset.New()
	for _, en := range in.Entries() {
		row, err := evalAll(exprs, en.Row)
		if err != nil {
			return nil, err
		}
		out.Add(row, en.Weight)
	}
	return out, nil
}

// join is the nested-loop join. A pair of rows matches when their keys
// are equal and free of NULLs and the condition, if any, is true. Inner,
// outer and cross joins give every matching pair with the product of the
// rows' weights; outer joins add each row of a preserved side that matches
// nothing, padded with NULLs, with its own weight. Semi and anti joins
// give each left row with its own weight when some row (none) matches.
func (e *evaluator) join(r *typecheck.Join) (*zset.ZSet, error) {
	left, err := e.rel(r.Left)
	if err != nil {
		return nil, err
	}
	right, err := e.rel(r.Right)
	if err != nil {
		return nil, err
	}
	lk, rk := e.compileAll(r.LeftKeys), e.compileAll(r.RightKeys)
	var cond *ir.Scalar
	if r.Cond != nil {
		c := ir.CompileAt(r.Cond, e.now)
		cond = &c
	}
	type keyedRow struct {
		key zset.Row
		zset.Entry
	}
	keyRows := func(z *zset.ZSet, key []ir.Scalar) ([]keyedRow, error) {
		var out []keyedRow
		for _, en := range z.Entries() {
			k, err := evalAll(key, en.Row)
			if err != nil {
				return nil, err
			}
			out = append(out, keyedRow{k, en})
		}
		return out, nil
	}
	ls, err := keyRows(left, lk)
	if err != nil {
		return nil, err
	}
	rs, err := keyRows(right, rk)
	if err != nil {
		return nil, err
	}
	pairs := r.Kind != typecheck.SemiJoin && r.Kind != typecheck.AntiJoin
	rightMatched := make([]bool, len(rs))
	out := zset.New()
	for _, l := range ls {
		matched := false
		for j, rr := range rs {
			if !keysMatch(l.key, rr.key) {
				continue
			}
			row := append(append(zset.Row{}, l.Row...), rr.Row...)
			if cond != nil {
				v, err := cond.Eval(row)
				if err != nil {
					return nil, err
				}
				if v != true {
					continue
				}
			}
			matched, rightMatched[j] = true, true
			if pairs {
				out.Add(row, l.Weight*rr.Weight)
			}
		}
		switch {
		case r.Kind == typecheck.SemiJoin && matched, r.Kind == typecheck.AntiJoin && !matched:
			out.Add(l.Row, l.Weight)
		case r.Kind.PreservesLeft() && !matched:
			out.Add(append(append(zset.Row{}, l.Row...), make(zset.Row, len(r.Right.Cols()))...), l.Weight)
		}
	}
	if r.Kind.PreservesRight() {
		for j, rr := range rs {
			if !rightMatched[j] {
				out.Add(append(make(zset.Row, len(r.Left.Cols())), rr.Row...), rr.Weight)
			}
		}
	}
	return out, nil
}

// keysMatch reports whether two join keys are equal, NULL equal to
// nothing.
func keysMatch(a, b zset.Row) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil || types.Compare(a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}

// group is one group of a Group: its key and its rows.
type group struct {
	key  zset.Row
	rows []zset.Entry
}

func (e *evaluator) group(r *typecheck.Group) (*zset.ZSet, error) {
	in, err := e.rel(r.In)
	if err != nil {
		return nil, err
	}
	keys := e.compileAll(r.Keys)
	var order []string
	groups := map[string]*group{}
	for _, en := range in.Entries() {
		if en.Weight < 0 {
			return nil, fmt.Errorf("group input holds a row of negative weight %d", en.Weight)
		}
		k, err := evalAll(keys, en.Row)
		if err != nil {
			return nil, err
		}
		ks := types.KeyOf(k)
		g, ok := groups[ks]
		if !ok {
			g = &group{key: k}
			groups[ks] = g
			order = append(order, ks)
		}
		// Equal keys may be spelled differently (1.5, 1.50): the group
		// shows the first spelling in order of written form.
		if types.RowKey(k) < types.RowKey(g.key) {
			g.key = k
		}
		g.rows = append(g.rows, en)
	}
	if len(r.Keys) == 0 && len(order) == 0 {
		// A group without keys has its row even over no rows, as in SQL.
		groups[""], order = &group{key: zset.Row{}}, []string{""}
	}
	var outExprs []ir.Scalar
	if r.Out != nil {
		outExprs = e.compileAll(r.Out)
	}
	out := zset.New()
	for _, ks := range order {
		g := groups[ks]
		row := append(zset.Row{}, g.key...)
		for _, a := range r.Aggs {
			if len(g.rows) == 0 { // SQL's aggregates over no rows
				var v any
				if a.Name == "count" {
					v = int64(0)
				}
				row = append(row, v)
				continue
			}
			v, err := e.aggregate(a, g.rows)
			if err != nil {
				return nil, err
			}
			row = append(row, v)
		}
		if outExprs != nil {
			if row, err = evalAll(outExprs, row); err != nil {
				return nil, err
			}
		}
		out.Add(row, 1)
	}
	return out, nil
}

// weighted is an aggregate's argument in one row, with the row's weight.
type weighted struct {
	v any
	w int64
}

// aggregate computes one aggregate over a group's rows, each counted as
// many times as its weight. The aggregate's stdlib Aggregator computes
// the result, as it does in the runtime; what the oracle does itself,
// from scratch, is what the runtime keeps incrementally: it folds every
// row into a fresh linear state, and builds the multiset the aggregator
// reads by sorting the rows' values or items anew.
func (e *evaluator) aggregate(a typecheck.AggCall, rows []zset.Entry) (any, error) {
	call := stdlib.AggCall{Distinct: a.Distinct, OrderBy: len(a.OrderBy), Result: a.Type}
	for _, x := range a.Args {
		call.Args = append(call.Args, x.Type())
	}
	impl, err := stdlib.Bind(a.Name, call)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, r := range rows {
		total += r.Weight
	}
	if len(a.Args) == 0 { // count()
		return impl.Result(stdlib.Linear{}, nil, total), nil
	}
	if impl.Shape() == stdlib.ByItem {
		return orderedAggregate(a, impl, rows, total)
	}
	arg := ir.CompileAt(a.Args[0], e.now)
	lin := stdlib.Linear{Sum: impl.Init()}
	var vals []weighted
	for _, r := range rows {
		v, err := arg.Eval(r.Row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		lin.N += r.Weight
		if impl.Shape() == stdlib.NoMultiset {
			impl.Add(&lin, v, r.Weight)
		} else {
			vals = append(vals, weighted{v, r.Weight})
		}
	}
	var m stdlib.Multiset
	switch impl.Shape() {
	case stdlib.ByValue:
		m = valueSet(vals, func(v any) string { return types.KeyOf([]any{v}) })
	case stdlib.BySpelling:
		m = valueSet(vals, func(v any) string { return types.RowKey([]any{v}) })
	}
	return impl.Result(lin, m, total), nil
}

// valueSet is the multiset of the values of positive total weight, those
// with one id counted together, ordered by value and equal values by
// their written form.
func valueSet(vals []weighted, id func(any) string) sliceMultiset {
	at := map[string]int{}
	var set sliceMultiset
	for _, x := range vals {
		k := id(x.v)
		i, ok := at[k]
		if !ok {
			i = len(set)
			at[k] = i
			set = append(set, weighted{v: x.v})
		}
		set[i].w += x.w
	}
	set = slices.DeleteFunc(set, func(x weighted) bool { return x.w <= 0 })
	slices.SortFunc(set, func(x, y weighted) int {
		if c := types.Compare(x.v, y.v); c != 0 {
			return c
		}
		return strings.Compare(types.RowKey([]any{x.v}), types.RowKey([]any{y.v}))
	})
	return set
}

// sliceMultiset is a multiset as a sorted list.
type sliceMultiset []weighted

func (m sliceMultiset) Len() int { return len(m) }

func (m sliceMultiset) Ascend(yield func(v any, n int64) bool) {
	for _, x := range m {
		if !yield(x.v, x.w) {
			return
		}
	}
}

func (m sliceMultiset) Descend(yield func(v any, n int64) bool) {
	for i := len(m) - 1; i >= 0; i-- {
		if !yield(m[i].v, m[i].w) {
			return
		}
	}
}

// sortable is one row of an ordered aggregate: its order keys, its value
// and its separator (string_agg), repeated as many times as its weight.
type sortable struct {
	keys []any
	v    any
	sep  any
}

// orderedAggregate lists the group's rows in the aggregate's order, as
// items (order keys, value, separator) for the aggregator to read its
// result off: the whole list for array_agg, its non-NULL values joined
// for string_agg, its first or last value.
//
// The order is the one spec.md defines: by each order key (ascending
// unless desc; NULL after every value ascending, before every value
// descending), then by the value and the separator ascending with NULL
// last, then by the text of each of those values, which tells apart
// values equal as numbers but spelled differently.
func orderedAggregate(a typecheck.AggCall, impl stdlib.Aggregator, rows []zset.Entry, total int64) (any, error) {
	arg := ir.Compile(a.Args[0])
	var sep *ir.Scalar
	if len(a.Args) > 1 {
		s := ir.Compile(a.Args[1])
		sep = &s
	}
	keys := make([]ir.Scalar, len(a.OrderBy))
	for i, k := range a.OrderBy {
		keys[i] = ir.Compile(k.X)
	}
	var list []sortable
	var lin stdlib.Linear
	for _, r := range rows {
		var s sortable
		var err error
		if s.v, err = arg.Eval(r.Row); err != nil {
			return nil, err
		}
		if sep != nil {
			if s.sep, err = sep.Eval(r.Row); err != nil {
				return nil, err
			}
		}
		if s.keys, err = evalAll(keys, r.Row); err != nil {
			return nil, err
		}
		if s.v == nil && !impl.KeepsNull() {
			continue
		}
		if s.v != nil {
			lin.N += r.Weight
		}
		for range r.Weight {
			list = append(list, s)
		}
	}
	slices.SortStableFunc(list, func(x, y sortable) int { return compareSortable(x, y, a) })
	items := make(sliceMultiset, len(list))
	for i, s := range list {
		item := append(append([]any{}, s.keys...), s.v)
		if sep != nil {
			item = append(item, s.sep)
		}
		items[i] = weighted{item, 1}
	}
	return impl.Result(lin, items, total), nil
}

func compareSortable(x, y sortable, a typecheck.AggCall) int {
	if c := compareKeys(a.OrderBy, x.keys, y.keys); c != 0 {
		return c
	}
	if c := nullsLast(x.v, y.v); c != 0 {
		return c
	}
	if c := nullsLast(x.sep, y.sep); c != 0 {
		return c
	}
	all := func(s sortable) string {
		return types.RowKey(append(append([]any{}, s.keys...), s.v, s.sep))
	}
	return strings.Compare(all(x), all(y))
}

// compareKeys orders two tuples of order-key values by the keys of by:
// each ascending with NULL last, or descending with NULL first.
func compareKeys(by []typecheck.OrderKey, x, y []any) int {
	for i, k := range by {
		c := nullsLast(x[i], y[i])
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// nullsLast orders two values with NULL after every other.
func nullsLast(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return types.Compare(a, b)
}
