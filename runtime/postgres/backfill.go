package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// A program's first state is computed set-at-a-time, not replayed through
// the change log. Install creates the capture triggers and marks the
// backfill pending; the first ApplyPending then computes it as step 1, in
// one REPEATABLE READ transaction:
//
//   - its first statement deletes the change log rows it sees. A change's
//     log row is written in the same transaction as the change, so the
//     rows it deletes are exactly the changes its snapshot of the source
//     tables already holds; the rows it does not see stay for the steps
//     after. (CREATE TRIGGER waited for every writer already under way,
//     so no change escapes both the snapshot and the log.)
//   - it has Postgres compute the aggregates whose input is all in
//     source tables (see pushdown.go), and runs their groups' rows
//     through the rest of the circuit;
//   - it reads the other source tables through cursors, a BatchSize of
//     rows at a time, and runs them through the circuit over an
//     in-memory store;
//   - it writes the state and the outputs once, by COPY, into tables that
//     are empty: no upserts, and no output row written twice.
//
// Memory grows with the rows read, so past BackfillRows source rows the
// in-memory state is written out and the rest of the backfill goes on a
// chunk at a time against the state in Postgres, as ordinary steps do.
//
// A backfill that fails or is killed rolls back whole and stays pending:
// the next run starts it again from the sources as they are then.

// DefaultBackfillRows is how many source rows a backfill computes in
// memory before it writes its state out and goes on in Postgres, when
// Runner.BackfillRows is zero. The runner's heap peaks at up to about 850
// bytes per row read (the shop workload keeping every integral in memory,
// measured by stepbench -db: 855 MiB for 1,010,000 rows; 375 MiB now
// that the integral of its largest source is neither kept nor read, see
// unprobed), so the default needs up to about 850 MB.
const DefaultBackfillRows = 1_000_000

func (p *Runner) backfillRows() int {
	if p.BackfillRows > 0 {
		return p.BackfillRows
	}
	return DefaultBackfillRows
}

// backfillPending reports whether the program's first state is still to
// be computed.
func (p *Runner) backfillPending(ctx context.Context) (bool, error) {
	if p.backfilled {
		return false, nil
	}
	v, err := p.meta(ctx, p.Pool, "backfill")
	return v == "pending", err
}

// backfill computes the program's first state and outputs from the
// source tables as step 1 (see above) and returns its statistics.
func (p *Runner) backfill(ctx context.Context) (StepStats, error) {
	start := time.Now()
	st := StepStats{Step: 1}
	var failed []logRow
	err := pgx.BeginTxFunc(ctx, p.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		// Whether a watcher listens is read under the lock on _watchers
		// (see beginStep), which is taken first: the query after it takes
		// the snapshot the backfill reads, so it sees every registration
		// committed before the lock.
		_, publish, err := p.beginStep(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+p.t("_log")); err != nil {
			return err
		}
		var b *backfillRun
		if b, failed, err = p.backfillIn(ctx, tx, start, publish, nil); err != nil {
			return err
		}
		st.LogRows, st.Chunks = b.rows+b.pushedRows, b.chunks
		if !p.OmitChanges {
			st.Changes = b.changes
		}
		if p.Progress != nil {
			// Rows the aggregates Postgres computed read count too.
			read := int64(b.rows + b.pushedRows)
			p.Progress(Progress{What: "backfill", Done: read, Total: read, Rate: float64(read) / time.Since(start).Seconds(), Finished: true})
		}
		p.logf("backfill: %d rows in %s", b.rows+b.pushedRows, time.Since(start).Round(time.Millisecond))
		fin := &pgx.Batch{}
		fin.Queue("DELETE FROM " + p.t("_meta") + " WHERE key = 'backfill'")
		marks, err := p.backfillMarks(ctx, tx)
		if err != nil {
			return err
		}
		if err := p.queueMarks(fin, marks); err != nil {
			return err
		}
		p.queueFinish(fin, nil, st, b.published, publish, start)
		return tx.SendBatch(ctx, fin).Close()
	})
	st.Duration = time.Since(start)
	var se *runtime.StepError
	if errors.As(err, &se) {
		se.Step = 1 // the engine counted the chunks
	}
	if err != nil && permanent(err) {
		return st, p.failure(ctx, failed, err)
	}
	return st, err
}

// backfillIn computes, in transaction tx whose snapshot it reads, the
// state and outputs of p.Circuit from its sources, from empty: the
// program's first state, or the part of it a change of program builds
// afresh (see apply.go). The state of the nodes in keep is already in
// place: the backfill computes it as it must, but does not write it.
// On failure it returns the chunk of source rows that failed.
func (p *Runner) backfillIn(ctx context.Context, tx pgx.Tx, start time.Time, publish bool, keep map[int]bool) (*backfillRun, []logRow, error) {
	// Past BackfillRows, a key of an output may be inserted in one
	// chunk and retracted in a later one: check keys at commit.
	if _, err := tx.Exec(ctx, "SET CONSTRAINTS ALL DEFERRED"); err != nil {
		return nil, nil, err
	}
	now, err := p.stepTime(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	b := &backfillRun{p: p, tx: tx, now: now, publish: publish, keep: keep, mem: runtime.NewMemoryStore(), outputs: map[string]*zset.ZSet{}, started: start, lastReport: start}
	counts, err := p.countSources(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	sources, err := p.sourceIndexes(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	var pushed []*pushdown
	if !p.NoPushdown {
		if pushed, err = b.startPushdowns(ctx, p.pushdowns(sources), counts); err != nil {
			return nil, nil, err
		}
	}
	b.circuit = derive(p.Circuit, pushed)
	inputs := readOrder(unread(p.Circuit.Inputs, pushed), counts)
	for _, in := range inputs {
		b.total += counts[in.Name]
	}
	b.eng = runtime.NewWithOptions(b.circuit, unprobedStore{b.mem, unprobed(b.circuit, sources, inputs)}, runtime.Options{NoContents: true, AdmitLate: true, OutputsOnly: true})
	if len(sources) > 0 && b.total > p.backfillRows() {
		// Past the memory bound, source-backed integrals read the
		// sources, and must see only the rows read so far: each
		// source is read in physical order (a scan that starts where
		// another is under way would not be), up to a bound.
		if _, err := tx.Exec(ctx, "SET LOCAL synchronize_seqscans = off"); err != nil {
			return nil, nil, err
		}
		b.bounds = map[string]string{}
		for _, in := range p.Circuit.Inputs {
			b.bounds[in.Name] = boundNone
		}
	}
	for _, d := range pushed {
		if err := b.finishPushdown(ctx, d); err != nil {
			return nil, nil, err
		}
	}
	for _, in := range inputs {
		if failed, err := b.readSource(ctx, in); err != nil {
			return nil, failed, err
		}
	}
	if b.chunks == 0 {
		// No source rows: one step with no changes, for constants.
		if err := b.step(ctx, 0, map[string]*zset.ZSet{}); err != nil {
			return nil, nil, err
		}
	}
	return b, nil, b.flush(ctx, true)
}

// countSources counts the rows of each source a backfill reads, for its
// progress reports and its order.
func (p *Runner) countSources(ctx context.Context, tx pgx.Tx) (map[string]int, error) {
	counts := map[string]int{}
	for _, in := range p.Circuit.Inputs {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM ONLY "+p.sourceName(in)).Scan(&n); err != nil {
			return nil, err
		}
		counts[in.Name] = n
	}
	return counts, nil
}

// readOrder is the order a backfill reads its sources in: the one with
// the most rows last, so that the source-backed integrals of that one
// need not be kept in memory (see unprobed). Any order gives the same
// state: the changes are all insertions.
func readOrder(inputs []*ir.Input, counts map[string]int) []*ir.Input {
	if len(inputs) < 2 {
		return inputs
	}
	largest := 0
	for i, in := range inputs {
		if counts[in.Name] > counts[inputs[largest].Name] {
			largest = i
		}
	}
	order := slices.Concat(inputs[:largest], inputs[largest+1:])
	return append(order, inputs[largest])
}

// unprobed returns the source-backed integrals of the source the
// backfill reads last that no step of the backfill looks into: each is
// read only by joins whose other side derives from other sources, whose
// rows all come before the first row of this one, when the integral is
// still empty. The backfill neither keeps nor reads them (the source is
// their state); a self-join, whose other side derives from the same
// source, keeps its integral.
func unprobed(c *ir.Circuit, sources map[int]*sourceIndex, order []*ir.Input) map[int]bool {
	if len(order) == 0 {
		return nil
	}
	last := order[len(order)-1].Name
	out := map[int]bool{}
	for id, six := range sources {
		if six.input.Name == last && probedOnlyByOthers(c, id, last) {
			out[id] = true
		}
	}
	return out
}

// probedOnlyByOthers reports whether every consumer of integral id is a
// join that looks it up with changes not derived from source table.
func probedOnlyByOthers(c *ir.Circuit, id int, table string) bool {
	for _, n := range c.Nodes {
		for i, d := range n.Inputs {
			if _, ok := d.Op.(*ir.Delay); !ok || len(d.Inputs) != 1 || d.Inputs[0].ID != id {
				continue
			}
			// Join's inputs: Δleft, Δright, z⁻¹(I left), z⁻¹(I right).
			if _, ok := n.Op.(*ir.Join); !ok || (i != 2 && i != 3) {
				return false
			}
			if derivesFrom(n.Inputs[3-i], table) {
				return false
			}
		}
	}
	return true
}

// derivesFrom reports whether node n reads source table, through any of
// its inputs.
func derivesFrom(n *ir.Node, table string) bool {
	seen := map[int]bool{}
	var walk func(n *ir.Node) bool
	walk = func(n *ir.Node) bool {
		if seen[n.ID] {
			return false
		}
		seen[n.ID] = true
		if src, ok := n.Op.(*ir.Source); ok && src.Table == table {
			return true
		}
		return slices.ContainsFunc(n.Inputs, walk)
	}
	return walk(n)
}

// unprobedStore is a backfill's in-memory store, with no state for the
// integrals unprobed finds.
type unprobedStore struct {
	*runtime.MemoryStore
	skip map[int]bool
}

// Index returns the in-memory index of node id, or, for an integral the
// backfill never looks into, one that keeps nothing.
func (s unprobedStore) Index(id int) runtime.Index {
	if s.skip[id] {
		return emptyIndex{}
	}
	return s.MemoryStore.Index(id)
}

// emptyIndex is an integral that is empty whenever it is read.
type emptyIndex struct{}

func (emptyIndex) Lookup(_ context.Context, keys []string) ([][]zset.Entry, error) {
	return make([][]zset.Entry, len(keys)), nil
}

func (emptyIndex) Update(context.Context, []runtime.KeyedChange) error { return nil }

// backfillRun is one backfill under way.
type backfillRun struct {
	p   *Runner
	tx  pgx.Tx
	now time.Time
	// circuit is the program's circuit with the aggregates Postgres
	// computes standing as inputs (see derive).
	circuit *ir.Circuit
	// pushedRows counts the source rows the aggregates Postgres
	// computed read.
	pushedRows int
	// mem is the state while it is computed in memory, nil once written
	// out; eng computes over it.
	mem *runtime.MemoryStore
	eng *runtime.Engine
	// outputs adds up the outputs' changes while the state is in memory:
	// from empty, they add up to the outputs' rows.
	outputs map[string]*zset.ZSet
	// changes adds up every chunk's output changes, for StepStats.
	changes map[string]*zset.ZSet
	// publish says whether a watcher listens, so whether the step
	// publishes its changes; published counts them for _steps either way.
	publish    bool
	published  int
	rows       int // source rows read through the engine
	fed        int // rows run through the engine: source rows and pushed-down groups
	total      int // source rows to read
	chunks     int
	started    time.Time
	lastReport time.Time
	// bounds limits the rows of each source its source-backed integrals
	// see once the state is in Postgres (see Store.bounds); nil when the
	// backfill stays in memory.
	bounds map[string]string
	// keep holds the nodes whose state is in place already (see
	// backfillIn): once the backfill goes on in Postgres, theirs is
	// computed in temporary tables (see Store.scratch).
	keep map[int]bool
}

// readSource runs the rows of one source table through the circuit, a
// chunk at a time. On failure it returns the chunk that failed.
func (b *backfillRun) readSource(ctx context.Context, in *ir.Input) ([]logRow, error) {
	p := b.p
	// to_json, as capture writes the log: the rows decode the same way
	// whichever path they come by, so a later retraction finds them.
	if _, err := b.tx.Exec(ctx, "DECLARE _stepping_backfill NO SCROLL CURSOR FOR SELECT to_json(t.*)::text, t.ctid FROM ONLY "+p.sourceName(in)+" t"); err != nil {
		return nil, fmt.Errorf("backfill of %s: %w", p.sourceName(in), err)
	}
	fetch := "FETCH " + strconv.Itoa(p.batchSize()) + " FROM _stepping_backfill"
	var last pgtype.TID
	for {
		rows, err := b.tx.Query(ctx, fetch)
		if err != nil {
			return nil, err
		}
		var ctid pgtype.TID
		chunk, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (logRow, error) {
			var text string
			err := r.Scan(&text, &ctid)
			if err == nil && b.bounds != nil && !tidAfter(ctid, last) {
				err = fmt.Errorf("backfill of %s: rows read out of physical order", p.sourceName(in))
			}
			last = ctid
			return logRow{source: in.Name, weight: 1, row: []byte(text)}, err
		})
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 {
			break
		}
		deltas, err := p.decode(chunk)
		if err != nil {
			return chunk, err
		}
		if err := b.step(ctx, len(chunk), deltas); err != nil {
			return chunk, err
		}
		b.rows += len(chunk)
		if b.bounds != nil {
			// The chunk is in the state: lookups see its rows.
			b.bounds[in.Name] = fmt.Sprintf("(%d,%d)", last.BlockNumber, last.OffsetNumber)
		}
		b.report()
	}
	if b.bounds != nil {
		delete(b.bounds, in.Name) // read whole
	}
	_, err := b.tx.Exec(ctx, "CLOSE _stepping_backfill")
	return nil, err
}

// tidAfter reports whether a comes after b in a table's physical order;
// every tid comes after the zero one.
func tidAfter(a, b pgtype.TID) bool {
	if !b.Valid {
		return true
	}
	return a.BlockNumber > b.BlockNumber || a.BlockNumber == b.BlockNumber && a.OffsetNumber > b.OffsetNumber
}

// step runs one chunk of source rows through the circuit: in memory
// while under BackfillRows, in Postgres after.
func (b *backfillRun) step(ctx context.Context, rows int, deltas map[string]*zset.ZSet) error {
	if b.mem != nil && b.fed+rows > b.p.backfillRows() && b.fed > 0 {
		b.p.logf("backfill: %d rows computed in memory; writing the state out and going on in Postgres (BackfillRows)", b.fed)
		if err := b.flush(ctx, false); err != nil {
			return err
		}
	}
	var res *runtime.Result
	var err error
	if b.mem != nil {
		if res, err = b.eng.StepDeltaAt(ctx, b.now, deltas); err != nil {
			return err
		}
		for _, o := range b.p.Circuit.Outputs {
			addChanges(b.outputs, o.View.Name, res.Changes[o.View.Name])
		}
	} else {
		tail := &pgx.Batch{}
		store, err := b.p.newStore(ctx, b.tx, b.bounds)
		if err != nil {
			return err
		}
		store.DeferWrites(tail)
		store.scratch = b.keep
		// Not the first engine step: constants entered in the first chunk.
		eng := runtime.NewWithOptions(b.circuit, store, runtime.Options{NoContents: true, StepsDone: int64(b.chunks), AdmitLate: true, OutputsOnly: true})
		if res, err = eng.StepDeltaAt(ctx, b.now, deltas); err != nil {
			return err
		}
		res.Step = 1
		if err := b.write(ctx, res, tail); err != nil {
			return err
		}
	}
	if !b.p.OmitChanges {
		if b.changes == nil {
			b.changes = map[string]*zset.ZSet{}
		}
		for _, o := range b.p.Circuit.Outputs {
			addChanges(b.changes, o.View.Name, res.Changes[o.View.Name])
		}
	}
	b.fed += rows
	b.chunks++
	return nil
}

func addChanges(into map[string]*zset.ZSet, view string, d *zset.ZSet) {
	if d == nil || d.IsEmpty() {
		return
	}
	if into[view] == nil {
		into[view] = zset.New()
	}
	into[view].AddAll(d, 1)
}

// report tells the backfill's progress (see reportProgress).
func (b *backfillRun) report() {
	rate := float64(b.rows) / time.Since(b.started).Seconds()
	b.p.reportProgress(Progress{What: "backfill", Done: int64(b.rows), Total: int64(max(b.total, b.rows)), Rate: rate})
}

// flush writes the state computed in memory, and the outputs it gave,
// into the program's empty state and output tables by COPY; later chunks
// go to Postgres. The state of the nodes in keep goes to temporary
// tables, for the later chunks, or nowhere when the flush is final.
func (b *backfillRun) flush(ctx context.Context, final bool) error {
	if b.mem == nil {
		return nil
	}
	cols := []string{"key", "row_key", "row", "weight"}
	sources, err := b.p.sourceIndexes(ctx, b.tx)
	if err != nil {
		return err
	}
	for _, n := range b.p.Circuit.Nodes {
		if _, ok := sources[n.ID]; ok {
			continue // the source table is its state
		}
		if b.keep[n.ID] && final {
			continue
		}
		var table pgx.Identifier
		var err error
		switch n.Op.(type) {
		case *ir.Integrate, *ir.Fixpoint, *ir.Stamp:
			if table, err = b.stateTable(ctx, "_index", n.ID); err == nil {
				err = b.copyEntries(ctx, table, cols, b.mem.IndexEntries(n.ID))
			}
		case *ir.OrderedIntegrate:
			if table, err = b.stateTable(ctx, "_ordered", n.ID); err == nil {
				err = b.copyEntries(ctx, table, cols, b.mem.OrderedEntries(n.ID))
			}
		case *ir.Aggregate, *ir.TopK, *ir.Window, *ir.Session:
			if table, err = b.stateTable(ctx, "_groups", n.ID); err == nil {
				err = b.copyGroups(ctx, table, b.mem.GroupStates(n.ID))
			}
		}
		if err != nil {
			return fmt.Errorf("backfill: writing %s: %w", table.Sanitize(), err)
		}
	}
	if err := b.write(ctx, &runtime.Result{Step: 1, Changes: b.outputs}, &pgx.Batch{}); err != nil {
		return err
	}
	b.mem, b.eng, b.outputs = nil, nil, nil
	return nil
}

// write applies output changes of the backfill (step 1) to the output
// tables, publishes them when a watcher listens, and sends them with the
// state writes queued in tail.
func (b *backfillRun) write(ctx context.Context, res *runtime.Result, tail *pgx.Batch) error {
	if err := b.p.writeOutputs(ctx, b.tx, res, tail); err != nil {
		return err
	}
	b.published += b.p.outputChanges(res)
	if b.publish {
		if err := b.p.publishChanges(tail, res); err != nil {
			return err
		}
	}
	return b.tx.SendBatch(ctx, tail).Close()
}

// stateTable names the state table of node id a backfill writes: the
// program's, or, for a node in keep, a temporary one like it, which it
// creates.
func (b *backfillRun) stateTable(ctx context.Context, prefix string, id int) (pgx.Identifier, error) {
	name := fmt.Sprintf("%s_%d", prefix, id)
	if !b.keep[id] {
		return pgx.Identifier{b.p.Schema, name}, nil
	}
	_, err := b.tx.Exec(ctx, "CREATE TEMPORARY TABLE IF NOT EXISTS "+ident(name)+" (LIKE "+ident(b.p.Schema, name)+" INCLUDING ALL) ON COMMIT DROP")
	return pgx.Identifier{"pg_temp", name}, err
}

func (b *backfillRun) copyEntries(ctx context.Context, table pgx.Identifier, cols []string, entries iter.Seq[runtime.StateEntry]) error {
	next, stop := iter.Pull(entries)
	defer stop()
	_, err := b.tx.CopyFrom(ctx, table, cols, pgx.CopyFromFunc(func() ([]any, error) {
		e, ok := next()
		if !ok {
			return nil, nil
		}
		return []any{[]byte(e.Key), []byte(e.RowKey), types.EncodeRow(e.Row), e.Weight}, nil
	}))
	return err
}

func (b *backfillRun) copyGroups(ctx context.Context, table pgx.Identifier, groups iter.Seq2[string, *runtime.GroupState]) error {
	next, stop := iter.Pull2(groups)
	defer stop()
	_, err := b.tx.CopyFrom(ctx, table, []string{"key", "state"}, pgx.CopyFromFunc(func() ([]any, error) {
		for {
			key, st, ok := next()
			if !ok {
				return nil, nil
			}
			if st == nil || st.Count == 0 {
				continue
			}
			return []any{[]byte(key), encodeGroupState(st)}, nil
		}
	}))
	return err
}
