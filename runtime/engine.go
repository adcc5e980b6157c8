package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Engine runs a circuit over a store, step by step. It is not safe for
// concurrent use.
type Engine struct {
	circuit *ir.Circuit
	store   Store
	opts    Options
	tables  map[string]*tableState
	views   map[string]*viewState
	steps   int64
	// inBody marks, by node ID, the nodes of fixpoint bodies, which
	// their fixpoint runs rather than the step.
	inBody []bool
	// nodeView names, by node ID, the view each node computes part of.
	nodeView []string
	// live marks, by node ID, the nodes a step runs (see liveNodes);
	// nil when it runs them all.
	live []bool
	// picks and passes say which joins make their rows with only the
	// columns the projection reading them keeps, and which projections
	// then pass those rows through (joinPicks); nil when none do.
	picks  [][]int
	passes []bool
	// arenaJoins marks, by node ID, the joins whose rows only an
	// aggregate reads, which they make in arenas kept from step to step
	// (see rowArena); arenas holds those, and stepArenas the step's.
	arenaJoins []bool
	// stepOnly marks, by node ID, the nodes whose changes, joined up
	// after an operator run on the workers, may live in an arena
	// (stepOnly).
	stepOnly []bool
	// tableRoom is stepRoom, bound once rather than at every step.
	tableRoom  func(n int) batch
	arenas     arenaStock
	stepArenas stepArenas
	// aggs holds the aggregators of each Aggregate node, bound once.
	aggs map[*ir.Aggregate]boundAggs
	// sweepers free the state the tables' watermarks make final; floors
	// are the bounds the watermarks put on each node's columns.
	sweepers []*sweeper
	floors   [][]ir.Floor
	// clampClock keeps the time of a step from going back, where a
	// temporal filter frees the rows that going back would need;
	// lastNow is the time of the last step committed.
	clampClock bool
	lastNow    time.Time
	// parts are the partitions of the store, one per worker, when the
	// engine runs on several (Options.Workers); nil for one.
	parts []Store
	// crew runs the work of the partitions side by side; nil with
	// none.
	crew *crew
	// splitTables is the room for the tables whose changes a step's
	// commit applies to their partitions side by side (writeParts).
	splitTables []tableStep
	// routes says, by node ID, how the node's changes are split over
	// the workers; nil for a node that runs on one.
	routes []*route
	// deltas holds a running step's changes by node ID; the slice is
	// kept for the next step (see freshDeltas).
	deltas []batch
	// writes is the room for a running step's state writes, kept for
	// the next step, cleared between (see freshWrites).
	writes []func(context.Context) error
	// inputs holds a running step's changes to the tables, by name,
	// kept for the next step and cleared between, as deltas is.
	inputs map[string]batch
	// running is the step in progress, the engine's own: a step is not
	// made an object of its own (see newRun).
	running stepRun
	// keyScratch holds the arrays a join groups a big batch's rows by
	// key in (keyScratch), for the next join, on any worker.
	keyScratch sync.Pool
	// watermarked says whether a table declares a watermark: only then
	// is there state for a step to free.
	watermarked bool
	// timed says whether an operator reads the time of a step (the
	// clock, a temporal filter, a stamp): only then is the clock read
	// for a step the caller gave no time for.
	timed bool
}

// StepError is a step that failed computing a view: the data it met (a
// division by zero, a value out of range, a bad cast) made an operator
// fail. Applying the same changes again fails the same way.
type StepError struct {
	Step int64
	View string // the view the failing operator belongs to
	Err  error
	// Node is the ID of the operator that failed.
	Node int
	// Span is where in the program's text it failed: the innermost
	// expression that failed (Err then holds an *ir.EvalError), or the
	// name of the view whose operator failed otherwise.
	Span lang.Span
}

func (e *StepError) Error() string {
	if e.View == "" {
		return fmt.Sprintf("step %d: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("step %d: view %s: %v", e.Step, e.View, e.Err)
}

// Unwrap returns the cause, so that errors.Is and errors.As see it (an
// *ir.EvalError, and below it the error of the operation that failed).
func (e *StepError) Unwrap() error { return e.Err }

// Diagnostic returns the error placed in the program's text, to be
// printed with the source line and a caret as a type error is: its
// message is "step N: view V: why", or nil when no place is known.
func (e *StepError) Diagnostic() *lang.Error {
	if e.Span.IsZero() {
		return nil
	}
	why := e.Err
	var failed *ir.EvalError
	if errors.As(e.Err, &failed) {
		why = failed.Err // the position is the diagnostic's own
	}
	msg := fmt.Sprintf("step %d: %v", e.Step, why)
	if e.View != "" {
		msg = fmt.Sprintf("step %d: view %s: %v", e.Step, e.View, why)
	}
	return e.Span.Error(msg)
}

// stepError is the error of node n failing with err in step.
func stepError(step int64, view string, n *ir.Node, err error) *StepError {
	se := &StepError{Step: step, View: view, Err: err, Node: n.ID, Span: n.Span}
	var failed *ir.EvalError
	if errors.As(err, &failed) && !failed.Span.IsZero() {
		se.Span = failed.Span
	}
	return se
}

// nodeViews names, by node ID, the view each node belongs to: the first
// view, in dependency order, that reads it. A node a later view shares
// (an earlier view it reads) stays the earlier view's.
func nodeViews(c *ir.Circuit) []string {
	out := make([]string, len(c.Nodes))
	var walk func(n *ir.Node, view string)
	walk = func(n *ir.Node, view string) {
		if n == nil || out[n.ID] != "" {
			return
		}
		out[n.ID] = view
		for _, in := range n.Inputs {
			walk(in, view)
		}
	}
	for _, v := range c.Views {
		walk(v.Node, v.Name)
	}
	for _, in := range c.Inputs {
		if in.Node != nil {
			out[in.Node.ID] = ""
		}
	}
	return out
}

// Options adjust an engine to where its state lives.
type Options struct {
	// NoContents stops the engine keeping tables' and views' contents in
	// memory. An engine over a Postgres store sets it: the source tables
	// and the output tables are the contents, and only StepDelta is used.
	NoContents bool
	// StepsDone is the number of steps already applied to the store's
	// state, when the engine resumes from it.
	StepsDone int64
	// MaxIterations bounds the iterations of each recursive view within
	// a step; a step needing more fails. Zero means
	// DefaultMaxIterations.
	MaxIterations int
	// Clock gives the time of each step that Step and StepDelta apply,
	// for programs that read the clock (now()); nil means the wall clock.
	// StepAt and StepDeltaAt are given the time instead.
	Clock func() time.Time
	// AdmitLate takes every change, whatever the tables' watermarks, and
	// still moves them: a backfill reads what the tables hold, none of
	// which came late.
	AdmitLate bool
	// ManualSweep leaves the freeing of the state the watermarks make
	// final to Sweep: a store whose writes are deferred past the step
	// (a database's, sent after it) must not be swept before they land.
	ManualSweep bool
	// Workers is the number of goroutines a step's stateful operators
	// run on side by side, over a MemoryStore whose state the engine
	// splits by key into as many partitions (0 and 1 mean one; other
	// stores always run on one). The results are the same whatever the
	// number; only the order of a batch's changes differs.
	Workers int
	// ParallelBatch is the fewest changes at an operator for it to run
	// on the workers, and of a step's changes to views for those to be
	// consolidated and added up on them; zero means DefaultParallelBatch
	// for operators and a thousand or so changes for views.
	ParallelBatch int
	// OutputsOnly makes each step's Result hold the changes of the
	// outputs, of the views whose contents the engine keeps (those read
	// so far) and of the views wanted (Want), and run only the operators
	// that those and the operators' states need: a view that is none of
	// these then costs nothing. A view's changes may be there as well
	// when a view that is needed reads it. The Postgres runner sets it,
	// as it writes only the outputs, and so do stepq run and stepq serve
	// in memory, which show only them.
	OutputsOnly bool
	// OwnsRows says the rows of the changes given to Step are the
	// engine's once given: no one else reads or changes them. A table
	// keeps such a row, and may swap a value in it for an equal value's
	// box that other rows share (the same text, the same number), with
	// no copy of the row. Without it, a row is copied to do so, and the
	// caller's rows are never written to. The stepping package, which
	// makes a row of each value given, sets it.
	OwnsRows bool
}

type viewState struct {
	view     *ir.View
	contents *zset.ZSet
	// kept says the engine keeps contents up to date at every step. An
	// output's contents are kept from the start; another view's only
	// from when it is first read (see keptFromStart): until then its
	// changes flow through the circuit without being added up.
	kept bool
	// derived, when not nil, says how the view's contents are read
	// from an aggregate's state instead: contents then holds them as
	// last read, and nil once a step has changed them.
	derived *derivation
	// wanted says that, with Options.OutputsOnly, each step's Result
	// holds the view's changes though its contents are not kept (Want).
	wanted bool
}

// New returns an engine for circuit c keeping its state in store.
func New(c *ir.Circuit, store Store) *Engine { return NewWithOptions(c, store, Options{}) }

// NewWithOptions is New with options.
func NewWithOptions(c *ir.Circuit, store Store, opts Options) *Engine {
	e := &Engine{circuit: c, store: store, opts: opts, steps: opts.StepsDone, tables: map[string]*tableState{}, views: map[string]*viewState{}}
	for _, in := range c.Inputs {
		e.tables[in.Name] = newTableState(in, opts.OwnsRows)
	}
	e.inBody = bodyNodes(c)
	for _, n := range c.Nodes {
		e.timed = e.timed || readsTime(n.Op)
	}
	e.picks, e.passes, e.arenaJoins = joinPlans(c, e.inBody)
	e.stepOnly = stepOnly(c, e.inBody)
	e.tableRoom = e.stepRoom
	keepAll := keptFromStart(c)
	_, inMemory := store.(*MemoryStore)
	for _, v := range c.Views {
		vs := &viewState{view: v}
		// A program with watermarks keeps every view's contents: they
		// free state whose rows the views still show. One that reads
		// the clock reads only a recursive view's from its state.
		if inMemory && !opts.NoContents && !c.Watermarked() {
			vs.derived = derivationOf(v, e.inBody, e.timed)
		}
		if vs.derived == nil {
			vs.kept, vs.contents = keepAll, zset.New()
		}
		e.views[v.Name] = vs
	}
	for _, o := range c.Outputs {
		if vs := e.views[o.View.Name]; vs.derived == nil {
			vs.kept = true
		}
	}
	e.nodeView = nodeViews(c)
	e.refreshLive()
	e.watermarked = c.Watermarked()
	if e.watermarked {
		e.floors = c.Floors()
		for _, f := range c.Freeings(e.floors) {
			e.sweepers = append(e.sweepers, &sweeper{f: f})
			// A temporal filter frees the rows the clock going back
			// would need: time then does not go back.
			e.clampClock = e.clampClock || len(f.Behind) > 0
		}
	}
	if ms, ok := store.(*MemoryStore); ok {
		e.parts, e.crew = ms.split(opts.Workers), ms.crew
	}
	if e.parts != nil {
		for _, t := range e.tables {
			t.split(len(e.parts))
		}
		e.routes = make([]*route, len(c.Nodes))
		for _, n := range c.Nodes {
			e.routes[n.ID] = routeOf(n)
		}
	}
	return e
}

// bodyNodes marks, by node ID, the nodes of c's fixpoint bodies.
func bodyNodes(c *ir.Circuit) []bool {
	out := make([]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		if fp, ok := n.Op.(*ir.Fixpoint); ok {
			for _, b := range fp.Body {
				out[b.ID] = true
			}
		}
	}
	return out
}

// keptFromStart reports whether an engine running c keeps every view's
// contents from the start, rather than only the outputs' and the views
// read so far. A view first read is computed from the tables' contents
// in one pass (see materialize), which gives the contents the steps have
// built only when nothing but those contents decides them: not when the
// watermarks have freed rows the pass would need, nor when the clock
// moves rows in and out, nor when rows are stamped with the time they
// arrived, nor when a recursive view's pass from scratch may need more
// iterations than any step did.
func keptFromStart(c *ir.Circuit) bool {
	if c.Watermarked() {
		return true
	}
	for _, n := range c.Nodes {
		if _, recursive := n.Op.(*ir.Fixpoint); recursive || readsTime(n.Op) {
			return true
		}
	}
	return false
}

func (e *Engine) parallelBatch() int {
	if e.opts.ParallelBatch > 0 {
		return e.opts.ParallelBatch
	}
	return DefaultParallelBatch
}

// viewGoroutines returns how many goroutines a step deals its views'
// changes to, size changes to views among views of them: one unless the
// engine has workers and the changes are many (Options.ParallelBatch, or
// by default parallelWork), and never more than the workers. Consolidating
// or adding up a change costs a fraction of what an operator spends on
// one, while waking a sleeping worker's thread costs tens of
// microseconds on a virtual machine: a price change's few hundred view
// changes, dealt to two goroutines, took longer than on one.
func (e *Engine) viewGoroutines(size, views int) int {
	least := parallelWork
	if e.opts.ParallelBatch > 0 {
		least = e.opts.ParallelBatch
	}
	if len(e.parts) < 2 || size < least {
		return 1
	}
	return min(views, len(e.parts))
}

func (e *Engine) maxIterations() int {
	if e.opts.MaxIterations > 0 {
		return e.opts.MaxIterations
	}
	return DefaultMaxIterations
}

// Circuit returns the circuit the engine runs.
func (e *Engine) Circuit() *ir.Circuit { return e.circuit }

// Steps returns the number of steps committed so far.
func (e *Engine) Steps() int64 { return e.steps }

// Result is what one step produced: the changes to each view that changed.
type Result struct {
	Step    int64
	Changes map[string]*zset.ZSet
}

// UsesClock reports whether the program reads the clock: its views may
// change when the clock does, with no change to its tables, so a caller
// should apply steps as time passes (StepAt with no changes).
func (e *Engine) UsesClock() bool { return e.circuit.Clock != nil }

// readsTime reports whether an operator reads the time of the step.
func readsTime(op ir.Op) bool {
	switch op.(type) {
	case *ir.Clock, *ir.TemporalFilter, *ir.Stamp:
		return true
	}
	return false
}

// stepTime is the time of a step the caller gave no time for: the
// engine's clock when an operator reads it, else none, since reading the
// clock costs as much as a fifth of an empty step.
func (e *Engine) stepTime() time.Time {
	if !e.timed {
		return time.Time{}
	}
	return e.now()
}

// now is the time of a step the caller gave no time for.
func (e *Engine) now() time.Time {
	if e.opts.Clock != nil {
		return e.opts.Clock()
	}
	return time.Now()
}

// Step applies one batch of changes, keyed by table name, and returns the
// changes to every view. On error nothing of the batch is applied. The
// step's time, which now() reads, is the engine's clock (Options.Clock).
func (e *Engine) Step(ctx context.Context, changes map[string][]Change) (*Result, error) {
	return e.StepAt(ctx, e.stepTime(), changes)
}

// StepAt is Step at time t: now() is t throughout the step. A step may
// have no changes at all: the views that read the clock then change as
// the time moved since the previous step (rows leave a window of the
// last seven days, say). The time is kept to the microsecond, as
// Postgres keeps it.
func (e *Engine) StepAt(ctx context.Context, t time.Time, changes map[string][]Change) (*Result, error) {
	if e.opts.NoContents {
		return nil, fmt.Errorf("this engine keeps no table contents: give its changes as Z-sets with StepDelta")
	}
	var one [1]tableStep // a step's one table's, on the stack
	tables := one[:0]
	inputs := e.freshInputs()
	defer clear(inputs) // a step's changes are not kept alive till the next
	var names [1]string
	for _, name := range tableOrder(changes, names[:0]) {
		tableChanges := changes[name]
		t, ok := e.tables[name]
		if !ok {
			return nil, fmt.Errorf("step %d: unknown table %s", e.steps+1, name)
		}
		var room func(int) batch
		if e.stepOnly[t.input.Node.ID] {
			room = e.tableRoom
		}
		d, ov, err := t.resolveSplit(e.crew, tableChanges, e.parallelBatch(), room)
		if err != nil {
			e.dropArenas()
			// A bad change (a duplicate key, a NULL in a non-null
			// column) fails the step as an operator's error does.
			return nil, &StepError{Step: e.steps + 1, Err: fmt.Errorf("table %s: %w", name, err)}
		}
		ts := tableStep{t: t, ovs: ov}
		inputs[name] = t.dropLate(d, &ts.mark, e.opts.AdmitLate)
		tables = append(tables, ts)
	}
	res, s, err := e.run(ctx, t, inputs)
	if err != nil {
		return nil, err
	}
	if err := s.commit(ctx, res, tables); err != nil {
		return nil, err
	}
	return res, e.freeAfter(ctx)
}

// freeAfter frees, after a step, the state its tables' watermarks made
// final: none when no table has a watermark.
func (e *Engine) freeAfter(ctx context.Context) error {
	if !e.watermarked {
		return nil
	}
	return e.free(ctx)
}

// tableStep is what a step does to one of its tables: the overlays its
// changes resolved to, applied once the step commits, and what they do
// to the table's watermark.
type tableStep struct {
	t    *tableState
	ovs  tableOverlays
	mark markUpdate
}

// freshInputs returns the map of a step's changes by table: the engine's
// own, reused from step to step and emptied when each ends.
func (e *Engine) freshInputs() map[string]batch {
	if e.inputs == nil {
		e.inputs = map[string]batch{}
	}
	return e.inputs
}

// tableOrder appends to buf the names of the tables a step changes in
// order of name, so that of two tables' bad changes the same one fails
// the step in every run.
func tableOrder(changes map[string][]Change, buf []string) []string {
	for name := range changes {
		buf = append(buf, name)
	}
	slices.Sort(buf)
	return buf
}

// StepDelta applies one batch given directly as Z-sets of changes per
// table, bypassing primary-key resolution: the caller keeps each table's
// integrated weights non-negative. Tests use it to drive operators with
// arbitrary Z-sets. The step's time is the engine's clock.
func (e *Engine) StepDelta(ctx context.Context, deltas map[string]*zset.ZSet) (*Result, error) {
	return e.StepDeltaAt(ctx, e.stepTime(), deltas)
}

// StepDeltaAt is StepDelta at time t, as StepAt is Step at time t.
func (e *Engine) StepDeltaAt(ctx context.Context, t time.Time, deltas map[string]*zset.ZSet) (*Result, error) {
	inputs := e.freshInputs()
	defer clear(inputs) // a step's changes are not kept alive till the next
	tables := make([]tableStep, 0, len(deltas))
	for name, d := range deltas {
		tab, ok := e.tables[name]
		if !ok {
			return nil, fmt.Errorf("step %d: unknown table %s", e.steps+1, name)
		}
		ts := tableStep{t: tab}
		inputs[name] = tab.dropLate(toBatch(d), &ts.mark, e.opts.AdmitLate)
		tables = append(tables, ts)
	}
	res, s, err := e.run(ctx, t, inputs)
	if err != nil {
		return nil, err
	}
	if err := s.commit(ctx, res, tables); err != nil {
		return nil, err
	}
	if !e.opts.NoContents {
		for _, ts := range tables {
			name := ts.t.input.Name
			d := deltas[name]
			if ts.mark.late > 0 {
				d = zset.FromEntries(inputs[name]...) // without the late rows
			}
			ts.t.applyDelta(d)
		}
	}
	return res, e.freeAfter(ctx)
}

// Contents returns the current contents of a view (or of a table), or
// false when there is none of that name, or when a view read for the
// first time could not be computed (ReadContents says why). The caller
// must not modify it.
func (e *Engine) Contents(name string) (*zset.ZSet, bool) {
	z, ok, err := e.ReadContents(context.Background(), name)
	return z, ok && err == nil
}

// Has reports whether the engine has a view or a table of that name
// whose contents Contents gives.
func (e *Engine) Has(name string) bool {
	if e.opts.NoContents {
		return false
	}
	_, view := e.views[name]
	_, table := e.tables[name]
	return view || table
}

// ReadContents is Contents, with the error of working out the contents
// of a view the engine does not keep: one read from an aggregate's state
// (see derivation), or one that is neither an output nor read before,
// which the engine then computes from the tables' contents in one pass,
// and keeps up to date from then on.
func (e *Engine) ReadContents(ctx context.Context, name string) (*zset.ZSet, bool, error) {
	if e.opts.NoContents {
		return nil, false, nil
	}
	if v, ok := e.views[name]; ok {
		z, err := e.viewContents(ctx, v)
		return z, true, err
	}
	if t, ok := e.tables[name]; ok {
		return t.contents(), true, nil
	}
	return nil, false, nil
}

// viewContents returns view v's contents: those kept, or those read
// from an aggregate's state since the last step that changed them, or
// else computed for the first time (materialize).
func (e *Engine) viewContents(ctx context.Context, v *viewState) (*zset.ZSet, error) {
	switch {
	case v.kept:
	case v.derived != nil:
		if v.contents == nil {
			z, err := e.derive(ctx, v.derived)
			if err != nil {
				return nil, fmt.Errorf("reading view %s: %w", v.view.Name, err)
			}
			v.contents = z
		}
	default:
		if err := e.materialize(ctx, v); err != nil {
			return nil, err
		}
	}
	return v.contents, nil
}

// materialize computes view v's contents from the tables' contents, in
// one step of an engine of its own, and keeps them up to date from then
// on. It is what the steps so far have built: a view's contents depend
// only on the tables' (keptFromStart holds the programs where they do
// not).
func (e *Engine) materialize(ctx context.Context, v *viewState) error {
	if e.steps == 0 {
		// Before the first step every view is empty: even a constant's
		// rows enter only then.
		v.kept = true
		e.refreshLive()
		return nil
	}
	fresh := NewWithOptions(e.circuit, NewMemoryStore(), Options{MaxIterations: e.opts.MaxIterations})
	for _, fv := range fresh.views {
		fv.kept = fv.view == v.view
	}
	deltas := make(map[string]*zset.ZSet, len(e.tables))
	for name, t := range e.tables {
		deltas[name] = t.contents()
	}
	if _, err := fresh.StepDeltaAt(ctx, e.lastNow, deltas); err != nil {
		return fmt.Errorf("reading view %s for the first time: %w", v.view.Name, err)
	}
	v.contents, v.kept = fresh.views[v.view.Name].contents, true
	e.refreshLive()
	return nil
}

// Want makes every later step's Result hold view's changes, with
// Options.OutputsOnly, as it does without: for a subscriber to a view
// whose contents nobody reads. It reports whether the engine has the
// view. Steps before the call computed only what they needed, so the
// first Result after it holds the view's changes from then on, not
// its contents: read those with ReadContents.
func (e *Engine) Want(view string) bool {
	v, ok := e.views[view]
	if ok && !v.wanted {
		v.wanted = true
		e.refreshLive()
	}
	return ok
}

// TableRow returns the row of a table with a primary key whose key
// columns, in the key's order, hold key's values; ok is false when the
// table holds none, or has no primary key, or is not a table.
func (e *Engine) TableRow(name string, key []any) (row zset.Row, ok bool) {
	t, found := e.tables[name]
	if !found || t.byKey == nil || len(key) != len(t.input.PrimaryKey) {
		return nil, false
	}
	var tmp [128]byte
	buf := tmp[:0] // on the stack, for a short key
	for _, v := range key {
		buf = types.AppendKey(buf, v)
	}
	row = t.byKey.get(string(buf))
	return row, row != nil
}

// run computes every node's changes for one step. It changes nothing;
// the step's commit writes its state.
func (e *Engine) run(ctx context.Context, t time.Time, inputs map[string]batch) (res *Result, s *stepRun, err error) {
	// A panic while computing is a bug, but it must not take the caller
	// down: nothing is committed yet, so the step fails and changes nothing.
	defer func() {
		if p := recover(); p != nil {
			res, s, err = nil, nil, fmt.Errorf("step %d: internal error: %v", e.steps+1, p)
		}
		if err != nil {
			clear(e.deltas) // a failed step's changes are not kept alive
			clear(e.writes[:cap(e.writes)])
			e.running = stepRun{}
			e.dropArenas()
		}
	}()
	s = e.newRun(inputs, t)
	for _, n := range e.circuit.Nodes {
		if e.inBody[n.ID] || e.live != nil && !e.live[n.ID] {
			continue
		}
		d, err := s.eval(ctx, n)
		if err != nil {
			return nil, nil, stepError(e.steps+1, e.nodeView[n.ID], n, s.firstError(ctx, n, err))
		}
		s.deltas[n.ID] = d
	}
	res = &Result{Step: e.steps + 1, Changes: map[string]*zset.ZSet{}}
	s.viewChanges(res.Changes)
	return res, s, nil
}

// newRun returns the engine's step run, set for a step at time t with
// inputs: one object, the engine's, for every step rather than one a
// step, since a step's run is dropped when it ends (commit, or a failed
// run, empties it).
func (e *Engine) newRun(inputs map[string]batch, t time.Time) *stepRun {
	s := &e.running
	*s = stepRun{
		engine: e,
		store:  e.store,
		deltas: e.freshDeltas(),
		writes: e.freshWrites(),
		inputs: inputs,
		now:    t.UTC().Round(time.Microsecond),
		parts:  e.parts,
		arenas: &e.stepArenas,
	}
	return s
}

// freshDeltas returns the slice of a step's changes by node, cleared: the
// engine's own, reused from step to step, since a step's changes are
// dropped when it ends (the Result holds the views' own; commit, or a
// failed run, clears it).
func (e *Engine) freshDeltas() []batch {
	if e.deltas == nil {
		e.deltas = make([]batch, len(e.circuit.Nodes))
	} else {
		clear(e.deltas)
	}
	return e.deltas
}

// freshWrites returns room for a step's state writes: the engine's own,
// emptied. A step's writes hold its whole state change, so every step
// clears them when it ends (commit, or a failed run).
func (e *Engine) freshWrites() []func(context.Context) error {
	clear(e.writes[:cap(e.writes)])
	return e.writes[:0]
}

// writeParts runs the partitions' state writes (partWrites) and applies
// the tables' changes (their overlays, from resolveSplit), each
// partition's side by side with the others', in one parallel region:
// one hand-off to the workers for the whole commit. The writes commute
// with the step's other writes: each is to the state of an operator that
// ran on the workers, which no other writes.
func (s *stepRun) writeParts(ctx context.Context, tables []tableStep) error {
	e := s.engine
	// The split tables are copied to the engine's list for the region,
	// which tables, on the caller's stack, would otherwise leave.
	split := e.splitTables[:0]
	for _, ts := range tables {
		if ts.t.applyWhole(ts.ovs) {
			split = append(split, ts)
		}
	}
	if s.partWrites == nil && len(split) == 0 {
		return nil
	}
	err := s.writeEachPart(ctx, split)
	clear(split) // the overlays are not kept till the next step
	e.splitTables = split[:0]
	return err
}

// writeEachPart is writeParts' parallel region, for the split tables.
func (s *stepRun) writeEachPart(ctx context.Context, split []tableStep) error {
	return s.engine.crew.run(len(s.engine.parts), func(p int) error {
		if s.partWrites != nil {
			for _, w := range s.partWrites[p] {
				if err := w(ctx); err != nil {
					return err
				}
			}
		}
		for _, ts := range split {
			ts.t.applyPart(ts.ovs, p)
		}
		return nil
	})
}

// commit writes the state of a step that ran: its operators' state, its
// tables' changes (their overlays; StepDeltaAt's tables have none, and
// apply their changes after), the views' contents from res, and the
// watermarks of its tables.
func (s *stepRun) commit(ctx context.Context, res *Result, tables []tableStep) error {
	e := s.engine
	defer func() {
		clear(s.writes) // nothing of the step is kept till the next
		e.writes = s.writes[:0]
		*s = stepRun{}
		e.giveArenas(&e.stepArenas)
	}()
	for _, w := range s.writes {
		if err := w(ctx); err != nil {
			return fmt.Errorf("step %d: writing state: %w", e.steps+1, err)
		}
	}
	if err := s.writeParts(ctx, tables); err != nil {
		return fmt.Errorf("step %d: writing state: %w", e.steps+1, err)
	}
	if !e.opts.NoContents {
		s.addContents(res.Changes)
	}
	e.steps++
	e.lastNow = s.now
	for _, ts := range tables {
		if m := ts.t.mark; m != nil {
			m.apply(ts.mark)
		}
	}
	for _, sw := range e.sweepers {
		sw.taken += len(s.deltas[sw.f.Node.Inputs[0].ID])
	}
	clear(s.deltas) // the step's changes are not kept alive till the next
	return nil
}
