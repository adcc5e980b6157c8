package stepping

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/memory"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// Engine runs a program on a store: in memory, or in Postgres. Give it
// changes with Insert, Delete and Update, apply them with Step, and read
// the views with Read, Lookup and Subscribe. It is safe for concurrent
// use. Close it when done.
//
// In memory, changes wait in the engine until Step applies them all as
// one atomic step. On Postgres the program's tables are live tables:
// Insert, Delete and Update write them with ordinary SQL (as any other
// client may), their triggers log the changes, and Step applies what is
// pending, in batches, each one committed step.
type Engine struct {
	prog    atomic.Pointer[Program] // replaced by Extend
	backend runtime.Backend

	mu     sync.Mutex
	closed bool
	subs   map[*Subscription]bool
	wg     sync.WaitGroup
}

// OpenMemory returns an engine running the program in memory, with empty
// tables. A program with constant relations (values) has its first step
// applied at once, with no changes, so that its views hold their rows
// from the start; should that step fail (a constant divided by zero), it
// fails again, with the error, at the first Step.
func (p *Program) OpenMemory() *Engine { return p.OpenMemoryWith(MemoryOptions{}) }

// MemoryOptions say how OpenMemoryWith runs a program.
type MemoryOptions struct {
	// Workers is the number of goroutines a step's joins, groups and
	// other stateful operators run on side by side, each over its share
	// of their state (split by key); 0 and 1 mean one. The results are
	// the same whatever the number: only steps with many changes run
	// faster.
	Workers int
	// OutputsOnly makes Step return the changes of the outputs, and of
	// the views read, looked up or subscribed to so far, and compute
	// only what those need: a view that nothing reads costs nothing.
	// (Without it Step returns every view's changes, and so computes
	// them all.) A view read later is computed then from the tables, as
	// it would be anyway. On Postgres, Step returns only the outputs'.
	OutputsOnly bool
}

// OpenMemoryWith is OpenMemory with options.
func (p *Program) OpenMemoryWith(opts MemoryOptions) *Engine {
	return p.open(memory.NewWithOptions(p.c.Circuit, memory.Options{Workers: opts.Workers, OutputsOnly: opts.OutputsOnly, OwnsRows: true}))
}

func (p *Program) open(b runtime.Backend) *Engine {
	e := &Engine{backend: b, subs: map[*Subscription]bool{}}
	e.prog.Store(p)
	return e
}

// PostgresOptions say where and how a program runs on Postgres.
type PostgresOptions struct {
	// Schema is the program's own schema, for its state, change log and
	// history; empty means DefaultSchema of the program's file name.
	Schema string
	// Rebuild drops state built by another version of the program and
	// replays from the sources; without it, opening fails with
	// ErrVersion.
	Rebuild bool
	// Apply applies a change of program instead: the state and output
	// tables the change leaves alone are kept, and the rest is rebuilt
	// beside the live tables and swapped in (stepq run --db --apply).
	Apply bool
	// DropRemoved makes an Apply drop the tables of outputs the program
	// no longer has; without it they are left, no longer maintained.
	DropRemoved bool
	// BatchSize is how many change-log rows one step applies; 0 means
	// 10,000.
	BatchSize int
	// Log receives progress messages (backfill, waiting for another
	// runtime); nil discards them.
	Log io.Writer
}

// OpenPostgres returns an engine running the program in Postgres, as
// stepq run --db does: the program's inputs are tables of the database
// (compile it with CompileDB to type them from the catalog), its outputs
// ordinary tables kept up to date. On first use it installs the
// program's state, capture triggers and output tables and queues the
// sources' existing rows. It takes the program's advisory lock, waiting
// (as long as ctx allows) while another runtime holds it, and keeps it
// until Close.
func (p *Program) OpenPostgres(ctx context.Context, pool *pgxpool.Pool, opts PostgresOptions) (*Engine, error) {
	schema := opts.Schema
	if schema == "" {
		schema = DefaultSchema(p.c.Filename)
	}
	pg := &postgres.Runner{Pool: pool, Circuit: p.c.Circuit, Schema: schema, Log: opts.Log, BatchSize: opts.BatchSize, Apply: opts.Apply, DropRemoved: opts.DropRemoved}
	b, err := postgres.Open(ctx, pg, opts.Rebuild)
	if err != nil {
		return nil, classify(err)
	}
	return p.open(b), nil
}

// DefaultSchema is the schema a program keeps its state in on Postgres
// when none is chosen: stepping_ followed by its file's base name, lower
// case, without the extension. For a program in a directory, filename is
// the directory, and its base name is used the same way.
func DefaultSchema(filename string) string {
	base := strings.TrimSuffix(filepath.Base(filename), filepath.Ext(filename))
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "stepping_" + b.String()
}

// ErrClosed is returned by the methods of a closed engine.
var ErrClosed = errors.New("stepping: engine closed")

// The errors callers can test for with errors.Is. A Postgres error keeps
// its *pgconn.PgError in the chain, for errors.As.
var (
	// ErrNotFound: the program declares no table or view of the name
	// given (see NotFoundError).
	ErrNotFound = errors.New("stepping: no such table or view")
	// ErrDuplicateKey: an insert of a row whose primary key the table
	// already holds.
	ErrDuplicateKey = errors.New("stepping: duplicate primary key")
	// ErrVersion: the state in the database was built by a different
	// version of the program; run it with rebuild to replay it.
	ErrVersion = errors.New("stepping: the program changed since its state was built")
)

// NotFoundError is a table or view the program does not declare.
type NotFoundError struct {
	Kind string // "table" or "view"
	Name string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s %s in the program", e.Kind, e.Name)
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// classified makes errors.Is(err, kind) hold for an error of the
// backends that the API names (a duplicate key the engine found, or
// Postgres's unique_violation; a version mismatch), keeping the original
// in the chain.
type classified struct {
	err  error
	kind error
}

func (c classified) Error() string        { return c.err.Error() }
func (c classified) Unwrap() error        { return c.err }
func (c classified) Is(target error) bool { return target == c.kind }

// classify marks what the API names among err's causes, for errors.Is.
func classify(err error) error {
	if err == nil {
		// Before the targets of errors.As are declared: they escape,
		// and would be made for every step that succeeds.
		return nil
	}
	return classifyFailure(err)
}

// classifyFailure is classify for an error that is not nil.
func classifyFailure(err error) error {
	var dup *runtime.DuplicateKeyError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &dup) || errors.As(err, &pgErr) && pgErr.Code == "23505":
		return classified{err, ErrDuplicateKey}
	case errors.Is(err, postgres.ErrVersion):
		return classified{err, ErrVersion}
	}
	return err
}

// ErrNotExtension is Extend's error for a program that does more than add
// views to the engine's.
var ErrNotExtension = errors.New("stepping: the program does not only add views to the engine's")

// extender is a backend that can take more views while it runs.
type extender interface {
	Extend(ctx context.Context, c *ir.Circuit, t time.Time) (runtime.StepChanges, bool, error)
}

// Extend makes the engine run p, a program that adds views to the one it
// runs (its tables, functions and existing views as they are), and
// returns the new views' contents, one Batch each. Only the new views are
// computed, from the current rows of the tables and views they read;
// every other view keeps its state, subscriptions and lookups. A program
// that changes anything else fails with ErrNotExtension and changes
// nothing: open it anew. In memory only.
func (e *Engine) Extend(ctx context.Context, p *Program) ([]Batch, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	b, ok := e.backend.(extender)
	if !ok {
		return nil, fmt.Errorf("stepping: a running program takes more views only in memory; on Postgres, open the new program with Apply")
	}
	sc, ok, err := b.Extend(ctx, p.c.Circuit, time.Now())
	if err != nil {
		return nil, classify(fmt.Errorf("stepping: %w", stepErrorOf(err)))
	}
	if !ok {
		return nil, ErrNotExtension
	}
	e.prog.Store(p)
	var out []Batch
	for _, v := range p.c.Circuit.Views {
		if d, ok := sc.Changes[v.Name]; ok {
			out = append(out, newBatch(sc.Step, v, d))
		}
	}
	return out, nil
}

// Program returns the program the engine runs.
func (e *Engine) Program() *Program { return e.prog.Load() }

// Insert adds rows to a table. Each row is a Row or []any (a value per
// column, in order), a map[string]any keyed by column name, or a struct
// (or pointer to one) whose fields name columns as ScanRow describes;
// columns a map or struct leaves out are NULL. Values are converted to
// their columns' types as FromGo describes. With a primary key, inserting
// a key the table holds fails the step.
func (e *Engine) Insert(ctx context.Context, table string, rows ...any) error {
	return e.change(ctx, runtime.Insert, table, rows)
}

// Delete removes rows from a table: for a table with a primary key, the
// row with each given row's key (only the key columns need values), and
// for one without, one copy of each given row. Absent rows are ignored.
func (e *Engine) Delete(ctx context.Context, table string, rows ...any) error {
	return e.change(ctx, runtime.Delete, table, rows)
}

// Update replaces the rows of a table that have the given rows' primary
// keys with the given rows; absent keys are ignored. The table must have
// a primary key.
func (e *Engine) Update(ctx context.Context, table string, rows ...any) error {
	return e.change(ctx, runtime.Update, table, rows)
}

func (e *Engine) change(ctx context.Context, op runtime.Op, table string, rows []any) error {
	in := e.input(table)
	if in == nil {
		return fmt.Errorf("stepping: %s: %w", op, &NotFoundError{Kind: "table", Name: table})
	}
	shape := e.prog.Load().inputShape(in, op)
	changes := make([]runtime.Change, 0, len(rows))
	for i, r := range rows {
		row, err := shape.row(r)
		if err != nil {
			return fmt.Errorf("stepping: %s into %s, row %d: %w", op, table, i+1, err)
		}
		changes = append(changes, runtime.Change{Op: op, Row: row})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if err := e.backend.Write(ctx, table, changes); err != nil {
		return classify(fmt.Errorf("stepping: %s into %s: %w", op, table, err))
	}
	return nil
}

// changeColumns are the columns a change's row is read as: a delete from
// a table with a primary key needs only the key, so its other columns
// may be left NULL.
func changeColumns(in *ir.Input, op runtime.Op) []Column {
	cols := columnsOf(in.Columns)
	if op != runtime.Delete || len(in.PrimaryKey) == 0 {
		return cols
	}
	key := map[int]bool{}
	for _, k := range in.PrimaryKey {
		key[k] = true
	}
	for i := range cols {
		if !key[i] {
			cols[i] = cols[i].orNull()
		}
	}
	return cols
}

func (e *Engine) input(name string) *ir.Input {
	for _, in := range e.prog.Load().c.Circuit.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// Step applies the changes given since the last step and returns each
// view's changes, in the program's view order. In memory it is one
// atomic step: if it fails (a duplicate primary key, a division by
// zero, ...) nothing is applied and the changes are dropped. On
// Postgres it applies every pending change of the log, in as many steps
// as the batch size needs, and returns the outputs' changes of each.
func (e *Engine) Step(ctx context.Context) ([]Batch, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	steps, err := e.backend.Step(ctx)
	err = stepErrorOf(err)
	n := 0
	for _, sc := range steps {
		n += len(sc.Changes)
	}
	var out []Batch
	if n > 0 {
		out = make([]Batch, 0, n)
	}
	for _, sc := range steps {
		for _, v := range e.prog.Load().c.Circuit.Views {
			if d, ok := sc.Changes[v.Name]; ok {
				out = append(out, newBatch(sc.Step, v, d))
			}
		}
	}
	return out, classify(err)
}

// Read returns a view's current contents. In memory every view (and
// table) can be read; on Postgres, the outputs, from their tables. In
// memory a view that is not an output is computed from the tables the
// first time it is read, and kept up to date from then on; a view that
// ends in a group by is read from the group state, again after each step
// that changed it.
func (e *Engine) Read(ctx context.Context, view string) (*Rows, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	cols, err := e.columns(view)
	if err != nil {
		return nil, err
	}
	z, err := e.backend.Read(ctx, view, nil)
	if err != nil {
		return nil, fmt.Errorf("stepping: %w", err)
	}
	return newRows(cols, z), nil
}

// columns returns the columns of a view or table of the program. The
// caller holds e.mu.
func (e *Engine) columns(name string) ([]Column, error) {
	if v := e.prog.Load().view(name); v != nil {
		return columnsOf(v.Columns), nil
	}
	if in := e.input(name); in != nil && e.backend.Readable(name) {
		return columnsOf(in.Columns), nil
	}
	return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "view", Name: name})
}

// Lookup returns the rows of a view whose columns equal the key's values
// (by SQL equality: 1.5 equals 1.50, and NULL equals NULL here), the key
// naming columns. In memory the engine indexes the view by those
// columns on first use and keeps the index up to date with every step;
// on Postgres it queries the output table, which the program's index
// clauses serve.
func (e *Engine) Lookup(ctx context.Context, view string, key map[string]any) (*Rows, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	cols, err := e.columns(view)
	if err != nil {
		return nil, err
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("stepping: lookup in %s: empty key", view)
	}
	where, err := whereOf(view, cols, key)
	if err != nil {
		return nil, err
	}
	z, err := e.backend.Read(ctx, view, where)
	if err != nil {
		return nil, fmt.Errorf("stepping: %w", err)
	}
	return newRows(cols, z), nil
}

// Subscribe returns a subscription to a view's changes: a Batch on its
// channel C for every later step that changes the view, in step order.
// It ends, closing C, when ctx ends, the engine is closed, or (on
// Postgres) watching fails, which Err then reports. In memory the
// batches of a step are queued when Step returns, however slowly the
// subscriber reads; on Postgres they come from the program's published
// history (the _changes table and a NOTIFY per step), so a subscriber
// sees the steps of any runtime running the program, such as stepq run
// --db, and only outputs can be subscribed to.
func (e *Engine) Subscribe(ctx context.Context, view string) (*Subscription, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	v := e.prog.Load().view(view)
	if v == nil {
		return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "view", Name: view})
	}
	if !e.backend.Readable(view) {
		return nil, fmt.Errorf("stepping: %s is not an output of the program: on Postgres only outputs are published", view)
	}
	if w, ok := e.backend.(wanter); ok {
		w.Want(view)
	}
	after, err := e.backend.Steps(ctx)
	if err != nil {
		return nil, fmt.Errorf("stepping: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w, err := e.backend.Watch(ctx, after)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("stepping: %w", err)
	}
	out := make(chan Batch)
	sub := &Subscription{C: out, cancel: cancel}
	e.subs[sub] = true
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(out)
		defer w.Close()
		defer func() {
			e.mu.Lock()
			delete(e.subs, sub)
			e.mu.Unlock()
		}()
		sub.setErr(deliver(ctx, w, v, out))
	}()
	return sub, nil
}

// wanter is a backend that computes a view's changes only once told
// they are wanted (MemoryOptions.OutputsOnly).
type wanter interface {
	Want(view string) bool
}

// keepsHistory reports whether the backend keeps a history of its steps
// (on Postgres, the program's).
func (e *Engine) keepsHistory() bool {
	_, ok := e.backend.(runtime.Historian)
	return ok
}

// deliver sends the view's changes of each step the watch sees on out,
// until ctx ends (nil) or watching fails (its error).
func deliver(ctx context.Context, w runtime.Watcher, v *ir.View, out chan<- Batch) error {
	for {
		sc, err := w.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		d, ok := sc.Changes[v.Name]
		if !ok {
			continue
		}
		select {
		case out <- newBatch(sc.Step, v, d):
		case <-ctx.Done():
			return nil
		}
	}
}

// Subscription is a stream of a view's changes (see Engine.Subscribe).
type Subscription struct {
	// C receives the view's changes, a Batch per step that changed it,
	// and is closed when the subscription ends.
	C <-chan Batch

	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
}

// Close ends the subscription; C is closed soon after.
func (s *Subscription) Close() { s.cancel() }

// Err reports why the subscription ended, once C is closed: nil when its
// context ended or the engine or subscription was closed.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Subscription) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Close ends every subscription and, on Postgres, releases the program's
// lock. The pool stays open: it is the caller's.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	for sub := range e.subs {
		sub.cancel()
	}
	e.mu.Unlock()
	e.wg.Wait()
	return e.backend.Close()
}
