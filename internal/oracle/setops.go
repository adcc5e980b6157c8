package oracle

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// MaxIterations is the number of iterations of a recursive view after
// which Eval gives up, as the runtime's default limit does.
const MaxIterations = 100_000

// setOp computes except or intersect class by class: a class of equal
// rows counted m times on the left and n on the right is in the result
// as its left row of smallest identity, max(0, m-n) or min(m, n) times
// with all, once when the set condition holds without.
func (e *evaluator) setOp(r *typecheck.SetOp) (*zset.ZSet, error) {
	left, err := e.rel(r.Left)
	if err != nil {
		return nil, err
	}
	right, err := e.rel(r.Right)
	if err != nil {
		return nil, err
	}
	m, rep := classCounts(left)
	n, _ := classCounts(right)
	out := zset.New()
	for class, lm := range m {
		rn := n[class]
		var w int64
		switch {
		case r.Op == lang.Except && r.All:
			w = max(0, lm-rn)
		case r.Op == lang.Except && rn == 0:
			w = 1
		case r.Op == lang.Intersect && r.All:
			w = min(lm, rn)
		case r.Op == lang.Intersect && rn > 0:
			w = 1
		}
		out.Add(rep[class], w)
	}
	return out, nil
}

// classCounts returns, per class of equal rows with rows of positive
// weight, their total weight and the row of smallest identity.
func classCounts(z *zset.ZSet) (map[string]int64, map[string]zset.Row) {
	counts, rep := map[string]int64{}, map[string]zset.Row{}
	for _, en := range z.Entries() {
		if en.Weight <= 0 {
			continue
		}
		class := types.KeyOf(en.Row)
		counts[class] += en.Weight
		if cur, ok := rep[class]; !ok || types.RowKey(en.Row) < types.RowKey(cur) {
			rep[class] = en.Row
		}
	}
	return counts, rep
}

// sorted is a row with its order keys' values.
type sorted struct {
	sort []any
	row  zset.Row
}

// orderedGroups sorts the rows of r's input into groups of equal per
// values, every copy of a row separately, each group in the order of by
// (ties broken by the row, NULLs last, then by its written form), as
// top and window order them.
func (e *evaluator) orderedGroups(in *zset.ZSet, what string, perX []typecheck.Expr, byKeys []typecheck.OrderKey) (map[string][]sorted, error) {
	per, by := e.compileAll(perX), make([]ir.Scalar, len(byKeys))
	for i, k := range byKeys {
		by[i] = ir.CompileAt(k.X, e.now)
	}
	groups := map[string][]sorted{}
	for _, en := range in.Entries() {
		if en.Weight < 0 {
			return nil, fmt.Errorf("%s input holds a row of negative weight %d", what, en.Weight)
		}
		k, err := evalAll(per, en.Row)
		if err != nil {
			return nil, err
		}
		s, err := evalAll(by, en.Row)
		if err != nil {
			return nil, err
		}
		class := types.KeyOf(k)
		for range en.Weight {
			groups[class] = append(groups[class], sorted{s, en.Row})
		}
	}
	for _, rows := range groups {
		slices.SortFunc(rows, func(a, b sorted) int {
			if c := compareKeys(byKeys, a.sort, b.sort); c != 0 {
				return c
			}
			if c := nullsLast(a.row, b.row); c != 0 {
				return c
			}
			return strings.Compare(types.RowKey(a.row), types.RowKey(b.row))
		})
	}
	return groups, nil
}

// top keeps the first N rows of each group.
func (e *evaluator) top(r *typecheck.Top) (*zset.ZSet, error) {
	in, err := e.rel(r.In)
	if err != nil {
		return nil, err
	}
	groups, err := e.orderedGroups(in, "top", r.Per, r.By)
	if err != nil {
		return nil, err
	}
	out := zset.New()
	for _, rows := range groups {
		for _, x := range rows[:min(int64(len(rows)), r.N)] {
			out.Add(x.row, 1)
		}
	}
	return out, nil
}

// window gives each row of each group its functions' values at the rows
// before and after it.
func (e *evaluator) window(r *typecheck.Window) (*zset.ZSet, error) {
	in, err := e.rel(r.In)
	if err != nil {
		return nil, err
	}
	groups, err := e.orderedGroups(in, "window", r.Per, r.By)
	if err != nil {
		return nil, err
	}
	args := make([]ir.Scalar, len(r.Funcs))
	for i, f := range r.Funcs {
		if f.Arg != nil {
			args[i] = ir.CompileAt(f.Arg, e.now)
		}
	}
	out := zset.New()
	for _, rows := range groups {
		var rank, dense int64
		for i, x := range rows {
			if i == 0 || compareKeys(r.By, rows[i-1].sort, x.sort) != 0 {
				rank, dense = int64(i)+1, dense+1
			}
			o := append(zset.Row{}, x.row...)
			for j, f := range r.Funcs {
				var v any
				switch f.Name {
				case "count", "sum", "avg":
					call := typecheck.AggCall{Name: f.Name, Type: f.T}
					if f.Arg != nil {
						call.Args = []typecheck.Expr{f.Arg}
					}
					var frame []zset.Entry
					for _, x := range rows[max(0, i-f.Frame) : i+1] {
						frame = append(frame, zset.Entry{Row: x.row, Weight: 1})
					}
					if v, err = e.aggregate(call, frame); err != nil {
						return nil, err
					}
				case "row_number":
					v = int64(i) + 1
				case "rank":
					v = rank
				case "dense_rank":
					v = dense
				default:
					at := i - 1
					if f.Name == "lead" {
						at = i + 1
					}
					if at >= 0 && at < len(rows) {
						if v, err = args[j].Eval(rows[at].row); err != nil {
							return nil, err
						}
					}
				}
				o = append(o, v)
			}
			out.Add(o, 1)
		}
	}
	return out, nil
}

// session orders each group's rows by time, every copy separately, and
// cuts them into sessions where consecutive times are gap or more apart.
func (e *evaluator) session(r *typecheck.Session) (*zset.ZSet, error) {
	in, err := e.rel(r.In)
	if err != nil {
		return nil, err
	}
	groups, err := e.orderedGroups(in, "session", r.Per, []typecheck.OrderKey{{X: r.Time}})
	if err != nil {
		return nil, err
	}
	gap := r.Gap.Duration()
	out := zset.New()
	for _, rows := range groups {
		var timed []sorted
		for _, x := range rows {
			if x.sort[0] != nil {
				timed = append(timed, x)
			}
		}
		for from := 0; from < len(timed); {
			to := from + 1
			for to < len(timed) && timed[to].sort[0].(time.Time).Sub(timed[to-1].sort[0].(time.Time)) < gap {
				to++
			}
			start, end := timed[from].sort[0].(time.Time), timed[to-1].sort[0].(time.Time).Add(gap)
			for _, x := range timed[from:to] {
				out.Add(append(append(zset.Row{}, x.row...), start, end), 1)
			}
			from = to
		}
	}
	return out, nil
}

// fixpoint iterates naively from the empty relation: V := distinct(base
// + step(V)) until V no longer changes. The step is monotone, so this
// is the least fixpoint.
func (e *evaluator) fixpoint(r *typecheck.Fixpoint) (*zset.ZSet, error) {
	base, err := e.rel(r.Base)
	if err != nil {
		return nil, err
	}
	v := zset.New()
	defer func() { e.rec = nil }()
	for range MaxIterations {
		e.rec = v
		step, err := e.rel(r.Step)
		if err != nil {
			return nil, err
		}
		next := base.Plus(step).Distinct()
		if next.Equal(v) {
			return v, nil
		}
		v = next
	}
	return nil, fmt.Errorf("recursive view %s reached no fixpoint in %d iterations", r.Name, MaxIterations)
}
