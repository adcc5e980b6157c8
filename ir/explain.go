package ir

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// Explain renders the circuit as indented text: each input, then each view
// as a tree of operators down to its sources. A node reached a second time
// (shared between views, or an earlier view) is shown by reference.
func Explain(c *Circuit) string {
	head, views := explainSections(c)
	var b strings.Builder
	b.WriteString(head)
	for _, v := range views {
		b.WriteString("\n")
		b.WriteString(v)
	}
	return b.String()
}

// ExplainView renders one view's section of Explain's text: the view, its
// columns, its output if it is one, and its tree of operators, with what
// earlier views compute shown by reference. It reports false when the
// circuit has no view of the name.
func ExplainView(c *Circuit, name string) (string, bool) {
	_, views := explainSections(c)
	for i, v := range c.Views {
		if v.Name == name {
			return views[i], true
		}
	}
	return "", false
}

// explainSections renders Explain's text in parts: the inputs and clock,
// and the section of each view, in the circuit's order.
func explainSections(c *Circuit) (string, []string) {
	var b strings.Builder
	owner := map[*Node]string{}
	for _, in := range c.Inputs {
		fmt.Fprintf(&b, "input %s %s", in.Name, colList(in.Columns))
		if len(in.PrimaryKey) > 0 {
			fmt.Fprintf(&b, " primary key %s", indexNames(in.Columns, in.PrimaryKey))
		}
		if w := in.Watermark; w != nil {
			fmt.Fprintf(&b, " watermark %s - %s", in.Columns[w.Column].Name, FormatLateness(w.Lateness))
		}
		b.WriteByte('\n')
		owner[in.Node] = "input " + in.Name
	}
	if c.Clock != nil {
		fmt.Fprintf(&b, "clock %s  the step's time, now(); the previous step's is the state of n%d\n",
			colList(c.Clock.Cols), c.Clock.Op.(*Clock).State)
		owner[c.Clock] = "clock"
	}
	outputs := map[*View]*Output{}
	for _, o := range c.Outputs {
		outputs[o.View] = o
	}
	freeings := map[*Node]Freeing{}
	for _, f := range c.Freeings(c.Floors()) {
		freeings[f.Node] = f
	}
	views := make([]string, 0, len(c.Views))
	for _, v := range c.Views {
		var vb strings.Builder
		fmt.Fprintf(&vb, "view %s %s\n", v.Name, colList(v.Columns))
		if o := outputs[v]; o != nil {
			fmt.Fprintf(&vb, "  output%s\n", outputText(o, v))
		}
		shown := map[*Node]bool{}
		explainNode(&vb, v.Node, 1, owner, shown, true, freeings)
		if _, taken := owner[v.Node]; !taken {
			owner[v.Node] = "view " + v.Name
		}
		for n := range shown {
			if _, taken := owner[n]; !taken {
				owner[n] = "view " + v.Name
			}
		}
		views = append(views, vb.String())
	}
	return b.String(), views
}

func outputText(o *Output, v *View) string {
	s := ""
	if o.Table != nil {
		s += " to table " + strings.Join(o.Table, ".")
	}
	for _, ix := range o.Indexes {
		s += " index " + indexNames(v.Columns, ix)
	}
	if len(o.PrimaryKey) > 0 {
		s += " primary key " + indexNames(v.Columns, o.PrimaryKey)
	}
	return s
}

func explainNode(b *strings.Builder, n *Node, depth int, owner map[*Node]string, shown map[*Node]bool, root bool, freeings map[*Node]Freeing) {
	indent := strings.Repeat("  ", depth)
	if who, ok := owner[n]; ok && !root || shown[n] {
		if !ok {
			who = "above"
		}
		fmt.Fprintf(b, "%sn%d %s (%s)\n", indent, n.ID, n.Op.Name(), who)
		return
	}
	shown[n] = true
	fmt.Fprintf(b, "%sn%d %s\n", indent, n.ID, describe(n))
	if f, ok := freeings[n]; ok {
		fmt.Fprintf(b, "%s  forgets %s\n", indent, freeingText(n, f))
	}
	for _, in := range n.Inputs {
		explainNode(b, in, depth+1, owner, shown, false, freeings)
	}
	if fp, ok := n.Op.(*Fixpoint); ok {
		fmt.Fprintf(b, "%s  body, iterated to the fixpoint:\n", indent)
		explainNode(b, fp.Out, depth+2, owner, shown, false, freeings)
	}
}

// freeingText says which of a node's state its watermarks let go.
func freeingText(n *Node, f Freeing) string {
	col := func(i int) string { return n.Inputs[0].Cols[i].Name }
	what := "the rows where "
	switch op := n.Op.(type) {
	case *Aggregate:
		what, col = "the groups where ", func(i int) string { return n.Cols[i].Name }
	case *TopK:
		what, col = "the groups where ", func(i int) string { return op.Per[i].Text }
	case *Window:
		what, col = "the groups where ", func(i int) string { return op.Per[i].Text }
	case *Session:
		what, col = "the groups where ", func(i int) string { return op.Per[i].Text }
	}
	var clauses []string
	for _, cl := range f.Clauses {
		var ors []string
		for _, b := range cl {
			ors = append(ors, col(b.Col)+" < "+floorText(b.Bound))
		}
		s := strings.Join(ors, " or ")
		if len(ors) > 1 && len(f.Clauses) > 1 {
			s = "(" + s + ")"
		}
		clauses = append(clauses, s)
	}
	text := what + strings.Join(clauses, " and ")
	if len(f.Clauses) == 0 {
		text = ""
	}
	if f.Ended != nil {
		ended := "the groups whose sessions all ended before " + floorText(f.Ended)
		if text == "" {
			text = ended
		} else {
			text += ", and " + ended
		}
	}
	if len(f.Behind) > 0 {
		var bs []string
		for _, b := range f.Behind {
			bs = append(bs, b.Row.Text+" "+b.Op.String()+" "+b.Clock.Text)
		}
		text += ", once the clock has left them behind (not " + strings.Join(bs, " or not ") + ")"
	}
	return text
}

// floorText renders a bound: bid's watermark - 10s, or the least of
// several.
func floorText(f Floor) string {
	var terms []string
	for _, t := range f {
		s := t.Table + "'s watermark"
		switch {
		case t.Offset > 0:
			s += " + " + t.Offset.String()
		case t.Offset < 0:
			s += " - " + (-t.Offset).String()
		}
		terms = append(terms, s)
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return "least(" + strings.Join(terms, ", ") + ")"
}

// describe renders one operator with its parameters and, for stateful
// operators, the incremental form it computes.
func describe(n *Node) string {
	switch op := n.Op.(type) {
	case *Source:
		return "source " + op.Table + "  Δ"
	case *Constant:
		return fmt.Sprintf("constant %d rows (in the first step only)", op.Rows.Len())
	case *Filter:
		return "filter " + op.Pred.Text
	case *Map:
		var fs []string
		for i, e := range op.Exprs {
			fs = append(fs, n.Cols[i].Name+" = "+e.Text)
		}
		return "map {" + strings.Join(fs, ", ") + "}"
	case *Sum:
		return "sum  Δ = Σ Δinputs"
	case *Integrate:
		return "integrate by " + scalars(op.Key) + "  I = Σ Δ (state, indexed)"
	case *Delay:
		return "delay  z⁻¹"
	case *Join:
		if len(op.LeftKey) == 0 {
			return "cross join  Δl×Δr + Δl×z⁻¹(I r) + z⁻¹(I l)×Δr"
		}
		return fmt.Sprintf("join on %s == %s  Δl⋈Δr + Δl⋈z⁻¹(I r) + z⁻¹(I l)⋈Δr", scalars(op.LeftKey), scalars(op.RightKey))
	case *SemiJoin:
		return describeSemiJoin(op)
	case *Clock:
		return "clock  Δ = -previous +now when the clock moves"
	case *FlatMap:
		return fmt.Sprintf("flatten %s = %s", n.Cols[len(n.Cols)-1].Name, op.Elem.Text)
	case *TemporalFilter:
		var rows []string
		for _, b := range op.Bounds {
			if !slices.Contains(rows, b.Row.Text) {
				rows = append(rows, b.Row.Text)
			}
		}
		return fmt.Sprintf("temporal filter %s  σ_now(Δ), and when the clock moves, the rows of z⁻¹(I) whose %s crossed a bound",
			op.Pred.Text, strings.Join(rows, " or "))
	case *OrderedIntegrate:
		return "integrate ordered by " + op.Key.Text + "  I = Σ Δ (state, range-scanned)"
	case *Distinct:
		return "distinct  emits when the sign of z⁻¹(I)+Δ differs from z⁻¹(I)"
	case *SetOp:
		return op.Name() + "  per class of equal rows: result of z⁻¹(I l)+Δl, z⁻¹(I r)+Δr minus that of z⁻¹(I l), z⁻¹(I r)"
	case *TopK:
		per := ""
		if len(op.Per) > 0 {
			per = " per " + scalars(op.Per)
		}
		return fmt.Sprintf("top %d by %s%s  per-group state: ordered multiset of rows; emits the change of each changed group's first %d",
			op.N, OrderText(op.By), per, op.N)
	case *Session:
		return op.Text() + "  per-group state: rows ordered by time; emits the rows of the sessions a change alters"
	case *Stamp:
		return "stamp  adds the step's time to each inserted row; state: each row's arrival times (indexed by the row)"
	case *Window:
		emits := "the changed rows and their neighbours"
		if slices.ContainsFunc(op.Funcs, WindowFunc.Positional) {
			emits = "the rows of a changed group whose place or neighbours changed"
		}
		return op.Text() + "  per-group state: ordered multiset of rows; emits " + emits
	case *Fixpoint:
		return "fixpoint " + op.View + "  least V = distinct(base + body(V)); semi-naive iterations, deletions by DRed; state: support per row (indexed)"
	case *Recurse:
		return "recurse " + op.View + "  Δ of the view, fed back each iteration"
	case *Import:
		return "import  Δ of an outer node into the body"
	case *Aggregate:
		var as []string
		for _, a := range op.Aggs {
			as = append(as, a.String())
		}
		return fmt.Sprintf("aggregate by %s {%s}  per-group state%s; emits -old +new for changed groups",
			scalars(op.Key), strings.Join(as, ", "), orderedNote(op))
	}
	return n.Op.Name()
}

// describeSemiJoin renders a semi or anti join with its incremental form.
func describeSemiJoin(op *SemiJoin) string {
	s := fmt.Sprintf("%s on %s == %s", op.Name(), scalars(op.LeftKey), scalars(op.RightKey))
	what := "left rows with a match"
	if op.Anti {
		what = "left rows without a match"
	}
	if op.Cond == nil {
		return s + "  " + what + ": Δl, and ±z⁻¹(I l) of the keys whose match count crosses 0"
	}
	return s + " and " + op.Cond.Text + "  " + what + ": Δl, and z⁻¹(I l) of the keys Δr touches, re-matched"
}

// String renders an aggregate call as written: count(distinct x),
// string_agg(s, ", " order by k desc).
func (a AggFunc) String() string {
	var args []string
	if a.Arg != nil {
		args = append(args, a.Arg.Text)
	}
	if a.Sep != nil {
		args = append(args, a.Sep.Text)
	}
	s := strings.Join(args, ", ")
	if a.Distinct {
		s = "distinct " + s
	}
	if len(a.OrderBy) > 0 {
		s += " order by " + OrderText(a.OrderBy)
	}
	return a.Name + "(" + s + ")"
}

// OrderText renders order keys as written: k desc, j.
func OrderText(ks []OrderKey) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Key.Text
		if k.Desc {
			out[i] += " desc"
		}
	}
	return strings.Join(out, ", ")
}

// orderedNote names the multisets an aggregate keeps beside its linear
// accumulators.
func orderedNote(op *Aggregate) string {
	var byValue, byOrder []string
	for _, a := range op.Aggs {
		impl, err := a.Aggregator()
		if err != nil {
			continue
		}
		switch impl.Shape() {
		case stdlib.BySpelling:
			byValue = appendNew(byValue, a.Name)
		case stdlib.ByValue:
			byValue = appendNew(byValue, a.Name+"(distinct)")
		case stdlib.ByItem:
			byOrder = appendNew(byOrder, a.Name)
		}
	}
	var notes []string
	if len(byValue) > 0 {
		notes = append(notes, "ordered multisets for "+strings.Join(byValue, "/"))
	}
	if len(byOrder) > 0 {
		notes = append(notes, "multisets ordered by (order keys, value) for "+strings.Join(byOrder, "/"))
	}
	if len(notes) == 0 {
		return ""
	}
	return " with " + strings.Join(notes, " and ")
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func scalars(ss []Scalar) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Text)
	}
	return "(" + strings.Join(out, ", ") + ")"
}

func colList(cols []Column) string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name+" "+c.Type.String())
	}
	return "(" + strings.Join(out, ", ") + ")"
}

func indexNames(cols []Column, idx []int) string {
	var out []string
	for _, i := range idx {
		out = append(out, cols[i].Name)
	}
	return "(" + strings.Join(out, ", ") + ")"
}

// Text renders a window as explain and lock files show it: window by
// (keys) per (keys) {lag(x), row_number()}.
func (op *Window) Text() string {
	per := ""
	if len(op.Per) > 0 {
		per = " per " + scalars(op.Per)
	}
	var fs []string
	for _, f := range op.Funcs {
		text := f.Name + "(" + f.Arg.Text + ")"
		if f.Aggregate() {
			text += fmt.Sprintf(" rows %d preceding", f.Frame)
		}
		fs = append(fs, text)
	}
	return fmt.Sprintf("window by %s%s {%s}", OrderText(op.By), per, strings.Join(fs, ", "))
}

// Text renders a session window as explain and lock files show it.
func (op *Session) Text() string {
	per := ""
	if len(op.Per) > 0 {
		per = " per " + scalars(op.Per)
	}
	return fmt.Sprintf("session %s gap interval %q%s", op.Time.Text, types.Format(op.Gap, types.Of(types.Interval)), per)
}
