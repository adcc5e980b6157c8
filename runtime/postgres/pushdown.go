package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// A backfill's aggregates computed by Postgres (issue 10). An aggregate
// over source tables, through filters, maps and joins whose integrals
// are the source tables themselves, has all its input in Postgres: SQL
// can group and sum it where the rows are, and hand Go one row per group
// and scale instead of every source row. The backfill builds each
// group's state from those sums (runtime.Presummer), the state the
// rows would have given one by one, and runs only the rest of the
// circuit in memory, with the aggregate's rows as its input.
//
// A part of the circuit is pushed down only when SQL computes exactly
// what the engine would:
//   - the aggregates are count, sum and avg over integers and numerics,
//     whose sums are exact (not floats, whose sum depends on the order);
//   - the group keys are integers, text or bool, which SQL groups as
//     KeyOf does (not numerics, whose spellings a group counts);
//   - every expression is one translate renders: columns, constants,
//     and, or, not, comparisons, +, - and * of integers and numerics,
//     IS NULL and widening casts, on which Postgres and the engine agree
//     (an overflow fails in both);
//   - no node inside is a view, or read by anything outside it;
//   - every integral inside reads its source table (source-backed), so
//     it has no state to fill.
// When the query fails (an overflow, say) the backfill computes in
// memory instead, where the failure is found and reported as any step's.

// pushdownWorkMem is the work_mem a backfill's aggregate queries have
// at least: the hash table of the shop workload's 100,000 groups takes
// 56 MB.
const pushdownWorkMem = 64 << 20

// errNotPushable says an expression or node has no SQL form here.
var errNotPushable = errors.New("not pushable")

// pushdown is one Aggregate node whose groups SQL computes.
type pushdown struct {
	name string // the view the node is, or the node
	node *ir.Node
	op   *ir.Aggregate
	sum  *runtime.Presummer
	// query returns one row per group and scales of its numeric
	// arguments: the key's values, the rows' count, then per aggregate
	// the count of non-NULL arguments and their sum as text. orderBy
	// orders its rows by the key, so that a group's rows come together.
	query, orderBy string
	// inner is the nodes under node that the query computes, by ID.
	inner map[int]bool
	// sources are the source tables the query reads.
	sources []*ir.Input
	// first is the query's first rows, fetched when it was started.
	first [][]any
}

// virtualInput names the input that stands for a pushed-down aggregate
// in the circuit the rest of a backfill runs: no table can be named so.
func (d *pushdown) virtualInput() string { return fmt.Sprintf("\x00n%d", d.node.ID) }

// pushdowns returns the aggregates of the circuit a backfill can have
// Postgres compute, given its source-backed integrals.
func (p *Runner) pushdowns(sources map[int]*sourceIndex) []*pushdown {
	c := p.Circuit
	consumers := map[int][]int{}
	for _, n := range c.Nodes {
		if _, ok := n.Op.(*ir.Fixpoint); ok {
			return nil // bodies read nodes outside them; keep it simple
		}
		for _, in := range n.Inputs {
			consumers[in.ID] = append(consumers[in.ID], n.ID)
		}
	}
	views := map[int]bool{}
	for _, v := range c.Views {
		views[v.Node.ID] = true
	}
	inputOf := map[int]*ir.Input{}
	for _, in := range c.Inputs {
		if in.Node != nil && in.Postgres != nil {
			inputOf[in.Node.ID] = in
		}
	}
	var out []*pushdown
	for _, n := range c.Nodes {
		op, ok := n.Op.(*ir.Aggregate)
		if !ok {
			continue
		}
		b := &pushBuilder{p: p, sources: sources, inputOf: inputOf, inner: map[int]bool{}}
		d, err := b.plan(n, op)
		if err != nil {
			continue
		}
		inside := func() bool {
			for id := range d.inner {
				if views[id] {
					return false
				}
				for _, user := range consumers[id] {
					if user != n.ID && !d.inner[user] {
						return false
					}
				}
			}
			return true
		}
		if inside() {
			d.name = fmt.Sprintf("node n%d", n.ID)
			for _, v := range c.Views {
				if v.Node.ID == n.ID {
					d.name = v.Name
				}
			}
			out = append(out, d)
		}
	}
	return out
}

// pushBuilder renders one aggregate's input as SQL.
type pushBuilder struct {
	p       *Runner
	sources map[int]*sourceIndex
	inputOf map[int]*ir.Input
	inner   map[int]bool
	read    []*ir.Input
}

// plan renders the queries of Aggregate node n (see pushdown).
func (b *pushBuilder) plan(n *ir.Node, op *ir.Aggregate) (*pushdown, error) {
	sum, err := runtime.NewPresummer(op)
	if err != nil {
		return nil, err
	}
	from, err := b.rel(n.Inputs[0])
	if err != nil {
		return nil, err
	}
	// The input's keys (k0, ...) and arguments (a0, ...), each computed
	// once: OFFSET 0 keeps Postgres from copying the expressions into
	// every aggregate that reads them.
	var inner, keys []string
	for i, k := range op.Key {
		switch k.Type.Kind {
		case types.Int2, types.Int4, types.Int8, types.Text, types.Bool:
		default:
			return nil, errNotPushable
		}
		x, err := translate(k.Expr, "t")
		if err != nil {
			return nil, err
		}
		if k.Type.Kind == types.Text {
			x += ` COLLATE "C"` // equal only when the same bytes, as KeyOf
		}
		keys = append(keys, "k"+strconv.Itoa(i))
		inner = append(inner, x+" AS k"+strconv.Itoa(i))
	}
	// The result's columns: the key, the rows' count, then per
	// aggregate the count of non-NULL arguments and their sum as text;
	// one row per group and scales of its numeric arguments.
	sel := append([]string{}, keys...)
	sel = append(sel, "count(*)")
	group := append([]string{}, keys...)
	for i, a := range op.Aggs {
		if a.Arg == nil {
			sel = append(sel, "0", "NULL")
			continue
		}
		if a.Distinct || a.Sep != nil || len(a.OrderBy) > 0 {
			return nil, errNotPushable
		}
		x, err := translate(a.Arg.Expr, "t")
		if err != nil {
			return nil, err
		}
		arg := "a" + strconv.Itoa(i)
		inner = append(inner, x+" AS "+arg)
		switch {
		case a.Name == "count":
			sel = append(sel, "count("+arg+")", "NULL")
			continue
		case a.Arg.Type.Kind == types.Numeric:
			group = append(group, "scale("+arg+")")
		case !exact(a.Arg.Type.Kind):
			return nil, errNotPushable
		}
		sel = append(sel, "count("+arg+")", "sum("+arg+")::text")
	}
	for i := range sel {
		sel[i] += " AS x" + strconv.Itoa(i) // the temporary table's columns
	}
	d := &pushdown{node: n, op: op, sum: sum, inner: b.inner, sources: b.read}
	d.query = "SELECT " + strings.Join(sel, ", ") +
		" FROM (SELECT " + strings.Join(inner, ", ") + " FROM (" + from + ") t OFFSET 0) t"
	if len(group) > 0 {
		d.query += " GROUP BY " + strings.Join(group, ", ")
	} else {
		// Without keys SQL gives a row even over no rows; the aggregate's
		// state holds no group then (the circuit adds SQL's default row
		// after it, see ir's emptyGroup).
		d.query += " HAVING count(*) > 0"
	}
	if len(keys) > 0 {
		order := make([]string, len(keys))
		for i := range keys {
			order[i] = strconv.Itoa(i + 1)
		}
		d.orderBy = " ORDER BY " + strings.Join(order, ", ")
	}
	return d, nil
}

// rel renders the full contents of node n as a SELECT whose columns are
// c0, c1, ... in the order of n.Cols.
func (b *pushBuilder) rel(n *ir.Node) (string, error) {
	b.inner[n.ID] = true
	switch op := n.Op.(type) {
	case *ir.Source:
		in, ok := b.inputOf[n.ID]
		if !ok {
			return "", errNotPushable
		}
		if !slices.Contains(b.read, in) {
			b.read = append(b.read, in)
		}
		cols := make([]string, len(in.Columns))
		for i, c := range in.Columns {
			cols[i] = "t." + ident(c.Name) + " AS c" + strconv.Itoa(i)
		}
		return "SELECT " + strings.Join(cols, ", ") + " FROM ONLY " + b.p.sourceName(in) + " t", nil
	case *ir.Filter:
		from, err := b.rel(n.Inputs[0])
		if err != nil {
			return "", err
		}
		pred, err := translate(op.Pred.Expr, "t")
		if err != nil {
			return "", err
		}
		return "SELECT * FROM (" + from + ") t WHERE " + pred, nil
	case *ir.Map:
		from, err := b.rel(n.Inputs[0])
		if err != nil {
			return "", err
		}
		cols := make([]string, len(op.Exprs))
		for i, x := range op.Exprs {
			s, err := translate(x.Expr, "t")
			if err != nil {
				return "", err
			}
			cols[i] = s + " AS c" + strconv.Itoa(i)
		}
		return "SELECT " + strings.Join(cols, ", ") + " FROM (" + from + ") t", nil
	case *ir.Sum:
		parts := make([]string, len(n.Inputs))
		for i, in := range n.Inputs {
			from, err := b.rel(in)
			if err != nil {
				return "", err
			}
			parts[i] = "SELECT * FROM (" + from + ") t"
		}
		return strings.Join(parts, " UNION ALL "), nil
	case *ir.Join:
		return b.join(n, op)
	}
	return "", errNotPushable
}

// join renders an inner equi-join of two parts whose integrals read
// their source tables.
func (b *pushBuilder) join(n *ir.Node, op *ir.Join) (string, error) {
	for _, i := range []int{2, 3} { // z⁻¹(I left), z⁻¹(I right)
		delay := n.Inputs[i]
		if _, ok := delay.Op.(*ir.Delay); !ok {
			return "", errNotPushable
		}
		integral := delay.Inputs[0]
		if _, ok := b.sources[integral.ID]; !ok {
			return "", errNotPushable
		}
		b.inner[delay.ID], b.inner[integral.ID] = true, true
	}
	left, err := b.rel(n.Inputs[0])
	if err != nil {
		return "", err
	}
	right, err := b.rel(n.Inputs[1])
	if err != nil {
		return "", err
	}
	on := []string{"true"}
	for i := range op.LeftKey {
		l, err := translate(op.LeftKey[i].Expr, "l")
		if err != nil {
			return "", err
		}
		r, err := translate(op.RightKey[i].Expr, "r")
		if err != nil {
			return "", err
		}
		on = append(on, l+" = "+r)
	}
	nl := len(n.Inputs[0].Cols)
	cols := make([]string, len(n.Cols))
	for i := range n.Cols {
		if i < nl {
			cols[i] = "l.c" + strconv.Itoa(i) + " AS c" + strconv.Itoa(i)
		} else {
			cols[i] = "r.c" + strconv.Itoa(i-nl) + " AS c" + strconv.Itoa(i)
		}
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM (" + left + ") l JOIN (" + right + ") r ON " + strings.Join(on, " AND "), nil
}

// exact reports whether values of kind k are integers or numerics, whose
// arithmetic and comparisons Postgres and the engine do alike.
func exact(k types.Kind) bool {
	switch k {
	case types.Int2, types.Int4, types.Int8, types.Numeric:
		return true
	}
	return false
}

// translatable reports whether translate handles values of type t;
// pgTypeName names it, with a numeric's precision and scale, so that a
// cast rounds in SQL as it does in the engine.
func translatable(t types.Type) bool {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Numeric, types.Text, types.Bool:
		return true
	}
	return false
}

// translate renders a checked expression over the columns c0, c1, ...
// of the row qual as SQL that gives the value the engine gives, or fails
// with errNotPushable.
func translate(e typecheck.Expr, qual string) (string, error) {
	if e == nil {
		return "", errNotPushable
	}
	if !translatable(e.Type()) {
		return "", errNotPushable
	}
	switch x := e.(type) {
	case *typecheck.ColRef:
		return qual + ".c" + strconv.Itoa(x.Index), nil
	case *typecheck.Const:
		return constant(x)
	case *typecheck.IsNull:
		s, err := translate(x.X, qual)
		if err != nil {
			return "", err
		}
		if x.Not {
			return "(" + s + " IS NOT NULL)", nil
		}
		return "(" + s + " IS NULL)", nil
	case *typecheck.Cast:
		from := x.X.Type().Kind
		to := x.T.Kind
		if !exact(from) || !exact(to) || from == types.Numeric && to != types.Numeric {
			return "", errNotPushable // narrowing rounds or fails: leave it to the engine
		}
		s, err := translate(x.X, qual)
		if err != nil {
			return "", err
		}
		return "(" + s + ")::" + pgTypeName(x.T), nil
	case *typecheck.Unary:
		s, err := translate(x.X, qual)
		if err != nil {
			return "", err
		}
		switch {
		case x.Op == lang.Not && x.T.Kind == types.Bool:
			return "(NOT " + s + ")", nil
		case x.Op == lang.Neg && exact(x.T.Kind):
			return "(- " + s + ")", nil
		}
	case *typecheck.Binary:
		return binary(x, qual)
	}
	return "", errNotPushable
}

// binary renders the operators translate handles.
func binary(x *typecheck.Binary, qual string) (string, error) {
	lk, rk := x.X.Type().Kind, x.Y.Type().Kind
	var op string
	switch x.Op {
	case lang.And:
		op = "AND"
	case lang.Or:
		op = "OR"
	case lang.Add, lang.Sub, lang.Mul:
		if !exact(lk) || !exact(rk) || !exact(x.T.Kind) {
			return "", errNotPushable
		}
		op = map[lang.Op]string{lang.Add: "+", lang.Sub: "-", lang.Mul: "*"}[x.Op]
	case lang.Eq, lang.Ne:
		same := exact(lk) && exact(rk) || lk == rk && (lk == types.Text || lk == types.Bool)
		if !same {
			return "", errNotPushable
		}
		op = map[lang.Op]string{lang.Eq: "=", lang.Ne: "<>"}[x.Op]
	case lang.Lt, lang.Le, lang.Gt, lang.Ge:
		// Text orders by collation in Postgres: only numbers here.
		if !exact(lk) || !exact(rk) {
			return "", errNotPushable
		}
		op = map[lang.Op]string{lang.Lt: "<", lang.Le: "<=", lang.Gt: ">", lang.Ge: ">="}[x.Op]
	default:
		return "", errNotPushable
	}
	l, err := translate(x.X, qual)
	if err != nil {
		return "", err
	}
	r, err := translate(x.Y, qual)
	if err != nil {
		return "", err
	}
	if lk == types.Text {
		r += ` COLLATE "C"` // equal only when the same bytes, as the engine
	}
	return "(" + l + " " + op + " " + r + ")", nil
}

// constant renders a constant as a typed literal.
func constant(c *typecheck.Const) (string, error) {
	name := pgTypeName(c.T)
	switch v := c.Value.(type) {
	case nil:
		return "NULL::" + name, nil
	case int64:
		return "(" + strconv.FormatInt(v, 10) + ")::" + name, nil
	case decimal.Decimal:
		return quoteLiteral(types.FormatNumeric(v)) + "::" + name, nil
	case string:
		return quoteLiteral(v) + "::" + name, nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", errNotPushable
}

// startPushdowns opens the query of each pushdown under a savepoint and
// fetches its first rows, by which time Postgres has read and grouped
// every input row (the query sorts its groups): a query that fails
// (an overflow, say) is rolled back to its savepoint and its aggregate
// left to the engine, which reports the failure with its row. It returns
// the pushdowns whose queries run.
func (b *backfillRun) startPushdowns(ctx context.Context, ds []*pushdown, counts map[string]int) ([]*pushdown, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	// Hashing the groups in memory rather than in batches on disk; for
	// this transaction only, and never less than the server's setting.
	if _, err := b.tx.Exec(ctx, fmt.Sprintf(`SELECT set_config('work_mem', '%dkB', true)
WHERE pg_size_bytes(current_setting('work_mem')) < %d`, pushdownWorkMem>>10, pushdownWorkMem)); err != nil {
		return nil, err
	}
	var out []*pushdown
	for _, d := range ds {
		rows := 0
		var names []string
		for _, in := range d.sources {
			rows += counts[in.Name]
			names = append(names, b.p.sourceName(in))
		}
		b.p.logf("backfill: Postgres computes the groups of %s from %s (%d rows)", d.name, strings.Join(names, ", "), rows)
		if _, err := b.tx.Exec(ctx, "SAVEPOINT _stepping_pushdown"); err != nil {
			return nil, err
		}
		// The query fills a temporary table, which a cursor then reads
		// in order: Postgres plans a cursor's own query for its first
		// rows (index scans and incremental sorts), which took twice as
		// long for the shop's groups.
		_, err := b.tx.Exec(ctx, "CREATE TEMPORARY TABLE "+d.cursor()+" ON COMMIT DROP AS "+d.query)
		if err == nil {
			_, err = b.tx.Exec(ctx, "DECLARE "+d.cursor()+" NO SCROLL CURSOR FOR SELECT * FROM "+d.cursor()+d.orderBy)
		}
		if err == nil {
			d.first, err = b.fetchPushed(ctx, d)
		}
		if err != nil {
			if ctx.Err() != nil || !permanent(err) {
				return nil, err
			}
			b.p.logf("backfill: %s computed in memory instead: %v", d.name, err)
			if _, err := b.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT _stepping_pushdown"); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := b.tx.Exec(ctx, "RELEASE SAVEPOINT _stepping_pushdown"); err != nil {
			return nil, err
		}
		b.pushedRows += rows
		out = append(out, d)
	}
	return out, nil
}

// cursor is the name of the pushdown's cursor.
// cursor names the pushdown's temporary table and cursor after its query:
// pgx caches what a statement returns by its text, and a FETCH from a
// cursor of the same name but another query (a changed program's, on
// the same connection) would be read with the wrong columns.
func (d *pushdown) cursor() string {
	return fmt.Sprintf("_stepping_pushdown_%d_%s", d.node.ID, shortHash(d.query))
}

// fetchPushed fetches the next rows of a pushdown's query.
func (b *backfillRun) fetchPushed(ctx context.Context, d *pushdown) ([][]any, error) {
	rows, err := b.tx.Query(ctx, "FETCH "+strconv.Itoa(b.p.batchSize())+" FROM "+d.cursor())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
}

// finishPushdown reads the rest of a pushdown's query, builds each
// group's state from its sums, writes the states by COPY and runs the
// groups' rows through the rest of the circuit, a chunk at a time.
func (b *backfillRun) finishPushdown(ctx context.Context, d *pushdown) error {
	nk := len(d.op.Key)
	var cur keyedGroup
	nonNull := make([]int64, len(d.op.Aggs))
	sums := make([]decimal.Decimal, len(d.op.Aggs))
	chunk := d.first
	groups := 0
	for {
		var done []keyedGroup
		for _, r := range chunk {
			key := make(zset.Row, nk)
			for i := range key {
				key[i] = widen(r[i])
			}
			k := types.KeyOf(key)
			if cur.st == nil || k != cur.key {
				if cur.st != nil {
					done = append(done, cur)
				}
				cur = keyedGroup{k, d.sum.New(key)}
			}
			for i := range d.op.Aggs {
				n, _ := r[nk+1+2*i].(int64)
				nonNull[i], sums[i] = n, decimal.Zero
				text, ok := r[nk+2+2*i].(string) // NULL for count
				if n == 0 || !ok {
					continue
				}
				sum, err := types.ParseNumeric(text)
				if err != nil {
					return fmt.Errorf("backfill: node n%d: sum %q: %w", d.node.ID, text, err)
				}
				sums[i] = sum
			}
			d.sum.Add(cur.st, r[nk].(int64), nonNull, sums)
		}
		last := len(chunk) < b.p.batchSize()
		if last && cur.st != nil {
			done = append(done, cur)
		}
		if err := b.pushGroups(ctx, d, done); err != nil {
			return err
		}
		groups += len(done)
		if last {
			break
		}
		var err error
		if chunk, err = b.fetchPushed(ctx, d); err != nil {
			return err
		}
	}
	b.p.logf("backfill: %s: %d groups", d.name, groups)
	_, err := b.tx.Exec(ctx, "CLOSE "+d.cursor()+"; DROP TABLE "+d.cursor())
	return err
}

// keyedGroup is a group's state with its key as the Groups store keys
// it (types.KeyOf).
type keyedGroup struct {
	key string
	st  *runtime.GroupState
}

// pushGroups writes finished groups' states and runs their rows through
// the rest of the circuit.
func (b *backfillRun) pushGroups(ctx context.Context, d *pushdown, groups []keyedGroup) error {
	if len(groups) == 0 {
		return nil
	}
	keyed := func(yield func(string, *runtime.GroupState) bool) {
		for _, g := range groups {
			if !yield(g.key, g.st) {
				return
			}
		}
	}
	// A kept aggregate's state is in place already (see backfillIn), and
	// nothing reads it during the backfill: the aggregate stands as an
	// input (see derive).
	if !b.keep[d.node.ID] {
		table := pgx.Identifier{b.p.Schema, fmt.Sprintf("_groups_%d", d.node.ID)}
		if err := b.copyGroups(ctx, table, keyed); err != nil {
			return fmt.Errorf("backfill: writing %s: %w", table.Sanitize(), err)
		}
	}
	z := zset.New()
	for _, g := range groups {
		z.Add(d.sum.Row(g.st), 1)
	}
	return b.step(ctx, len(groups), map[string]*zset.ZSet{d.virtualInput(): z})
}

// widen turns the integers pgx gives into the engine's int64.
func widen(v any) any {
	switch x := v.(type) {
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}

// derive returns circuit c with each pushed-down aggregate replaced by
// an input of the same ID and columns, which a backfill feeds with the
// aggregate's rows: the nodes that read it, and the views it is, run as
// before, and the nodes under it get no rows.
func derive(c *ir.Circuit, pushed []*pushdown) *ir.Circuit {
	if len(pushed) == 0 {
		return c
	}
	d := *c
	d.Nodes = slices.Clone(c.Nodes)
	d.Inputs = slices.Clone(c.Inputs)
	for _, pd := range pushed {
		n := &ir.Node{ID: pd.node.ID, Op: &ir.Source{Table: pd.virtualInput()}, Cols: pd.node.Cols, Span: pd.node.Span}
		d.Nodes[n.ID] = n
		d.Inputs = append(d.Inputs, &ir.Input{Name: pd.virtualInput(), Columns: n.Cols, Node: n})
	}
	return &d
}

// unread returns the inputs no pushdown reads, which the backfill reads
// through the engine.
func unread(inputs []*ir.Input, pushed []*pushdown) []*ir.Input {
	read := map[string]bool{}
	for _, d := range pushed {
		for _, in := range d.sources {
			read[in.Name] = true
		}
	}
	var out []*ir.Input
	for _, in := range inputs {
		if !read[in.Name] {
			out = append(out, in)
		}
	}
	return out
}
