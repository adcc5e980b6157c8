package ir

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
)

// Watermark is a table's declared bound on how late its rows arrive:
// after each step, no change will come whose Column is earlier than the
// table's watermark, the latest Column of a row inserted so far less
// Lateness. The runtime drops (and counts) a change that does.
type Watermark struct {
	Column   int
	Lateness time.Duration
}

// Term is one table's watermark moved by Offset.
type Term struct {
	Table  string
	Offset time.Duration
}

// Floor is a lower bound on a column in every change a node emits after
// the current step: the least of its terms. Nil means none is known.
type Floor []Term

// Value returns the bound for the tables' current watermarks; false when
// it has no term or some term's table has no watermark yet.
func (l Floor) Value(marks map[string]time.Time) (time.Time, bool) {
	var out time.Time
	for i, t := range l {
		m, ok := marks[t.Table]
		if !ok {
			return time.Time{}, false
		}
		if v := m.Add(t.Offset); i == 0 || v.Before(out) {
			out = v
		}
	}
	return out, len(l) > 0
}

// shift moves every term by d.
func (l Floor) shift(d time.Duration) Floor {
	if l == nil {
		return nil
	}
	out := make(Floor, len(l))
	for i, t := range l {
		out[i] = Term{t.Table, t.Offset + d}
	}
	return out
}

// minFloor is a bound at or below both a and b: nil when either is.
func minFloor(a, b Floor) Floor {
	if a == nil || b == nil {
		return nil
	}
	out := slices.Clone(a)
	for _, t := range b {
		i := slices.IndexFunc(out, func(x Term) bool { return x.Table == t.Table })
		switch {
		case i < 0:
			out = append(out, t)
		case t.Offset < out[i].Offset:
			out[i].Offset = t.Offset
		}
	}
	return out
}

// Below holds of a row (or a group's key) whose column Col is earlier
// than Bound.
type Below struct {
	Col   int
	Bound Floor
}

// Clause holds when one of its Below does.
type Clause []Below

// Freeing says which of a stateful node's state no later change can
// reach, so that the runtime may drop it: an entry is final when every
// one of Clauses holds of it. For an Integrate the entries are its rows;
// for an Aggregate, TopK, Window or Session its groups, whose keys the
// clauses read. Of a Session, Ended also frees the group whose every
// session ended before the bound on its Time: no later row can join them.
type Freeing struct {
	Node    *Node
	Clauses []Clause
	Ended   Floor
	// Behind, for a temporal filter's ordered integral, are the bounds
	// that free its rows: only a row whose Row fails one of them now may
	// go, since the clock, moving on, never lets it pass again.
	Behind []Bound
}

// Watermarked reports whether some input declares a watermark.
func (c *Circuit) Watermarked() bool {
	for _, in := range c.Inputs {
		if in.Watermark != nil {
			return true
		}
	}
	return false
}

// Floors returns, by node ID, the lower bound of each column of the
// node's changes that the inputs' watermarks imply (nil where none
// does). A source's watermarked column is bounded by its watermark;
// bounds pass through projections of the column (moved by a constant
// interval, or rounded down by date_bin or date_trunc), filters, unions,
// the keys of joins and groups, and window_end of a session.
func (c *Circuit) Floors() [][]Floor {
	lo := make([][]Floor, len(c.Nodes))
	for _, in := range c.Inputs {
		if in.Watermark != nil && in.Node != nil {
			lo[in.Node.ID] = make([]Floor, len(in.Columns))
			lo[in.Node.ID][in.Watermark.Column] = Floor{{Table: in.Name}}
		}
	}
	for _, n := range c.Nodes {
		if lo[n.ID] == nil {
			lo[n.ID] = floorsOf(n, lo)
		}
	}
	return lo
}

func floorsOf(n *Node, lo [][]Floor) []Floor {
	out := make([]Floor, len(n.Cols))
	in := func(i int) []Floor { return lo[n.Inputs[i].ID] }
	switch op := n.Op.(type) {
	case *Filter, *Distinct, *Integrate, *Delay, *OrderedIntegrate:
		copy(out, in(0))
	case *Stamp:
		copy(out, in(0))
	case *Map:
		for i, x := range op.Exprs {
			out[i] = ExprFloor(x, in(0))
		}
	case *FlatMap:
		copy(out, in(0))
		if e, ok := op.Elem.Expr.(*typecheck.Call); ok && e.Func.Name == "hop_starts" && len(e.Args) == 3 {
			if size, ok := constDuration(e.Args[2]); ok {
				// A row at t is in the windows starting after t - size.
				out[len(out)-1] = typedFloor(e.Args[0], in(0)).shift(-size)
			}
		}
	case *Sum:
		for c := range out {
			out[c] = in(0)[c]
			for i := range n.Inputs[1:] {
				out[c] = minFloor(out[c], in(i + 1)[c])
			}
		}
	case *SetOp:
		for c := range out {
			out[c] = minFloor(in(0)[c], in(1)[c])
		}
	case *Join:
		// A change pairs a new row of one side with an old row of the
		// other, or two new rows: an equal key is bounded by the lesser
		// of the two sides' bounds.
		width := len(n.Inputs[0].Cols)
		for p := range op.LeftKey {
			l, lok := op.LeftKey[p].Column()
			r, rok := op.RightKey[p].Column()
			if lok && rok {
				b := minFloor(in(0)[l], in(1)[r])
				out[l], out[width+r] = b, b
			}
		}
	case *SemiJoin:
		for p := range op.LeftKey {
			l, lok := op.LeftKey[p].Column()
			r, rok := op.RightKey[p].Column()
			if lok && rok {
				out[l] = minFloor(in(0)[l], in(1)[r])
			}
		}
	case *Aggregate:
		for p, k := range op.Key {
			out[p] = ExprFloor(k, in(0))
		}
	case *TopK:
		perFloors(out, op.Per, in(0))
	case *Window:
		perFloors(out, op.Per, in(0))
	case *Session:
		perFloors(out, op.Per, in(0))
		// Every session a change alters, before or after, holds a row of
		// the change, or ends after one: window_end is bounded by Time.
		out[len(out)-1] = ExprFloor(op.Time, in(0))
	}
	return out
}

// perFloors bounds the columns that a group's key reads as they are: a
// change re-emits rows of the groups it touches only.
func perFloors(out []Floor, per []Scalar, in []Floor) {
	for _, p := range per {
		if c, ok := p.Column(); ok {
			out[c] = in[c]
		}
	}
}

// ExprFloor is the bound of an expression over a row with columns
// bounded by in.
func ExprFloor(x Scalar, in []Floor) Floor {
	if c, ok := x.Column(); ok {
		return in[c]
	}
	if x.Expr == nil {
		return nil
	}
	return typedFloor(x.Expr, in)
}

func typedFloor(x typecheck.Expr, in []Floor) Floor {
	if !timeLike(x.Type()) {
		return nil
	}
	switch x := x.(type) {
	case *typecheck.ColRef:
		return in[x.Index]
	case *typecheck.Binary:
		if d, ok := constDuration(x.Y); ok && (x.Op == lang.Add || x.Op == lang.Sub) {
			if x.Op == lang.Sub {
				d = -d
			}
			return typedFloor(x.X, in).shift(d)
		}
		if d, ok := constDuration(x.X); ok && x.Op == lang.Add {
			return typedFloor(x.Y, in).shift(d)
		}
	case *typecheck.Call:
		switch {
		case x.Func.Name == "date_bin" && len(x.Args) == 3:
			if w, ok := constDuration(x.Args[0]); ok {
				return typedFloor(x.Args[1], in).shift(-w)
			}
		case x.Func.Name == "date_trunc" && len(x.Args) == 2:
			if f, ok := x.Args[0].(*typecheck.Const); ok {
				if unit, ok := truncUnits[f.Value.(string)]; ok {
					return typedFloor(x.Args[1], in).shift(-unit)
				}
			}
		}
	}
	return nil
}

// truncUnits is, for each field of date_trunc, the most it moves a time
// back (a month's, 31 days; a year's, 366 days).
var truncUnits = map[string]time.Duration{
	"microseconds": time.Microsecond, "milliseconds": time.Millisecond,
	"second": time.Second, "minute": time.Minute, "hour": time.Hour,
	"day": 24 * time.Hour, "week": 7 * 24 * time.Hour,
	"month": 31 * 24 * time.Hour, "quarter": 92 * 24 * time.Hour, "year": 366 * 24 * time.Hour,
}

func timeLike(t types.Type) bool {
	return t.Kind == types.Timestamp || t.Kind == types.Timestamptz || t.Kind == types.Date
}

// constDuration is the length of a constant interval of days and time.
func constDuration(x typecheck.Expr) (time.Duration, bool) {
	c, ok := x.(*typecheck.Const)
	if !ok {
		return 0, false
	}
	iv, ok := c.Value.(types.IntervalValue)
	if !ok || iv.Months != 0 {
		return 0, false
	}
	return iv.Duration(), true
}

// FormatLateness writes a lateness as the interval it was declared as:
// interval "7 days", interval "00:00:04".
func FormatLateness(d time.Duration) string {
	day := 24 * time.Hour
	iv := types.IntervalValue{Days: int32(d / day), Micros: (d % day).Microseconds()}
	return fmt.Sprintf("interval %q", types.Format(iv, types.Type{Kind: types.Interval}))
}

// Freeings returns what the watermarks let the runtime drop from each
// stateful node's state, given the circuit's Floors; nil when no input
// declares a watermark. Nodes of recursive views' bodies keep all their
// state.
func (c *Circuit) Freeings(lo [][]Floor) []Freeing {
	if !c.Watermarked() {
		return nil
	}
	inBody := map[*Node]bool{}
	for _, n := range c.Nodes {
		if fp, ok := n.Op.(*Fixpoint); ok {
			for _, b := range fp.Body {
				inBody[b] = true
			}
		}
	}
	// readers: each Integrate's consumers' conditions on its rows.
	readers := map[*Node][]Clause{}
	unknown := map[*Node]bool{}
	var out []Freeing
	for _, n := range c.Nodes {
		if inBody[n] {
			continue
		}
		for i, d := range n.Inputs {
			if _, ok := d.Op.(*Delay); !ok {
				continue
			}
			ix := d.Inputs[0]
			cl, ok := readClause(n, i, lo)
			if !ok {
				unknown[ix] = true
				continue
			}
			readers[ix] = append(readers[ix], cl)
		}
		switch op := n.Op.(type) {
		case *Aggregate:
			var cl Clause
			for p, k := range op.Key {
				if b := ExprFloor(k, lo[n.Inputs[0].ID]); b != nil {
					cl = append(cl, Below{Col: p, Bound: b})
				}
			}
			if cl != nil {
				out = append(out, Freeing{Node: n, Clauses: []Clause{cl}})
			}
		case *TopK:
			out = appendPerFreeing(out, n, op.Per, nil, lo)
		case *Window:
			out = appendPerFreeing(out, n, op.Per, nil, lo)
		case *Session:
			out = appendPerFreeing(out, n, op.Per, ExprFloor(op.Time, lo[n.Inputs[0].ID]), lo)
		case *TemporalFilter:
			out = append(out, temporalFreeings(n, op, lo)...)
		case *Stamp:
			// A row's arrival times are read when it is deleted.
			if own := rowClause(lo[n.Inputs[0].ID]); own != nil {
				out = append(out, Freeing{Node: n, Clauses: []Clause{own}})
			}
		}
	}
	for _, n := range c.Nodes {
		cls, ok := readers[n]
		if !ok || unknown[n] || inBody[n] || n == c.Clock {
			continue
		}
		if _, ok := n.Op.(*Integrate); !ok {
			continue
		}
		// The integral's own input must not retract a row it dropped.
		own := rowClause(lo[n.Inputs[0].ID])
		if own == nil || slices.ContainsFunc(cls, func(cl Clause) bool { return cl == nil }) {
			continue
		}
		all := []Clause{own}
		for _, cl := range cls {
			if !slices.ContainsFunc(all, func(x Clause) bool { return reflect.DeepEqual(x, cl) }) {
				all = append(all, cl)
			}
		}
		out = append(out, Freeing{Node: n, Clauses: all})
	}
	return out
}

func appendPerFreeing(out []Freeing, n *Node, per []Scalar, ended Floor, lo [][]Floor) []Freeing {
	var cl Clause
	for p, k := range per {
		if b := ExprFloor(k, lo[n.Inputs[0].ID]); b != nil {
			cl = append(cl, Below{Col: p, Bound: b})
		}
	}
	if cl == nil && ended == nil {
		return out
	}
	f := Freeing{Node: n, Ended: ended}
	if cl != nil {
		f.Clauses = []Clause{cl}
	}
	return append(out, f)
}

// rowClause holds of a row one of whose columns is below its bound.
func rowClause(lo []Floor) Clause {
	var cl Clause
	for c, b := range lo {
		if b != nil {
			cl = append(cl, Below{Col: c, Bound: b})
		}
	}
	return cl
}

// readClause is the condition under which node n, reading an integral
// through its input i (a Delay), will never read a row of it again: no
// later change on the other side can match the row. ok is false for a
// reader whose reads are not known.
func readClause(n *Node, i int, lo [][]Floor) (Clause, bool) {
	var lkeys, rkeys []Scalar
	switch op := n.Op.(type) {
	case *Join:
		lkeys, rkeys = op.LeftKey, op.RightKey
	case *SemiJoin:
		lkeys, rkeys = op.LeftKey, op.RightKey
		if op.Cond == nil && i == 3 {
			// The right integral holds keys: its columns are the key's.
			var cl Clause
			for p := range rkeys {
				l, ok := lkeys[p].Column()
				if ok && lo[n.Inputs[0].ID][l] != nil {
					cl = append(cl, Below{Col: p, Bound: lo[n.Inputs[0].ID][l]})
				}
			}
			return cl, true
		}
	case *Distinct:
		return rowClause(lo[n.Inputs[0].ID]), true
	case *SetOp:
		// Both sides' changes read both integrals, by the whole row.
		return nil, false
	default:
		return nil, false
	}
	// The left integral (input 2) is read with right changes, and the
	// right one (input 3) with left changes.
	mine, theirs, other := lkeys, rkeys, n.Inputs[1]
	if i == 3 {
		mine, theirs, other = rkeys, lkeys, n.Inputs[0]
	}
	var cl Clause
	for p := range mine {
		c, ok := mine[p].Column()
		o, ook := theirs[p].Column()
		if ok && ook && lo[other.ID][o] != nil {
			cl = append(cl, Below{Col: c, Bound: lo[other.ID][o]})
		}
	}
	return cl, true
}

// temporalFreeings frees, from each ordered integral of a temporal
// filter, the rows final by their own bounds that a lower bound of the
// filter (Row > Clock or Row >= Clock, Clock rising with the clock) has
// left behind.
func temporalFreeings(n *Node, op *TemporalFilter, lo [][]Floor) []Freeing {
	own := rowClause(lo[n.Inputs[0].ID])
	if own == nil {
		return nil
	}
	behind := map[int][]Bound{}
	var inputs []int
	for _, b := range op.Bounds {
		if (b.Op == lang.Gt || b.Op == lang.Ge) && b.Rising() {
			if behind[b.Input] == nil {
				inputs = append(inputs, b.Input)
			}
			behind[b.Input] = append(behind[b.Input], b)
		}
	}
	var out []Freeing
	for _, i := range inputs {
		out = append(out, Freeing{Node: n.Inputs[i].Inputs[0], Clauses: []Clause{own}, Behind: behind[i]})
	}
	return out
}
