package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/zset"
)

// Applying a changed program (issue 12). A program that changes keeps
// what it can: the state of every operator whose node version (see
// nodeVersions) the deployed program recorded, and every output table
// whose view and declaration are unchanged. Only the rest is built from
// the sources, in one REPEATABLE READ transaction holding the program's
// lock, whose snapshot S fixes one log position for old and new alike:
//
//  1. the kept state tables are renamed to their nodes' new IDs, and
//     tables for the new operators are created, empty;
//  2. the change log's rows that S sees are applied as one ordinary
//     step to the kept part of the circuit (every node whose state, and
//     whose inputs' state, is kept) and to the kept outputs, so that it
//     stands at S;
//  3. the new operators, and the changed and added outputs, are computed
//     from the sources as S sees them, as an install's backfill computes
//     everything; a changed output goes to a new table beside the old;
//  4. each changed output's old table is dropped and the new one renamed
//     in its place, its indexes and grants with it.
//
// Readers see the old tables until the commit and the new ones after,
// never a half-built one; kept output tables get only the ordinary
// changes of step 2. Changes committed after S stay in the log for the
// steps after the apply.

// Metadata keys recording the deployed program's shape, which apply
// compares the changed program with.
const (
	// metaNodes is the version of each node, by ID (JSON array).
	metaNodes = "nodes"
	// metaOutputVersions is each output table's outputVersion (JSON
	// object by the table's quoted name).
	metaOutputVersions = "output_versions"
	// metaSources is each input's source table, quoted (JSON object).
	metaSources = "sources"
)

// Change is what applying a changed program over the deployed one does.
type Change struct {
	Kept    []string `json:"kept"`    // outputs whose tables stay and go on being maintained
	Rebuilt []string `json:"rebuilt"` // outputs rebuilt beside their tables and swapped in
	// Checked are the outputs whose views are unchanged but whose state
	// is rebuilt, as a source they read gained columns they do not use:
	// their tables stay when the rebuild gives the rows they hold.
	Checked []string `json:"checked"`
	Added   []string `json:"added"`   // new outputs, in new tables
	Removed []string `json:"removed"` // tables of outputs the program no longer has
	// KeptState and FreshState count the operators whose state is kept
	// and built afresh.
	KeptState  int `json:"kept_state"`
	FreshState int `json:"fresh_state"`
	// Reads names the sources the rebuild reads.
	Reads []string `json:"reads"`
}

// PlanChange says what applying the program over the deployed one does,
// changing nothing.
func (p *Runner) PlanChange(ctx context.Context) (*Change, error) {
	pl, err := p.planApply(ctx, p.Pool)
	if err != nil {
		return nil, err
	}
	return &pl.Change, nil
}

// applyPlan is a Change with what carrying it out needs.
type applyPlan struct {
	Change
	reuse    map[int]int // kept stateful node → the deployed node whose state it takes
	sourced  []int       // kept source-backed nodes, by new ID
	fresh    []int       // stateful nodes built afresh
	reusable []bool      // by node ID: its state, and that of all it reads, is kept
	needed   []bool      // by node ID: the rebuild computes it
	// frontier holds the kept outputs the rebuild reads, by their view's
	// node: it reads their tables rather than compute them again.
	frontier map[int]*ir.Output
	// alike holds the outputs a plan leaves live (see liveViews) though
	// their state is rebuilt: an input they read changed, but not in
	// what they use (a column added to a source table). When the rebuild
	// gives the rows the table holds, the table is left untouched.
	alike                map[string]bool
	kept, rebuilt, added []*ir.Output
	removed              []string // quoted table names
	owned                map[string]uint32
	oldTables            []string // the deployed state tables
	addedInputs          []*ir.Input
	removedInputs        map[string]string // input name → its source table, quoted
}

// stateKind returns the prefix of a stateful node's table, "" for a
// node without state.
func stateKind(n *ir.Node) string {
	switch n.Op.(type) {
	case *ir.Integrate, *ir.Fixpoint, *ir.Stamp:
		return "_index"
	case *ir.Aggregate, *ir.TopK, *ir.Window, *ir.Session:
		return "_groups"
	case *ir.OrderedIntegrate:
		return "_ordered"
	}
	return ""
}

// recordShape records, in transaction q, what apply compares a changed
// program with: the version of each node, of each output, and each
// input's source table.
func (p *Runner) recordShape(ctx context.Context, q execer) error {
	nodes := nodeVersions(p.Circuit)
	outputs := map[string]string{}
	for _, o := range p.Circuit.Outputs {
		outputs[p.outputTable(o)] = outputVersion(o, nodes)
	}
	sources := map[string]string{}
	for _, in := range p.Circuit.Inputs {
		if in.Postgres != nil {
			sources[in.Name] = p.sourceName(in)
		}
	}
	for key, v := range map[string]any{metaNodes: nodes, metaOutputVersions: outputs, metaSources: sources} {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := p.setMeta(ctx, q, key, string(raw)); err != nil {
			return err
		}
	}
	return nil
}

// readMetaJSON reads a _meta key holding JSON into v; ok is false when
// the key is missing.
func (p *Runner) readMetaJSON(ctx context.Context, q querier, key string, v any) (ok bool, err error) {
	raw, err := p.meta(ctx, q, key)
	if err != nil || raw == "" {
		return false, err
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("program %s: the record %s is unreadable: %w", p.Schema, key, err)
	}
	return true, nil
}

// planApply compares the program with the deployed one, reading q.
func (p *Runner) planApply(ctx context.Context, q querier) (*applyPlan, error) {
	var oldNodes []string
	ok, err := p.readMetaJSON(ctx, q, metaNodes, &oldNodes)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("program %s was installed by a stepq that did not record its operators, so what to keep cannot be known: run the deployed program once as it is (which records them), or run with --rebuild", p.Schema)
	}
	var oldOutputs, oldSources map[string]string
	var oldSourced []int
	if _, err := p.readMetaJSON(ctx, q, metaOutputVersions, &oldOutputs); err != nil {
		return nil, err
	}
	if _, err := p.readMetaJSON(ctx, q, metaSources, &oldSources); err != nil {
		return nil, err
	}
	if _, err := p.readMetaJSON(ctx, q, metaSourceBacked, &oldSourced); err != nil {
		return nil, err
	}
	owned, err := p.ownedOutputs(ctx, q)
	if err != nil {
		return nil, err
	}
	pl := &applyPlan{reuse: map[int]int{}, owned: owned, removedInputs: map[string]string{}}
	// The deployed state: tables by node ID, and source-backed nodes.
	rows, err := p.Pool.Query(ctx, `SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace($1) AND relkind = 'r' AND relname ~ '^_(index|groups|ordered)_[0-9]+$' ORDER BY relname`, p.Schema)
	if err != nil {
		return nil, err
	}
	if pl.oldTables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, t := range pl.oldTables {
		has[t] = true
	}
	// Equal computations have equal versions: a program may hold several
	// (the same select under two views), each with a state of its own.
	oldByVersion := map[string][]int{}
	for id, v := range oldNodes {
		oldByVersion[v] = append(oldByVersion[v], id)
	}
	oldHasState := func(n *ir.Node, old int) bool {
		return slices.Contains(oldSourced, old) || has[fmt.Sprintf("%s_%d", stateKind(n), old)]
	}

	c := p.Circuit
	versions := nodeVersions(c)
	pl.reusable = make([]bool, len(c.Nodes))
	for i := range pl.reusable {
		pl.reusable[i] = true
	}
	taken := map[int]int{} // deployed node → the node keeping its state
	// A node is reusable when its state, if any, is the deployed state of
	// a node of the same version, and every node it reads is reusable;
	// demoting one node may demote others, so until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, n := range c.Nodes {
			if !pl.reusable[n.ID] {
				continue
			}
			ok := !slices.ContainsFunc(n.Inputs, func(in *ir.Node) bool { return !pl.reusable[in.ID] })
			if fp, isFix := n.Op.(*ir.Fixpoint); isFix && ok {
				ok = !slices.ContainsFunc(fp.Body, func(b *ir.Node) bool { return !pl.reusable[b.ID] })
			}
			if _, has := pl.reuse[n.ID]; ok && stateKind(n) != "" && !has {
				i := slices.IndexFunc(oldByVersion[versions[n.ID]], func(old int) bool {
					_, isTaken := taken[old]
					return !isTaken && oldHasState(n, old)
				})
				if ok = i >= 0; ok {
					old := oldByVersion[versions[n.ID]][i]
					taken[old], pl.reuse[n.ID] = n.ID, old
				}
			}
			if !ok {
				pl.reusable[n.ID], changed = false, true
				if old, was := pl.reuse[n.ID]; was {
					delete(taken, old)
					delete(pl.reuse, n.ID)
				}
			}
		}
	}
	for _, n := range c.Nodes {
		if stateKind(n) == "" {
			continue
		}
		old, kept := pl.reuse[n.ID]
		switch {
		case !kept:
			pl.fresh = append(pl.fresh, n.ID)
		case slices.Contains(oldSourced, old):
			pl.sourced = append(pl.sourced, n.ID)
		}
	}
	pl.KeptState, pl.FreshState = len(pl.reuse), len(pl.fresh)

	// Outputs.
	now := map[string]bool{}
	for _, o := range c.Outputs {
		table := p.outputTable(o)
		now[table] = true
		_, mine := owned[table]
		switch {
		case mine && oldOutputs[table] == outputVersion(o, versions) && pl.reusable[o.View.Node.ID]:
			pl.kept = append(pl.kept, o)
			pl.Kept = append(pl.Kept, o.View.Name)
		case mine:
			pl.rebuilt = append(pl.rebuilt, o)
			pl.Rebuilt = append(pl.Rebuilt, o.View.Name)
		default:
			pl.added = append(pl.added, o)
			pl.Added = append(pl.Added, o.View.Name)
		}
	}
	if pl.alike, err = p.liveViews(ctx, q); err != nil {
		return nil, err
	}
	pl.Rebuilt = slices.DeleteFunc(pl.Rebuilt, func(view string) bool {
		if pl.alike[view] {
			pl.Checked = append(pl.Checked, view)
		}
		return pl.alike[view]
	})
	for table := range owned {
		if !now[table] {
			pl.removed = append(pl.removed, table)
		}
	}
	sort.Strings(pl.removed)
	pl.Removed = pl.removed

	// Inputs.
	current := map[string]bool{}
	for _, in := range c.Inputs {
		if in.Postgres == nil {
			continue
		}
		current[in.Name] = true
		was, ok := oldSources[in.Name]
		switch {
		case !ok:
			pl.addedInputs = append(pl.addedInputs, in)
		case was != p.sourceName(in):
			return nil, fmt.Errorf("program %s: source %s now reads table %s, not %s: run with --rebuild to build the program afresh", p.Schema, in.Name, p.sourceName(in), was)
		}
	}
	for name, table := range oldSources {
		if !current[name] {
			pl.removedInputs[name] = table
		}
	}

	// What the rebuild computes: the fresh nodes, the rebuilt and added
	// outputs, and everything they read, down to the sources or to a
	// kept output, whose table holds its view's rows at the snapshot.
	pl.needed = make([]bool, len(c.Nodes))
	pl.frontier = map[int]*ir.Output{}
	kept := map[int]*ir.Output{}
	for _, o := range pl.kept {
		kept[o.View.Node.ID] = o
	}
	var need func(n *ir.Node)
	need = func(n *ir.Node) {
		if pl.needed[n.ID] {
			return
		}
		pl.needed[n.ID] = true
		if o, ok := kept[n.ID]; ok {
			pl.frontier[n.ID] = o
			pl.Reads = append(pl.Reads, o.View.Name+" (its table)")
			return
		}
		for _, in := range n.Inputs {
			need(in)
		}
		if fp, ok := n.Op.(*ir.Fixpoint); ok {
			for _, b := range fp.Body {
				need(b)
			}
		}
	}
	for _, id := range pl.fresh {
		need(c.Nodes[id])
	}
	for _, o := range append(slices.Clone(pl.rebuilt), pl.added...) {
		need(o.View.Node)
	}
	for _, in := range c.Inputs {
		if pl.needed[in.Node.ID] {
			pl.Reads = append(pl.Reads, in.Name)
		}
	}
	sort.Strings(pl.Reads)
	return pl, nil
}

// readKept returns circuit c with each node of the frontier replaced by
// an input reading its output's table, and those inputs: the rebuild
// reads the rows of a kept output rather than compute them again.
func (p *Runner) readKept(c *ir.Circuit, frontier map[int]*ir.Output) (*ir.Circuit, []*ir.Input) {
	if len(frontier) == 0 {
		return c, nil
	}
	d := *c
	d.Nodes = slices.Clone(c.Nodes)
	var inputs []*ir.Input
	for _, id := range slices.Sorted(maps.Keys(frontier)) {
		o, n := frontier[id], c.Nodes[id]
		table := &ir.PostgresTable{Schema: p.Schema, Name: o.View.Name}
		switch len(o.Table) {
		case 0:
		case 1:
			table = &ir.PostgresTable{Name: o.Table[0]}
		default:
			table = &ir.PostgresTable{Schema: o.Table[len(o.Table)-2], Name: o.Table[len(o.Table)-1]}
		}
		name := "_output_" + o.View.Name
		src := &ir.Node{ID: id, Op: &ir.Source{Table: name}, Cols: n.Cols, Span: n.Span}
		d.Nodes[id] = src
		inputs = append(inputs, &ir.Input{Name: name, Columns: o.View.Columns, Node: src, Postgres: table})
	}
	return &d, inputs
}

// onlyColumnsAdded reports whether the deployed program differs from
// this one only by columns added to its sources that no view uses, as a
// plan against its lock text sees it: nothing to rebuild, no output
// table to create, replace or drop.
func (p *Runner) onlyColumnsAdded(ctx context.Context) (bool, error) {
	text, err := p.meta(ctx, p.Pool, metaLock)
	if err != nil || text == "" {
		return false, err
	}
	old, err := lockfile.Parse("deployed.lock", text)
	if err != nil {
		return false, nil // the plan says why; here, no
	}
	now, err := lockfile.Parse("program.lock", p.lockText())
	if err != nil {
		return false, err
	}
	d := lockfile.Compare(old, now)
	if len(d.Rebuild)+len(d.Replaced)+len(d.Created)+len(d.Dropped) > 0 {
		return false, nil
	}
	for _, c := range d.Changes {
		if c.Status != lockfile.Unchanged && c.Kind != "input" {
			return false, nil
		}
	}
	return true, nil
}

// liveViews returns the outputs, by view name, that a plan against the
// deployed lock text (see ir/lockfile) leaves live: their declarations
// and their views' definitions are unchanged, and nothing their views
// read changed but columns they do not use. None when no lock is
// recorded.
func (p *Runner) liveViews(ctx context.Context, q querier) (map[string]bool, error) {
	text, err := p.meta(ctx, q, metaLock)
	if err != nil || text == "" {
		return nil, err
	}
	old, err := lockfile.Parse("deployed.lock", text)
	if err != nil {
		return nil, fmt.Errorf("program %s: its recorded lock: %w", p.Schema, err)
	}
	now, err := lockfile.Parse("program.lock", p.lockText())
	if err != nil {
		return nil, err
	}
	rebuilt, live := map[string]bool{}, map[string]bool{}
	for _, c := range lockfile.Compare(old, now).Changes {
		switch {
		case c.Kind == "view" && c.Rebuild:
			rebuilt[c.Name] = true
		case c.Kind == "output" && c.Status == lockfile.Unchanged:
			live[c.Name] = true
		}
	}
	for name := range rebuilt {
		delete(live, name)
	}
	return live, nil
}

// pruned returns c with every node keep refuses replaced by an empty
// constant of the same ID and columns (with the body of a fixpoint it
// replaces), and with the given outputs and inputs: an engine running it
// computes only the nodes kept.
func pruned(c *ir.Circuit, keep []bool, outputs []*ir.Output, inputs []*ir.Input) *ir.Circuit {
	d := *c
	d.Nodes = slices.Clone(c.Nodes)
	d.Outputs, d.Inputs = outputs, inputs
	drop := slices.Clone(keep)
	for i := range drop {
		drop[i] = !drop[i]
	}
	for _, n := range c.Nodes {
		if fp, ok := n.Op.(*ir.Fixpoint); ok && drop[n.ID] {
			for _, b := range fp.Body {
				drop[b.ID] = true
			}
		}
	}
	for _, n := range c.Nodes {
		if drop[n.ID] && n != c.Clock {
			d.Nodes[n.ID] = &ir.Node{ID: n.ID, Op: &ir.Constant{Rows: zset.New()}, Cols: n.Cols, Span: n.Span}
		}
	}
	return &d
}

// nextTable returns a copy of output o writing a new table beside its
// own, in the same schema, for a rebuild to fill and swap in.
func (p *Runner) nextTable(o *ir.Output) *ir.Output {
	next := *o
	name := "stepping_next_" + shortHash(p.outputTable(o))
	switch len(o.Table) {
	case 0:
		next.Table = []string{p.Schema, name}
	case 1:
		next.Table = []string{name}
	default:
		next.Table = append(slices.Clone(o.Table[:len(o.Table)-1]), name)
	}
	return &next
}

// applyChange applies the changed program over the deployed one (see
// above), holding the program's lock: it waits for a runner applying
// the deployed program to stop.
func (p *Runner) applyChange(ctx context.Context) error {
	start := time.Now()
	// Checked before the lock, so that a change that cannot be applied
	// fails at once rather than after the running program stops; and
	// again under it, as another apply may have come first.
	if _, err := p.checkChange(ctx); err != nil {
		return err
	}
	release, err := p.Lock(ctx)
	if err != nil {
		return err
	}
	defer release()
	if stored, err := p.meta(ctx, p.Pool, "version"); err != nil || stored == p.Version() {
		return err // applied meanwhile
	}
	pl, err := p.checkChange(ctx)
	if err != nil {
		return err
	}
	p.logf("applying the change to %s: keeping outputs %v and the state of %d operators; building %d operators afresh, rebuilding outputs %v (and %v, kept if unchanged) and adding %v from sources %v",
		p.Schema, pl.Kept, pl.KeptState, pl.FreshState, pl.Rebuilt, pl.Checked, pl.Added, pl.Reads)
	if len(pl.addedInputs) > 0 {
		// Before the snapshot: every change to a new source from there on
		// is captured, and the rows before it are read by the rebuild.
		if err := pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
			for _, in := range pl.addedInputs {
				if err := p.capture(ctx, tx, in); err != nil {
					return fmt.Errorf("installing capture on %s: %w", p.sourceName(in), err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	err = pgx.BeginTxFunc(ctx, p.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		return p.applyIn(ctx, tx, pl, start)
	})
	if err != nil {
		return fmt.Errorf("program %s: applying the change (nothing was changed): %w", p.Schema, err)
	}
	p.sourced, p.backfilled = nil, true
	if err := p.dropRemovedInputs(ctx, pl); err != nil {
		return err
	}
	p.logf("applied the change to %s in %s", p.Schema, time.Since(start).Round(time.Millisecond))
	return nil
}

// checkChange plans the change and checks that it can be applied: the
// sources hold what the program reads, the role may make what it adds,
// and no one else's object depends on a table it replaces.
func (p *Runner) checkChange(ctx context.Context) (*applyPlan, error) {
	pl, err := p.planApply(ctx, p.Pool)
	if err != nil {
		return nil, err
	}
	if err := p.checkDrift(ctx); err != nil {
		return nil, err
	}
	if err := p.preflightChange(ctx, pl); err != nil {
		return nil, err
	}
	for _, o := range pl.rebuilt {
		if err := p.checkReplaceable(ctx, p.Pool, o.View.Name, p.outputTable(o), outputIndexNames(o, p.outputTable(o))); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// preflightChange checks what the changed program adds: its new sources
// and its new output tables, as an install checks them all.
func (p *Runner) preflightChange(ctx context.Context, pl *applyPlan) error {
	q := *p
	c := *p.Circuit
	c.Inputs, c.Outputs = pl.addedInputs, pl.added
	q.Circuit = &c
	return q.preflight(ctx)
}

// applyIn carries the plan out in transaction tx (see above).
func (p *Runner) applyIn(ctx context.Context, tx pgx.Tx, pl *applyPlan, start time.Time) error {
	c := p.Circuit
	// The first statement takes the snapshot everything below reads.
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+p.t("_meta")+" LIMIT 1"); err != nil {
		return err
	}
	if len(pl.removedInputs) > 0 {
		// Their rows have no place in the changed program; the triggers
		// go after the commit (see dropRemovedInputs).
		if _, err := tx.Exec(ctx, "DELETE FROM "+p.t("_log")+" WHERE source = ANY($1)", slices.Sorted(maps.Keys(pl.removedInputs))); err != nil {
			return err
		}
	}
	if err := p.moveState(ctx, tx, pl); err != nil {
		return err
	}
	sourced := map[int]*sourceIndex{}
	cands := p.sourceCandidates()
	for n, in := range cands {
		if slices.Contains(pl.sourced, n.ID) {
			sourced[n.ID] = p.newSourceIndex(n, in)
		}
	}

	// 2. The log up to S, through the kept part.
	kept := *p
	kept.Circuit, kept.sourced = pruned(c, pl.reusable, pl.kept, c.Inputs), sourced
	if st, _, err := kept.stepIn(ctx, tx, false, 0); err != nil {
		return fmt.Errorf("applying the pending changes to the kept outputs: %w", err)
	} else if st.LogRows > 0 {
		p.logf("applied %d pending changes to the kept outputs", st.LogRows)
	}

	// 3. The rest, from the sources.
	var outputs []*ir.Output
	for _, o := range pl.rebuilt {
		outputs = append(outputs, p.nextTable(o))
	}
	outputs = append(outputs, pl.added...)
	var ddl []string
	for _, o := range outputs {
		ddl = append(ddl, p.outputDDL(o)...)
	}
	if err := execAll(ctx, tx, ddl); err != nil {
		return err
	}
	if len(pl.fresh) > 0 || len(outputs) > 0 {
		var inputs []*ir.Input
		for _, in := range c.Inputs {
			if pl.needed[in.Node.ID] {
				inputs = append(inputs, in)
			}
		}
		keep := map[int]bool{}
		for id := range pl.reuse {
			keep[id] = pl.needed[id] && pl.frontier[id] == nil
		}
		build := *p
		circuit, kept := p.readKept(pruned(c, pl.needed, outputs, inputs), pl.frontier)
		circuit.Inputs = append(slices.Clone(circuit.Inputs), kept...)
		build.Circuit, build.sourced = circuit, sourced
		b, _, err := build.backfillIn(ctx, tx, start, false, keep)
		if err != nil {
			return fmt.Errorf("rebuilding: %w", err)
		}
		p.logf("rebuilt from %d source rows in %s", b.rows+b.pushedRows, time.Since(start).Round(time.Millisecond))
	}

	// 4. Swap, drop, record.
	for _, o := range pl.rebuilt {
		next := p.nextTable(o)
		if pl.alike[o.View.Name] {
			same, err := sameRows(ctx, tx, p.outputTable(o), p.outputTable(next))
			if err != nil {
				return err
			}
			if same {
				p.logf("output %s: rebuilt to the rows its table holds, which is left untouched", o.View.Name)
				if _, err := tx.Exec(ctx, "DROP TABLE "+p.outputTable(next)); err != nil {
					return err
				}
				continue
			}
		}
		if err := p.swapIn(ctx, tx, o, next, pl.owned); err != nil {
			return err
		}
	}
	for _, o := range pl.added {
		var oid uint32
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::oid", p.outputTable(o)).Scan(&oid); err != nil {
			return fmt.Errorf("recording output table %s: %w", p.outputTable(o), err)
		}
		pl.owned[p.outputTable(o)] = oid
	}
	for _, table := range pl.removed {
		if !p.DropRemoved {
			p.logf("table %s is no longer an output of %s: it is left as it is, no longer maintained (--drop-removed drops it)", table, p.Schema)
			continue
		}
		if err := p.checkReplaceable(ctx, tx, "", table, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DROP TABLE "+table); err != nil {
			return fmt.Errorf("dropping removed output table %s: %w", table, err)
		}
		delete(pl.owned, table)
		p.logf("dropped table %s, no longer an output of %s", table, p.Schema)
	}
	return p.recordApplied(ctx, tx, pl)
}

// moveState renames the kept state tables to their nodes' new IDs,
// drops the deployed tables no node keeps, and creates the fresh nodes'
// tables, empty.
func (p *Runner) moveState(ctx context.Context, tx pgx.Tx, pl *applyPlan) error {
	var stmts []string
	keptTables := map[string]bool{}
	var moves [][2]string
	for id, old := range pl.reuse {
		if slices.Contains(pl.sourced, id) {
			continue
		}
		kind := stateKind(p.Circuit.Nodes[id])
		from, to := fmt.Sprintf("%s_%d", kind, old), fmt.Sprintf("%s_%d", kind, id)
		keptTables[from] = true
		if from != to {
			moves = append(moves, [2]string{from, to})
		}
	}
	for _, t := range pl.oldTables {
		if !keptTables[t] {
			stmts = append(stmts, "DROP TABLE "+p.t(t))
		}
	}
	// In two moves, as a kept table may take the name of another.
	for _, m := range moves {
		stmts = append(stmts, "ALTER TABLE "+p.t(m[0])+" RENAME TO "+ident("_apply"+m[1]))
	}
	for _, m := range moves {
		stmts = append(stmts, "ALTER TABLE "+p.t("_apply"+m[1])+" RENAME TO "+ident(m[1]))
	}
	var indexIDs, groupIDs, orderedIDs []int
	for _, id := range pl.fresh {
		switch stateKind(p.Circuit.Nodes[id]) {
		case "_index":
			indexIDs = append(indexIDs, id)
		case "_groups":
			groupIDs = append(groupIDs, id)
		case "_ordered":
			orderedIDs = append(orderedIDs, id)
		}
	}
	stmts = append(stmts, NewStore(p.Schema).StateTableDDL(indexIDs, groupIDs, orderedIDs)...)
	return execAll(ctx, tx, stmts)
}

// checkReplaceable fails, naming them, when objects of someone else's
// depend on an output table that apply would drop: a view over it, a
// foreign key to it, a trigger, another program reading it, an index
// or constraint stepping did not make, a publication or a policy.
// Dropping the table would take them with it or fail. ours names the
// indexes stepping made on it; view is the output's view, "" for a
// removed output.
func (p *Runner) checkReplaceable(ctx context.Context, q querier, view, table string, ours []string) error {
	var deps []string
	err := q.QueryRow(ctx, `WITH t AS (SELECT to_regclass($1) AS oid)
SELECT coalesce(array_agg(d ORDER BY d), '{}') FROM (
  SELECT DISTINCT 'view ' || r.ev_class::regclass::text AS d FROM t, pg_depend dep JOIN pg_rewrite r ON dep.classid = 'pg_rewrite'::regclass AND dep.objid = r.oid
   WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = t.oid AND r.ev_class <> t.oid
  UNION ALL SELECT 'foreign key ' || quote_ident(conname) || ' of table ' || conrelid::regclass::text FROM t, pg_constraint WHERE confrelid = t.oid AND contype = 'f'
  UNION ALL SELECT 'constraint ' || quote_ident(conname) FROM t, pg_constraint WHERE conrelid = t.oid AND contype NOT IN ('p')
  UNION ALL SELECT 'trigger ' || quote_ident(tgname) FROM t, pg_trigger WHERE tgrelid = t.oid AND NOT tgisinternal AND tgname NOT LIKE 'stepping\_%' 
  UNION ALL SELECT 'index ' || i.indexrelid::regclass::text FROM t, pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
   WHERE i.indrelid = t.oid AND NOT i.indisprimary AND NOT ic.relname = ANY($2)
  UNION ALL SELECT 'publication ' || quote_ident(pub.pubname) FROM t, pg_publication_rel pr JOIN pg_publication pub ON pub.oid = pr.prpubid WHERE pr.prrelid = t.oid
  UNION ALL SELECT 'policy ' || quote_ident(polname) FROM t, pg_policy WHERE polrelid = t.oid
) x`, table, ours).Scan(&deps)
	if err != nil {
		return fmt.Errorf("program %s: looking for what depends on table %s: %w", p.Schema, table, err)
	}
	// Another program reading the table: its capture triggers would go
	// with it (see downstream.go).
	readers, err := ReadersOf(ctx, p.Pool, []string{table})
	if err != nil {
		return err
	}
	for _, r := range readers[table] {
		deps = append(deps, fmt.Sprintf("the program in schema %s, which reads it as source %s (drop it with --outputs first and run it again after)", r.Program.Schema, r.Input))
	}
	if len(deps) == 0 {
		return nil
	}
	what := "view " + view + " changed, so its table " + table + " must be rebuilt and replaced"
	if view == "" {
		what = "table " + table + " is no longer an output and --drop-removed drops it"
	}
	verb := "depend"
	if len(deps) == 1 {
		verb = "depends"
	}
	return fmt.Errorf("program %s: %s, but %s %s on it and would be lost with it: drop them first and make them again after, or leave the view as it was",
		p.Schema, what, strings.Join(deps, ", "), verb)
}

// sameRows reports whether two tables hold the same rows, by their
// text (by representation: 1.0 and 1.00 differ), as many times each.
func sameRows(ctx context.Context, tx pgx.Tx, a, b string) (bool, error) {
	var differ bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT t::text FROM `+a+` t EXCEPT ALL SELECT t::text FROM `+b+` t)
    OR EXISTS (SELECT t::text FROM `+b+` t EXCEPT ALL SELECT t::text FROM `+a+` t)`).Scan(&differ)
	if err != nil {
		return false, fmt.Errorf("comparing %s with its rebuild %s: %w", a, b, err)
	}
	return !differ, nil
}

// swapIn replaces output o's table by next, the table a rebuild filled:
// it drops the old table, gives next its name and its indexes' names,
// and the grants the old one had.
func (p *Runner) swapIn(ctx context.Context, tx pgx.Tx, o, next *ir.Output, owned map[string]uint32) error {
	table, nextTable := p.outputTable(o), p.outputTable(next)
	var oid *uint32
	var grants []string
	err := tx.QueryRow(ctx, `SELECT c.oid, coalesce((SELECT array_agg(format('GRANT %s ON %s TO %s%s', a.privilege_type, $2::text,
         CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
    FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner), '{}')
  FROM pg_class c WHERE c.oid = to_regclass($1)`, table, nextTable).Scan(&oid, &grants)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("replacing output table %s: %w", table, err)
	}
	if oid == nil || *oid != owned[table] {
		return fmt.Errorf("program %s: output table %s is not the table the program created: it will not replace it", p.Schema, table)
	}
	final := o.View.Name
	if len(o.Table) > 0 {
		final = o.Table[len(o.Table)-1]
	}
	var schema string // the indexes are in the table's schema
	if err := tx.QueryRow(ctx, "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass($1)", nextTable).Scan(&schema); err != nil {
		return err
	}
	// Grants first, while next has its own name; then the old table goes
	// and next takes its name, its key's and its indexes'.
	stmts := append(grants, "DROP TABLE "+table, "ALTER TABLE "+nextTable+" RENAME TO "+ident(final))
	if len(o.PrimaryKey) > 0 {
		var pkey string
		if err := tx.QueryRow(ctx, "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'", nextTable).Scan(&pkey); err != nil {
			return err
		}
		if name := final + "_pkey"; len(name) <= 63 {
			stmts = append(stmts, "ALTER TABLE "+table+" RENAME CONSTRAINT "+ident(pkey)+" TO "+ident(name))
		}
	}
	was, now := outputIndexNames(next, nextTable), outputIndexNames(o, table)
	for i := range was {
		stmts = append(stmts, "ALTER INDEX "+schema+"."+ident(was[i])+" RENAME TO "+ident(now[i]))
	}
	if err := execAll(ctx, tx, stmts); err != nil {
		return fmt.Errorf("program %s: replacing output table %s: %w", p.Schema, table, err)
	}
	var newOID uint32
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::oid", table).Scan(&newOID); err != nil {
		return err
	}
	owned[table] = newOID
	p.logf("replaced output table %s with its rebuilt version", table)
	return nil
}

// recordApplied records the changed program as the deployed one.
func (p *Runner) recordApplied(ctx context.Context, tx pgx.Tx, pl *applyPlan) error {
	owned, err := json.Marshal(pl.owned)
	if err != nil {
		return err
	}
	sourced, err := json.Marshal(pl.sourced)
	if err != nil {
		return err
	}
	views, err := json.Marshal(p.viewVersions())
	if err != nil {
		return err
	}
	for k, v := range map[string]string{"version": p.Version(), "views": string(views), metaLock: p.lockText(), "outputs": string(owned), metaSourceBacked: string(sourced)} {
		if err := p.setMeta(ctx, tx, k, v); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM "+p.t("_meta")+" WHERE key = 'failure'"); err != nil {
		return err
	}
	return p.recordShape(ctx, tx)
}

// dropRemovedInputs removes the capture triggers of the sources the
// program no longer reads, after the apply: dropping a trigger locks its
// table against readers, which must not wait for the rebuild.
func (p *Runner) dropRemovedInputs(ctx context.Context, pl *applyPlan) error {
	if len(pl.removedInputs) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		for name, table := range pl.removedInputs {
			for _, op := range []string{"ins", "upd", "del", "trunc"} {
				if _, err := tx.Exec(ctx, "DROP TRIGGER IF EXISTS "+ident(p.triggerName(op))+" ON "+table); err != nil {
					return fmt.Errorf("program %s: removing the capture of source %s (%s), which it no longer reads: %w", p.Schema, name, table, err)
				}
			}
		}
		_, err := tx.Exec(ctx, "DELETE FROM "+p.t("_log")+" WHERE source = ANY($1)", slices.Sorted(maps.Keys(pl.removedInputs)))
		return err
	})
}
