// Package memory runs a program in the process: the embedded default
// backend of package stepping. Changes wait until a step applies them all
// at once; every view and table can be read, looked up by any columns
// (indexed on first use and kept up to date) and watched.
package memory

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Backend is a program running in memory; it implements runtime.Backend.
type Backend struct {
	circuit *ir.Circuit
	eng     *runtime.Engine
	pending map[string][]runtime.Change
	lookups map[string]*lookupIndex // by view and columns

	mu       sync.Mutex // guards watchers, which Next reads beside Step
	watchers map[*watcher]bool
}

var _ runtime.Backend = (*Backend)(nil)

// New returns a backend running circuit c over empty tables. A circuit
// with constant relations (values) has its first step applied at once,
// with no changes, so that its views hold their rows from the start;
// should that step fail (a constant divided by zero), it fails again,
// with the error, at the first Step.
func New(c *ir.Circuit) *Backend { return NewWithOptions(c, Options{}) }

// Options adjust an in-memory backend.
type Options struct {
	// Workers is the number of goroutines a step's stateful operators
	// run on, each over its share of the state (runtime.Options.Workers);
	// 0 and 1 mean one.
	Workers int
	// OutputsOnly makes Step return the changes of the outputs, and of
	// the views read, looked up or wanted (Want) so far, and compute
	// only what those need (runtime.Options.OutputsOnly).
	OutputsOnly bool
	// OwnsRows says the rows of the changes given to Write are the
	// backend's: it keeps them, and may swap a value in one for an
	// equal value's box (runtime.Options.OwnsRows).
	OwnsRows bool
}

// NewWithOptions is New with options.
func NewWithOptions(c *ir.Circuit, opts Options) *Backend {
	eng := runtime.NewWithOptions(c, runtime.NewMemoryStore(), runtime.Options{Workers: opts.Workers, OutputsOnly: opts.OutputsOnly, OwnsRows: opts.OwnsRows})
	_, _ = eng.Start(context.Background())
	return &Backend{
		circuit:  c,
		eng:      eng,
		pending:  map[string][]runtime.Change{},
		lookups:  map[string]*lookupIndex{},
		watchers: map[*watcher]bool{},
	}
}

// Write queues changes to a table until the next Step.
func (b *Backend) Write(_ context.Context, table string, changes []runtime.Change) error {
	b.pending[table] = append(b.pending[table], changes...)
	return nil
}

// Step applies every pending change as one atomic step: if it fails (a
// duplicate primary key, a division by zero, ...) nothing is applied and
// the changes are dropped.
func (b *Backend) Step(ctx context.Context) ([]runtime.StepChanges, error) {
	changes := b.pending
	b.pending = map[string][]runtime.Change{}
	res, err := b.eng.Step(ctx, changes)
	if err != nil {
		return nil, err
	}
	for view, d := range res.Changes {
		for _, ix := range b.lookups {
			if ix.view == view {
				ix.apply(d)
			}
		}
	}
	sc := runtime.StepChanges{Step: res.Step, Changes: res.Changes}
	b.mu.Lock()
	for w := range b.watchers {
		w.push(sc)
	}
	b.mu.Unlock()
	return []runtime.StepChanges{sc}, nil
}

// Memory keeps no history and its tables have no other writers: of the
// optional interfaces of runtime.Backend it implements only this one.
var _ runtime.BacklogReporter = (*Backend)(nil)

// Backlog reports the steps applied and how many changes wait for the
// next Step (runtime.BacklogReporter); memory keeps no history.
func (b *Backend) Backlog(ctx context.Context) (runtime.Backlog, error) {
	steps, err := b.Steps(ctx)
	if err != nil {
		return runtime.Backlog{}, err
	}
	n := 0
	for _, cs := range b.pending {
		n += len(cs)
	}
	return runtime.Backlog{Steps: steps, Pending: int64(n), HistoryFrom: steps + 1, Watermarks: b.eng.Watermarks()}, nil
}

// Readable reports whether name is a view or table of the program.
func (b *Backend) Readable(name string) bool {
	return b.eng.Has(name)
}

// Read returns a view's or table's rows whose columns equal where's
// values. A lookup by some columns indexes the relation by them on first
// use, and every step keeps the index up to date.
func (b *Backend) Read(ctx context.Context, name string, where map[int]any) (*zset.ZSet, error) {
	if !b.eng.Has(name) {
		return nil, fmt.Errorf("no view or table %s", name)
	}
	if len(where) == 0 {
		z, _, err := b.eng.ReadContents(ctx, name)
		return z, err
	}
	if in := b.input(name); in != nil {
		// A table's changes are not among a step's results, which keep
		// the views' indexes up to date: read its rows, by key when the
		// lookup is by its primary key.
		z, _, err := b.eng.ReadContents(ctx, name)
		if err != nil {
			return nil, err
		}
		return b.readTable(in, z, where), nil
	}
	idx := make([]int, 0, len(where))
	for i := range where {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	key := fmt.Sprint(name, idx)
	ix, ok := b.lookups[key]
	if !ok {
		// The contents are read only to make the index: a view read
		// from an aggregate's state is worked out again after each step
		// that changed it, which a lookup by an index that every step
		// keeps up to date does not need.
		z, _, err := b.eng.ReadContents(ctx, name)
		if err != nil {
			return nil, err
		}
		ix = &lookupIndex{view: name, cols: idx, rows: map[string]*zset.ZSet{}}
		ix.apply(z)
		b.lookups[key] = ix
	}
	vals := make([]any, len(idx))
	for j, i := range idx {
		vals[j] = where[i]
	}
	return ix.rows[types.KeyOf(vals)], nil
}

func (b *Backend) input(name string) *ir.Input {
	for _, in := range b.circuit.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// readTable returns a table's rows whose columns equal where's values:
// the one row of its primary key when where gives exactly that, else
// those of its contents z that match.
func (b *Backend) readTable(in *ir.Input, z *zset.ZSet, where map[int]any) *zset.ZSet {
	out := zset.New()
	if len(in.PrimaryKey) == len(where) {
		key := make([]any, 0, len(where))
		for _, k := range in.PrimaryKey {
			v, ok := where[k]
			if !ok {
				key = nil
				break
			}
			key = append(key, v)
		}
		if key != nil {
			if row, ok := b.eng.TableRow(in.Name, key); ok {
				out.Add(row, 1)
			}
			return out
		}
	}
	z.Each(func(row zset.Row, w int64) {
		for i, v := range where {
			if types.Compare(row[i], v) != 0 {
				return
			}
		}
		out.Add(row, w)
	})
	return out
}

// Steps returns the number of steps applied.
func (b *Backend) Steps(context.Context) (int64, error) { return b.eng.Steps(), nil }

// Watch returns a watch of every later step. In memory there is no
// history: after must be the current step.
func (b *Backend) Watch(_ context.Context, after int64) (runtime.Watcher, error) {
	if now := b.eng.Steps(); after != now {
		return nil, fmt.Errorf("in memory only later steps can be watched (after step %d, not %d)", now, after)
	}
	w := &watcher{b: b, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	b.watchers[w] = true
	b.mu.Unlock()
	return w, nil
}

// Want makes every later step return view's changes, with
// Options.OutputsOnly, as it does without: a subscriber's view. It
// reports whether the program has the view.
func (b *Backend) Want(view string) bool { return b.eng.Want(view) }

// Extend makes the backend run circuit c, which adds views to the one it
// runs, computing only the new views (see runtime.Engine.Extend). It
// returns their contents, and false, changing nothing, when c is no such
// extension. Changes given and not yet stepped stay pending.
func (b *Backend) Extend(ctx context.Context, c *ir.Circuit, t time.Time) (runtime.StepChanges, bool, error) {
	next, res, ok, err := b.eng.Extend(ctx, c, t)
	if err != nil || !ok {
		return runtime.StepChanges{}, ok, err
	}
	b.circuit, b.eng = c, next
	return runtime.StepChanges{Step: res.Step, Changes: res.Changes}, true, nil
}

// Close ends every watch.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for w := range b.watchers {
		w.end()
	}
	b.watchers = map[*watcher]bool{}
	return nil
}

// watcher queues the steps for one watch, so that Step never waits for
// its reader.
type watcher struct {
	b     *Backend
	mu    sync.Mutex
	queue []runtime.StepChanges
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func (w *watcher) push(sc runtime.StepChanges) {
	w.mu.Lock()
	w.queue = append(w.queue, sc)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Next returns the oldest queued step, waiting for one.
func (w *watcher) Next(ctx context.Context) (runtime.StepChanges, error) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			sc := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return sc, nil
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-w.done:
			return runtime.StepChanges{}, context.Canceled
		case <-ctx.Done():
			return runtime.StepChanges{}, ctx.Err()
		}
	}
}

// Close ends the watch.
func (w *watcher) Close() {
	w.b.mu.Lock()
	delete(w.b.watchers, w)
	w.b.mu.Unlock()
	w.end()
}

func (w *watcher) end() { w.once.Do(func() { close(w.done) }) }

// lookupIndex is a relation's contents indexed by some of its columns.
type lookupIndex struct {
	view string
	cols []int
	rows map[string]*zset.ZSet // by types.KeyOf of the columns' values
}

func (ix *lookupIndex) apply(d *zset.ZSet) {
	d.Each(func(row zset.Row, w int64) {
		vals := make([]any, len(ix.cols))
		for j, i := range ix.cols {
			vals[j] = row[i]
		}
		k := types.KeyOf(vals)
		z := ix.rows[k]
		if z == nil {
			z = zset.New()
			ix.rows[k] = z
		}
		z.Add(row, w)
		if z.IsEmpty() {
			delete(ix.rows, k)
		}
	})
}
