package typecheck

import (
	"fmt"
	"strings"

	"github.com/stepping-io/stepping/internal/suggest"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// binding is one named relation visible in a pipeline's rows: its columns
// sit at offset.. in the row.
type binding struct {
	alias  string
	offset int
	cols   []Column
}

// scope is what names an expression of a pipeline stage can see.
type scope struct {
	bindings []binding
	// hidden are the right sides of earlier semi and anti joins: not in
	// the rows, but named in hints when an expression refers to them.
	hidden []hiddenBinding
}

// hiddenBinding is a relation a join of kind kind read but did not output.
type hiddenBinding struct {
	binding
	kind JoinKind
}

// hiddenHint explains a reference to a column or relation that a semi or
// anti join hid, or returns "" when name is none of theirs.
func (s *scope) hiddenHint(alias, column string) string {
	for _, h := range s.hidden {
		if alias != "" && h.alias != alias {
			continue
		}
		if column != "" && indexOf(columnNames(h.cols), column) < 0 {
			continue
		}
		name := h.alias
		if column != "" {
			name += "." + column
		}
		return fmt.Sprintf("%s is visible only in the condition of the %s join, whose rows are the left side's", name, h.kind)
	}
	return ""
}

func columnNames(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func (s *scope) width() int {
	w := 0
	for _, b := range s.bindings {
		w += len(b.cols)
	}
	return w
}

func single(alias string, cols []Column) *scope {
	return &scope{bindings: []binding{{alias: alias, cols: cols}}}
}

// pipeline checks a pipeline; it returns nil when the pipeline is too broken
// to type its output.
func (c *checker) pipeline(p *lang.Pipeline, _ string) (Rel, *scope) {
	rel, sc := c.term(p.From)
	for _, st := range p.Stages {
		if rel == nil {
			return nil, nil
		}
		rel, sc = c.stage(st, rel, sc)
	}
	return rel, sc
}

func (c *checker) term(t lang.Term) (Rel, *scope) {
	switch t := t.(type) {
	case *lang.RelRef:
		alias := t.Name.Name
		if t.Alias != nil {
			alias = t.Alias.Name
		}
		if tab, ok := c.tables[t.Name.Name]; ok {
			if tab == nil {
				return nil, nil // a source whose errors are reported already
			}
			return &Scan{Table: tab}, single(alias, tab.Columns)
		}
		if vs, ok := c.views[t.Name.Name]; ok {
			if c.rec != nil && c.rec.name == t.Name.Name {
				return &RecRef{Name: t.Name.Name, Columns: c.rec.cols}, single(alias, c.rec.cols)
			}
			if vs.checking {
				c.cycle(t.Name)
				return nil, nil
			}
			v := c.view(vs)
			if v == nil {
				return nil, nil
			}
			return &ViewRef{View: v}, single(alias, v.Columns)
		}
		var names []string
		for n := range c.tables {
			names = append(names, n)
		}
		for n := range c.views {
			names = append(names, n)
		}
		c.errorHint(t.Name, suggest.DidYouMean(t.Name.Name, names), "unknown table or view %s", t.Name.Name)
		return nil, nil
	case *lang.ValuesTerm:
		alias := "values"
		if t.Alias != nil {
			alias = t.Alias.Name
		}
		v := c.values(t)
		if v == nil {
			return nil, nil
		}
		return v, single(alias, v.Columns)
	case *lang.SubPipeline:
		rel, sc := c.pipeline(t.Query, "")
		if rel == nil {
			return nil, nil
		}
		if t.Alias != nil {
			return rel, single(t.Alias.Name, rel.Cols())
		}
		return rel, sc
	}
	panic("typecheck: unknown term")
}

func joinAnd(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func (c *checker) values(t *lang.ValuesTerm) *Values {
	v := &Values{}
	ok := true
	for ri, r := range t.Rows {
		var row []Expr
		for i, f := range r.Fields {
			if f.Name == nil {
				c.errorf(f, "each field of a values row needs a name: write name = value")
				ok = false
				continue
			}
			x := c.expr(f.Value, &exprCtx{scope: &scope{}})
			if UsesClock(x) {
				c.errorHint(f.Value, "compute it in a select after the values", "a values row is constant: it can't read the clock")
				ok = false
				continue
			}
			switch {
			case ri == 0:
				v.Columns = append(v.Columns, Column{Name: f.Name.Name, Type: x.Type()})
			case i >= len(v.Columns) || v.Columns[i].Name != f.Name.Name:
				c.errorf(f, "values rows must have the same fields in the same order as the first row")
				ok = false
				continue
			default:
				u, good := unify(v.Columns[i].Type, x.Type())
				if !good {
					c.errorf(f.Value, "field %s is %s here but %s in the first row", f.Name.Name, x.Type(), v.Columns[i].Type)
					ok = false
				}
				v.Columns[i].Type = u
			}
			row = append(row, x)
		}
		if ri > 0 && len(row) != len(v.Columns) && ok {
			c.errorf(r, "values rows must have the same fields as the first row")
			ok = false
		}
		v.Rows = append(v.Rows, row)
	}
	for i, col := range v.Columns {
		if col.Type.Kind == types.Null && ok {
			c.errorHint(t.Rows[0].Fields[i].Value, "give one row a typed value", "the type of values column %s is unknown: every value is null", col.Name)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	for _, row := range v.Rows {
		for i, x := range row {
			row[i] = castTo(x, v.Columns[i].Type)
		}
	}
	return v
}

// unify returns the type both a and b fit in: the wider number type, and
// nullable when either is (see stdlib.Unify).
func unify(a, b types.Type) (types.Type, bool) {
	if a.Kind == types.Invalid || b.Kind == types.Invalid {
		return types.Type{}, true
	}
	if timeRank(a.Kind) > 0 && timeRank(b.Kind) > 0 && a.Kind != b.Kind {
		// A date is a timestamp at midnight, a timestamp a timestamptz
		// in UTC: they meet in the later kind.
		t := a
		if timeRank(b.Kind) > timeRank(a.Kind) {
			t = b
		}
		t.Nullable = a.Nullable || b.Nullable
		return t, true
	}
	return stdlib.Unify(a, b)
}

// castTo wraps x in a Cast when its number or time kind differs from t's,
// or when it is an array or record holding numbers of other kinds than
// t's.
func castTo(x Expr, t types.Type) Expr {
	xt := x.Type()
	switch {
	case xt.IsNumeric() && t.IsNumeric(), timeRank(xt.Kind) > 0 && timeRank(t.Kind) > 0:
		if xt.Kind == t.Kind {
			return x
		}
	case stdlib.Converter(xt, t) == nil:
		return x
	}
	t.Nullable = xt.Nullable
	return &Cast{X: x, T: t}
}

func (c *checker) stage(st lang.Stage, in Rel, sc *scope) (Rel, *scope) {
	switch st := st.(type) {
	case *lang.WhereStage:
		cond := c.expr(st.Cond, &exprCtx{scope: sc})
		c.wantBool(st.Cond, cond, "where condition")
		return &Filter{In: in, Cond: cond}, sc
	case *lang.SelectStage:
		p := &Project{In: in}
		ok := true
		seen := map[string]bool{}
		for _, f := range st.Fields {
			x := c.expr(f.Value, &exprCtx{scope: sc})
			name, named := c.fieldName(f)
			if !named {
				ok = false
				continue
			}
			if seen[name] {
				c.errorf(f, "select names %s twice", name)
				ok = false
			}
			seen[name] = true
			p.Exprs = append(p.Exprs, x)
			p.Columns = append(p.Columns, Column{Name: name, Type: x.Type()})
		}
		if !ok {
			return nil, nil
		}
		return p, single(sc.alias(), p.Columns)
	case *lang.JoinStage:
		return c.join(st, in, sc)
	case *lang.GroupStage:
		return c.group(st, in, sc)
	case *lang.DistinctStage:
		if !c.noRec(st, "distinct", in) {
			return nil, nil
		}
		return &Distinct{In: in}, sc
	case *lang.SetStage:
		right, _ := c.term(st.Right)
		if right == nil {
			return nil, nil
		}
		return c.setOp(st, in, sc, right)
	case *lang.TopStage:
		return c.top(st, in, sc)
	case *lang.WindowStage:
		return c.window(st, in, sc)
	case *lang.SessionStage:
		return c.session(st, in, sc)
	case *lang.StampStage:
		if c.lookup(st.Name.Name, sc) != nil {
			c.errorHint(st.Name, "choose another name", "stamp names %s, which is already a column", st.Name.Name)
			return nil, nil
		}
		if !c.noRec(st, "stamp", in) {
			return nil, nil
		}
		col := Column{Name: st.Name.Name, Type: types.Of(types.Timestamptz)}
		out := &scope{bindings: append(append([]binding{}, sc.bindings...), binding{alias: sc.alias(), offset: sc.width(), cols: []Column{col}})}
		return &Stamp{In: in, Columns: append(append([]Column{}, in.Cols()...), col)}, out
	case *lang.TumbleStage:
		return c.timeWindows(st, st.Time, st.Every, nil, in, sc)
	case *lang.HopStage:
		return c.timeWindows(st, st.Time, st.Every, st.Size, in, sc)
	case *lang.FlattenStage:
		return c.flatten(st, in, sc)
	}
	return nil, nil
}

// setOp checks union, except and intersect, with or without all, of in
// and right: the same number of columns, each pair of comparable types.
func (c *checker) setOp(st *lang.SetStage, in Rel, sc *scope, right Rel) (Rel, *scope) {
	name := st.Op.String()
	if st.All {
		name += " all"
	}
	if st.Op != lang.Union || !st.All {
		if !c.noRec(st, name, in, right) {
			return nil, nil
		}
	}
	lc, rc := in.Cols(), right.Cols()
	if len(lc) != len(rc) {
		c.errorf(st.Right, "%s of relations with %d and %d columns", st.Op, len(lc), len(rc))
		return nil, nil
	}
	var cols []Column
	for i := range lc {
		t, ok := unify(lc[i].Type, rc[i].Type)
		if !ok {
			c.errorf(st.Right, "%s column %d (%s) is %s on the left but %s on the right", st.Op, i+1, lc[i].Name, lc[i].Type, rc[i].Type)
			return nil, nil
		}
		cols = append(cols, Column{Name: lc[i].Name, Type: t})
	}
	left, right := c.castRel(in, cols), c.castRel(right, cols)
	if st.Op == lang.Union {
		return &Union{Left: left, Right: right, All: st.All, Columns: cols}, single(sc.alias(), cols)
	}
	return &SetOp{Op: st.Op, All: st.All, Left: left, Right: right, Columns: cols}, single(sc.alias(), cols)
}

// top checks top N by keys [per exprs]: N at least 1, keys of types with
// an order. The rows keep their type and their scope.
func (c *checker) top(st *lang.TopStage, in Rel, sc *scope) (Rel, *scope) {
	ok := c.noRec(st, "top", in)
	t := &Top{In: in, N: int64(st.N)}
	if st.N < 1 {
		c.errorHint(st, "keep at least one row: top 1 by ...", "top %d keeps no rows", st.N)
		ok = false
	}
	var orderOK bool
	t.By, t.Per, orderOK = c.groupOrder("top", st.By, st.Per, sc)
	if !ok || !orderOK {
		return nil, nil
	}
	return t, sc
}

// groupOrder checks the order keys and the per expressions of top or
// window (what): keys of types with an order, per expressions of any.
func (c *checker) groupOrder(what string, byKeys []*lang.OrderKey, perX []lang.Expr, sc *scope) (by []OrderKey, per []Expr, ok bool) {
	ok = true
	for _, k := range byKeys {
		x := c.expr(k.X, &exprCtx{scope: sc})
		switch x.Type().Kind {
		case types.Invalid:
			ok = false
		case types.JSONB, types.Array, types.Record:
			c.errorf(k.X, "%s can't order by a value of type %s: jsonb, arrays and records have no order here", what, x.Type())
			ok = false
		}
		by = append(by, OrderKey{X: x, Desc: k.Desc})
	}
	for _, p := range perX {
		x := c.expr(p, &exprCtx{scope: sc})
		if x.Type().Kind == types.Invalid {
			ok = false
		}
		per = append(per, x)
	}
	return by, per, ok
}

// timeWindows checks tumble t every e (size nil) and hop t every e size
// s, and writes them with what exists: a tumbling window is
// window_start = date_bin(e, t, epoch) and window_end = window_start +
// e, a projection; a hopping window flattens hop_starts(t, e, s) into
// window_start, with window_end = window_start + s. Both are linear:
// each change costs its rows' windows, whatever the stream's length.
func (c *checker) timeWindows(st lang.Stage, at, every, size lang.Expr, in Rel, sc *scope) (Rel, *scope) {
	ctx := &exprCtx{scope: sc}
	t := c.expr(at, ctx)
	e := c.expr(every, ctx)
	widths := []Expr{e}
	if size != nil {
		widths = append(widths, c.expr(size, ctx))
	}
	ok := c.windowTime(at, t)
	for i, w := range widths {
		src := every
		if i == 1 {
			src = size
		}
		switch k := w.Type().Kind; {
		case k == types.Invalid:
			ok = false
		case k != types.Interval:
			c.errorHint(src, `an interval: interval "10 minutes"`, "a window's width is an interval, not %s", w.Type())
			ok = false
		default:
			if v, isConst := w.(*Const); isConst && v.Value != nil {
				if !dayTime(v.Value.(types.IntervalValue)) {
					c.errorf(src, "a window's width is a positive interval of days and time, without months or years")
					ok = false
				}
			}
		}
	}
	ok = c.windowColumnsFree(st, sc) && ok
	if !ok {
		return nil, nil
	}
	tt := t.Type()
	tt.Nullable = false
	epoch := &Const{Value: stdlib.Epoch, T: tt}
	startT := tt
	startT.Nullable = t.Type().Nullable || e.Type().Nullable
	var rel Rel = in
	width := len(in.Cols())
	var start Expr
	if size == nil {
		start = &Call{Func: stdlib.Funcs()["date_bin"], Args: []Expr{e, t, epoch}, T: startT}
	} else {
		arr := types.ArrayOf(tt)
		arr.Nullable = startT.Nullable || widths[1].Type().Nullable
		starts := &Call{Func: stdlib.Funcs()["hop_starts"], Args: []Expr{t, e, widths[1]}, T: arr}
		col := Column{Name: "window_start", Type: tt}
		rel = &Flatten{In: in, Elem: starts, Columns: append(append([]Column{}, in.Cols()...), col)}
		start = &ColRef{Index: width, Name: "window_start", T: tt}
		startT = tt
	}
	endT := startT
	endT.Nullable = startT.Nullable || widths[len(widths)-1].Type().Nullable
	end := &Binary{Op: lang.Add, X: start, Y: widths[len(widths)-1], T: endT}
	var exprs []Expr
	var cols []Column
	for i, col := range in.Cols() {
		exprs = append(exprs, &ColRef{Index: i, Name: col.Name, T: col.Type})
		cols = append(cols, col)
	}
	added := []Column{{Name: "window_start", Type: startT}, {Name: "window_end", Type: endT}}
	exprs = append(exprs, start, end)
	cols = append(cols, added...)
	out := &scope{bindings: append(append([]binding{}, sc.bindings...), binding{alias: sc.alias(), offset: sc.width(), cols: added})}
	return &Project{In: rel, Exprs: exprs, Columns: cols}, out
}

// windowTime checks that t, the time of tumble, hop or session (written
// at), is a timestamp.
func (c *checker) windowTime(at lang.Expr, t Expr) bool {
	switch k := t.Type().Kind; {
	case k == types.Invalid:
		return false
	case k != types.Timestamp && k != types.Timestamptz:
		c.errorHint(at, "a window's time is a timestamp or timestamptz: at::timestamp", "windows need a timestamp, not %s", t.Type())
		return false
	}
	return true
}

// windowColumnsFree checks that the columns windows add are not the
// input's.
func (c *checker) windowColumnsFree(st lang.Stage, sc *scope) bool {
	ok := true
	for _, name := range []string{"window_start", "window_end"} {
		if c.lookup(name, sc) != nil {
			c.errorHint(st, "rename the column first: select { ..., "+name+"_was = "+name+" }", "windows add %s, which is already a column", name)
			ok = false
		}
	}
	return ok
}

// dayTime reports whether iv is a positive interval of days and time,
// which windows can be counted in (months have no fixed length).
func dayTime(iv types.IntervalValue) bool {
	return iv.Months == 0 && int64(iv.Days)*86_400_000_000+iv.Micros > 0
}

// session checks session t gap g [per p, ...]: t a timestamp, g a
// constant positive interval of days and time.
func (c *checker) session(st *lang.SessionStage, in Rel, sc *scope) (Rel, *scope) {
	ok := c.noRec(st, "session", in)
	ctx := &exprCtx{scope: sc}
	t := c.expr(st.Time, ctx)
	ok = c.windowTime(st.Time, t) && ok
	var gap types.IntervalValue
	g := c.expr(st.Gap, ctx)
	if v, isConst := g.(*Const); !isConst || g.Type().Kind != types.Interval || v.Value == nil {
		if g.Type().Kind != types.Invalid {
			c.errorHint(st.Gap, `a constant interval: interval "30 minutes"`, "a session's gap is a constant interval")
		}
		ok = false
	} else if gap = v.Value.(types.IntervalValue); !dayTime(gap) {
		c.errorf(st.Gap, "a session's gap is a positive interval of days and time, without months or years")
		ok = false
	}
	var per []Expr
	for _, p := range st.Per {
		x := c.expr(p, ctx)
		if x.Type().Kind == types.Invalid {
			ok = false
		}
		per = append(per, x)
	}
	ok = c.windowColumnsFree(st, sc) && ok
	if !ok {
		return nil, nil
	}
	tt := t.Type()
	tt.Nullable = false
	added := []Column{{Name: "window_start", Type: tt}, {Name: "window_end", Type: tt}}
	out := &scope{bindings: append(append([]binding{}, sc.bindings...), binding{alias: sc.alias(), offset: sc.width(), cols: added})}
	return &Session{In: in, Time: t, Gap: gap, Per: per, Columns: append(append([]Column{}, in.Cols()...), added...)}, out
}

// frameAggregates are the aggregates a window computes over a frame of
// rows: those whose state adds and removes rows.
var frameAggregates = map[string]bool{"count": true, "sum": true, "avg": true}

// frameAggregate checks a window's field name = agg(x) rows N preceding.
func (c *checker) frameAggregate(f *lang.Field, call *lang.Call, sc *scope, seen map[string]bool) (WindowFunc, Column, bool) {
	agg := stdlib.Aggregates()[call.Fun.Name]
	switch {
	case agg == nil || !frameAggregates[agg.Name] || call.Distinct || len(call.OrderBy) > 0 || call.Filter != nil:
		c.errorHint(call, "count(), sum(x) or avg(x) rows N preceding", "a window's aggregate over rows is count, sum or avg")
		return WindowFunc{}, Column{}, false
	case f.Name == nil:
		c.errorHint(call, "write name = "+call.Fun.Name+"(...) rows N preceding", "this field needs a name")
		return WindowFunc{}, Column{}, false
	case c.lookup(f.Name.Name, sc) != nil || seen[f.Name.Name]:
		c.errorHint(f.Name, "choose another name", "window names %s, which is already a column", f.Name.Name)
		return WindowFunc{}, Column{}, false
	}
	seen[f.Name.Name] = true
	var args []Expr
	var argTypes []types.Type
	for _, a := range call.Args {
		x := c.expr(a, &exprCtx{scope: sc})
		if x.Type().Kind == types.Invalid {
			return WindowFunc{}, Column{}, false
		}
		args, argTypes = append(args, x), append(argTypes, x.Type())
	}
	t, err := agg.Check(argTypes)
	if err != nil {
		c.errorHint(call, agg.Signature, "%v", err)
		return WindowFunc{}, Column{}, false
	}
	if agg.Name != "count" {
		t.Nullable = true // the frame's values may all be NULL
	}
	wf := WindowFunc{Name: agg.Name, Frame: *call.Frame, T: t}
	if len(args) > 0 {
		wf.Arg = args[0]
	}
	return wf, Column{Name: f.Name.Name, Type: t}, true
}

// windowFuncs are the functions of a window, with their arguments'
// number.
var windowFuncs = map[string]int{"lag": 1, "lead": 1, "row_number": 0, "rank": 0, "dense_rank": 0}

// window checks window by k, ... [per p, ...] { name = lag(x), ... }:
// the input's columns, then one per field, nullable (the first row of a
// group has no row before it).
func (c *checker) window(st *lang.WindowStage, in Rel, sc *scope) (Rel, *scope) {
	ok := c.noRec(st, "window", in)
	w := &Window{In: in}
	var orderOK bool
	w.By, w.Per, orderOK = c.groupOrder("window", st.By, st.Per, sc)
	ok = ok && orderOK
	var cols []Column
	seen := map[string]bool{}
	for _, f := range st.Fields {
		call, isCall := f.Value.(*lang.Call)
		if isCall && call.Frame != nil {
			if wf, col, fieldOK := c.frameAggregate(f, call, sc, seen); fieldOK {
				w.Funcs = append(w.Funcs, wf)
				cols = append(cols, col)
			} else {
				ok = false
			}
			continue
		}
		args := -1
		if isCall {
			args = windowFuncs[call.Fun.Name]
		}
		if !isCall || args < 0 || len(call.Args) != args || call.Distinct || len(call.OrderBy) > 0 || call.Filter != nil {
			c.errorHint(f.Value, "prev = lag(x), next = lead(x), n = row_number(), r = rank(), d = dense_rank()", "a window's fields are lag(x) or lead(x), x at the row before or after, or row_number(), rank() or dense_rank(), the row's place")
			ok = false
			continue
		}
		if f.Name == nil {
			c.errorHint(f.Value, "write name = "+call.Fun.Name+"(...)", "this field needs a name")
			ok = false
			continue
		}
		if c.lookup(f.Name.Name, sc) != nil || seen[f.Name.Name] {
			c.errorHint(f.Name, "choose another name", "window names %s, which is already a column", f.Name.Name)
			ok = false
			continue
		}
		seen[f.Name.Name] = true
		if args == 0 { // a place: never NULL
			w.Funcs = append(w.Funcs, WindowFunc{Name: call.Fun.Name})
			cols = append(cols, Column{Name: f.Name.Name, Type: types.Of(types.Int8)})
			continue
		}
		x := c.expr(call.Args[0], &exprCtx{scope: sc})
		t := x.Type()
		if t.Kind == types.Invalid {
			ok = false
			continue
		}
		t.Nullable = true
		w.Funcs = append(w.Funcs, WindowFunc{Name: call.Fun.Name, Arg: castTo(x, t)})
		cols = append(cols, Column{Name: f.Name.Name, Type: t})
	}
	if !ok {
		return nil, nil
	}
	w.Columns = append(append([]Column{}, in.Cols()...), cols...)
	out := &scope{bindings: append(append([]binding{}, sc.bindings...), binding{alias: sc.alias(), offset: sc.width(), cols: cols})}
	return w, out
}

// flatten checks flatten name = array: the input's columns and the
// element, a new column qualified like the pipeline's first term.
func (c *checker) flatten(st *lang.FlattenStage, in Rel, sc *scope) (Rel, *scope) {
	x := c.expr(st.Value, &exprCtx{scope: sc})
	t := x.Type()
	switch {
	case t.Kind == types.Invalid:
		return nil, nil
	case t.Kind != types.Array:
		c.errorHint(st.Value, "split text into an array with string_to_array(s, sep)", "flatten needs an array, not %s", t)
		return nil, nil
	case c.lookup(st.Name.Name, sc) != nil:
		c.errorHint(st.Name, "choose another name", "flatten names %s, which is already a column", st.Name.Name)
		return nil, nil
	}
	col := Column{Name: st.Name.Name, Type: *t.Elem}
	f := &Flatten{In: in, Elem: x, Columns: append(append([]Column{}, in.Cols()...), col)}
	out := &scope{bindings: append(append([]binding{}, sc.bindings...), binding{alias: sc.alias(), offset: sc.width(), cols: []Column{col}})}
	return f, out
}

// castRel projects rel to cols' number types where they differ.
func (c *checker) castRel(rel Rel, cols []Column) Rel {
	have := rel.Cols()
	same := true
	var exprs []Expr
	for i, col := range have {
		x := castTo(&ColRef{Index: i, Name: col.Name, T: col.Type}, cols[i].Type)
		if _, isCast := x.(*Cast); isCast {
			same = false
		}
		exprs = append(exprs, x)
	}
	if same {
		return rel
	}
	out := make([]Column, len(have))
	for i := range have {
		out[i] = Column{Name: cols[i].Name, Type: exprs[i].Type()}
	}
	return &Project{In: rel, Exprs: exprs, Columns: out}
}

func (s *scope) alias() string {
	if len(s.bindings) > 0 {
		return s.bindings[0].alias
	}
	return ""
}

// fieldName returns the name of a field: its own, or that of the column it
// reads.
func (c *checker) fieldName(f *lang.Field) (string, bool) {
	if f.Name != nil {
		return f.Name.Name, true
	}
	switch x := f.Value.(type) {
	case *lang.Name:
		return x.Name, true
	case *lang.Selector:
		return x.Sel.Name, true
	}
	c.errorHint(f.Value, "write name = expression", "this field needs a name")
	return "", false
}

var joinKinds = map[string]JoinKind{
	"inner": InnerJoin, "left": LeftJoin, "right": RightJoin, "full": FullJoin,
	"semi": SemiJoin, "anti": AntiJoin, "cross": CrossJoin,
}

func (c *checker) join(st *lang.JoinStage, left Rel, lsc *scope) (Rel, *scope) {
	kind, known := joinKinds[st.Kind]
	if !known {
		c.errorf(st, "unknown join kind %s", st.Kind)
		return nil, nil
	}
	right, rsc := c.term(st.Right)
	if right == nil {
		return nil, nil
	}
	if kind != InnerJoin && kind != CrossJoin && !c.noRec(st, st.Kind+" join", left, right) {
		return nil, nil
	}
	lw := lsc.width()
	joined := &scope{}
	joined.bindings = append(joined.bindings, lsc.bindings...)
	for _, b := range rsc.bindings {
		b.offset += lw
		joined.bindings = append(joined.bindings, b)
	}
	for _, a := range lsc.bindings {
		for _, b := range rsc.bindings {
			if a.alias == b.alias {
				c.errorHint(st.Right, "rename one side with as", "both sides of the join are named %s", a.alias)
				return nil, nil
			}
		}
	}
	j := &Join{Kind: kind, Left: left, Right: right}
	if kind == CrossJoin {
		if st.On != nil {
			c.errorHint(st.On, "filter the pairs with a where stage after the join, or join ... on for equalities",
				"a cross join takes no condition")
			return nil, nil
		}
		return j, joined
	}
	if st.On == nil {
		c.errorHint(st, "write cross join R for every pair of rows", "%s needs a condition: on left.key == right.key", joinName(kind))
		return nil, nil
	}
	var residual []Expr
	ok := true
	for _, conj := range conjuncts(st.On) {
		x := c.expr(conj, &exprCtx{scope: joined})
		if x.Type().Kind == types.Invalid {
			ok = false
			continue
		}
		// An equality that reads the clock is no key (keys index the
		// rows as they are): it filters the joined rows instead.
		if b, isEq := x.(*Binary); isEq && b.Op == lang.Eq && !UsesClock(b) {
			ls, rs := side(b.X, lw), side(b.Y, lw)
			switch {
			case ls == sideLeft && rs == sideRight:
				c.addKey(j, b.X, shift(b.Y, -lw))
				continue
			case ls == sideRight && rs == sideLeft:
				c.addKey(j, b.Y, shift(b.X, -lw))
				continue
			}
		}
		c.wantBool(conj, x, "join condition")
		residual = append(residual, x)
	}
	out := joinScope(kind, lsc, joined)
	if !ok {
		// Keep checking later stages against the join's scope; the
		// program is already rejected.
		return j, out
	}
	if len(j.LeftKeys) == 0 {
		hint := "compare a column of each side with =="
		if kind == InnerJoin {
			hint += ", or write cross join R | where ... for a join on other conditions"
		}
		c.errorHint(st.On, hint, "join condition has no equality between the two sides")
		return nil, nil
	}
	if kind != InnerJoin {
		// Part of the match, as in SQL's ON: a left row whose pairs all
		// fail it is unmatched, not dropped.
		j.Cond = and(residual)
		return j, out
	}
	var rel Rel = j
	for _, r := range residual {
		rel = &Filter{In: rel, Cond: r}
	}
	return rel, out
}

// joinName names a join kind in messages: "a left join".
func joinName(k JoinKind) string {
	if k == InnerJoin {
		return "a join"
	}
	if k == AntiJoin {
		return "an anti join"
	}
	return "a " + k.String() + " join"
}

// joinScope returns the names visible after a join: both sides, the one an
// outer join pads made nullable, or for semi and anti joins the left side
// alone.
func joinScope(k JoinKind, lsc, joined *scope) *scope {
	if k == SemiJoin || k == AntiJoin {
		out := &scope{bindings: lsc.bindings, hidden: lsc.hidden}
		for _, b := range joined.bindings[len(lsc.bindings):] {
			out.hidden = append(out.hidden, hiddenBinding{b, k})
		}
		return out
	}
	out := &scope{}
	for i, b := range joined.bindings {
		isLeft := i < len(lsc.bindings)
		if isLeft && k.PreservesRight() || !isLeft && k.PreservesLeft() {
			b.cols = nullable(b.cols)
		}
		out.bindings = append(out.bindings, b)
	}
	return out
}

// and returns the conjunction of xs, nil when there are none.
func and(xs []Expr) Expr {
	var out Expr
	for _, x := range xs {
		if out == nil {
			out = x
			continue
		}
		t := types.Type{Kind: types.Bool, Nullable: out.Type().Nullable || x.Type().Nullable, Scale: -1}
		out = &Binary{Op: lang.And, X: out, Y: x, T: t}
	}
	return out
}

func (c *checker) addKey(j *Join, l, r Expr) {
	if t, ok := stdlib.Promote(l.Type(), r.Type()); ok {
		l, r = castTo(l, t), castTo(r, t)
	}
	j.LeftKeys = append(j.LeftKeys, l)
	j.RightKeys = append(j.RightKeys, r)
}

// conjuncts splits a condition on "and".
func conjuncts(x lang.Expr) []lang.Expr {
	if p, ok := x.(*lang.ParenExpr); ok {
		return conjuncts(p.X)
	}
	if b, ok := x.(*lang.Binary); ok && b.Op == lang.And {
		return append(conjuncts(b.X), conjuncts(b.Y)...)
	}
	return []lang.Expr{x}
}

type sideKind int

const (
	sideNone sideKind = iota
	sideLeft
	sideRight
	sideBoth
)

// side says which side of a join an expression's columns come from.
func side(x Expr, leftWidth int) sideKind {
	s := sideNone
	Walk(x, func(e Expr) {
		if r, ok := e.(*ColRef); ok {
			this := sideLeft
			if r.Index >= leftWidth {
				this = sideRight
			}
			if s == sideNone {
				s = this
			} else if s != this {
				s = sideBoth
			}
		}
	})
	return s
}

// shift returns x with every column index moved by delta.
func shift(x Expr, delta int) Expr {
	switch x := x.(type) {
	case *ColRef:
		return &ColRef{Index: x.Index + delta, Name: x.Name, T: x.T}
	case *Unary:
		return &Unary{Op: x.Op, X: shift(x.X, delta), T: x.T, Span: x.Span}
	case *Binary:
		return &Binary{Op: x.Op, X: shift(x.X, delta), Y: shift(x.Y, delta), T: x.T, Span: x.Span}
	case *IsNull:
		return &IsNull{X: shift(x.X, delta), Not: x.Not}
	case *Call:
		args := make([]Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = shift(a, delta)
		}
		return &Call{Func: x.Func, Args: args, T: x.T, Span: x.Span}
	case *If:
		return &If{Cond: shift(x.Cond, delta), Then: shift(x.Then, delta), Else: shift(x.Else, delta), T: x.T}
	case *Cast:
		return &Cast{X: shift(x.X, delta), T: x.T, Span: x.Span}
	case *Record:
		fields := make([]Expr, len(x.Fields))
		for i, fx := range x.Fields {
			fields[i] = shift(fx, delta)
		}
		return &Record{Fields: fields, T: x.T}
	case *FieldRef:
		return &FieldRef{X: shift(x.X, delta), Index: x.Index, Name: x.Name, T: x.T}
	case *Let:
		return &Let{Slot: x.Slot, Name: x.Name, X: shift(x.X, delta), Body: shift(x.Body, delta)}
	case *FuncCall:
		args := make([]Expr, len(x.Args))
		for i, a := range x.Args {
			args[i] = shift(a, delta)
		}
		return &FuncCall{Func: x.Func, Args: args, NullIf: x.NullIf, T: x.T, Span: x.Span}
	}
	return x
}

func (c *checker) group(st *lang.GroupStage, in Rel, sc *scope) (Rel, *scope) {
	if !c.noRec(st, "group", in) {
		return nil, nil
	}
	g := &Group{In: in}
	ok := true
	var keyNames []string
	for _, k := range st.Keys {
		x := c.expr(k.Value, &exprCtx{scope: sc})
		name, named := c.fieldName(k)
		if !named {
			ok = false
			continue
		}
		g.Keys = append(g.Keys, x)
		keyNames = append(keyNames, name)
		g.Columns = append(g.Columns, Column{Name: name, Type: x.Type()})
	}
	if !ok {
		return nil, nil
	}
	ctx := &exprCtx{scope: sc, group: &groupCtx{keys: keyNames, keyTypes: columnTypes(g.Columns)}}
	var outs []Expr
	var names []string
	for _, f := range st.Aggs {
		if f.Name == nil {
			c.errorHint(f.Value, "write name = aggregate(...)", "this aggregate needs a name")
			ok = false
			continue
		}
		x := c.expr(f.Value, ctx)
		if indexOf(keyNames, f.Name.Name) >= 0 || indexOf(names, f.Name.Name) >= 0 {
			c.errorf(f.Name, "group names %s twice", f.Name.Name)
			ok = false
		}
		outs = append(outs, x)
		names = append(names, f.Name.Name)
	}
	if !ok {
		return nil, nil
	}
	g.Aggs = ctx.group.aggs
	nk := len(g.Keys)
	identity := len(outs) == len(g.Aggs)
	for i, x := range outs {
		if r, isRef := x.(*ColRef); !isRef || r.Index != nk+i {
			identity = false
		}
	}
	if identity {
		for i, a := range g.Aggs {
			g.Columns = append(g.Columns, Column{Name: names[i], Type: a.Type})
		}
		return g, single(sc.alias(), g.Columns)
	}
	for i := range g.Keys {
		g.Out = append(g.Out, &ColRef{Index: i, Name: keyNames[i], T: g.Columns[i].Type})
	}
	g.Out = append(g.Out, outs...)
	for i, x := range outs {
		g.Columns = append(g.Columns, Column{Name: names[i], Type: x.Type()})
	}
	return g, single(sc.alias(), g.Columns)
}

func columnTypes(cols []Column) []types.Type {
	out := make([]types.Type, len(cols))
	for i, c := range cols {
		out[i] = c.Type
	}
	return out
}
