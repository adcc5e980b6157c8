package stepping

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// What a server over an engine needs beside Read, Lookup and Subscribe
// (package serve is one): rows together with the step they show, the
// step count, the history of a view's changes, a table's own rows, and
// the backlog. Each is consistent with the engine's steps: in memory the
// engine applies its steps under the lock these methods take; on
// Postgres a step commits its outputs and its number together, and the
// engine holds the program's lock, so no other runtime steps it.

// The values of a column in the API's text and JSON forms, which a
// server over the engine (package serve) reads and writes. JSON is as
// package types documents under "Values in JSON" (numeric as a string
// keeping its scale, timestamps in RFC 3339, records as objects); text
// is Postgres's text form, as in CSV.

// AppendJSON appends v, a value of the column, as JSON.
func (c Column) AppendJSON(b []byte, v any) []byte { return types.AppendJSON(b, v, c.typ) }

// DecodeJSON converts a value decoded by encoding/json (with UseNumber)
// to a value of the column, strictly: the JSON kind the column's type
// takes, or a number's text form as a string; null only for a nullable
// column. Its error names the place within the value and the type
// wanted (a *JSONValueError of package types).
func (c Column) DecodeJSON(v any) (any, error) { return types.DecodeJSONStrict(v, c.typ) }

// FormatText renders v, a value of the column, in Postgres's text form;
// NULL is the empty string.
func (c Column) FormatText(v any) string { return types.Format(v, c.typ) }

// ParseText reads a value of the column from its text form (a text
// column's value is the text itself).
func (c Column) ParseText(s string) (any, error) {
	if c.typ.Kind == types.Text {
		return s, nil
	}
	return types.Parse(s, c.typ)
}

// ErrNotKept is History's error for steps whose changes the engine no
// longer keeps (in memory, none before the current step; on Postgres,
// outside the program's history): read the view anew.
var ErrNotKept = errors.New("stepping: the changes of those steps are no longer kept")

// Snapshot returns a view's rows, those whose columns equal the key's
// values when key is not empty (as Lookup), and the number of the step
// whose state they show, taken together: no step comes between the read
// and the number. A subscriber that starts after that step misses no
// change and sees none twice.
func (e *Engine) Snapshot(ctx context.Context, view string, key map[string]any) (*Rows, int64, error) {
	e.mu.Lock()
	locked := true
	defer func() {
		if locked {
			e.mu.Unlock()
		}
	}()
	if e.closed {
		return nil, 0, ErrClosed
	}
	cols, err := e.columns(view)
	if err != nil {
		return nil, 0, err
	}
	where, err := whereOf(view, cols, key)
	if err != nil {
		return nil, 0, err
	}
	if b, ok := e.backend.(runtime.SnapshotReader); ok {
		// One snapshot of the database holds a step's rows and its
		// number together: no need to hold the steps off, and
		// concurrent reads do not wait for each other.
		e.mu.Unlock()
		locked = false
		z, step, err := b.ReadAt(ctx, view, where)
		if err != nil {
			return nil, 0, fmt.Errorf("stepping: %w", err)
		}
		return newRows(cols, z), step, nil
	}
	z, err := e.backend.Read(ctx, view, where)
	if err != nil {
		return nil, 0, fmt.Errorf("stepping: %w", err)
	}
	step, err := e.backend.Steps(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("stepping: %w", err)
	}
	return newRows(cols, z), step, nil
}

// whereOf converts a lookup's key to the backends' column-indexed form.
func whereOf(view string, cols []Column, key map[string]any) (map[int]any, error) {
	where := map[int]any{}
	for name, v := range key {
		i := columnIndex(cols, name)
		if i < 0 {
			return nil, fmt.Errorf("stepping: lookup in %s: no column %s (columns: %s)", view, name, columnNames(cols))
		}
		x, err := FromGo(v, cols[i].orNull())
		if err != nil {
			return nil, fmt.Errorf("stepping: lookup in %s: column %s: %w", view, name, err)
		}
		where[i] = x
	}
	return where, nil
}

// Steps returns the number of steps the engine has applied (on
// Postgres, the program has, by this engine or before it).
func (e *Engine) Steps(ctx context.Context) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return 0, ErrClosed
	}
	n, err := e.backend.Steps(ctx)
	if err != nil {
		return 0, fmt.Errorf("stepping: %w", err)
	}
	return n, nil
}

// LookupTable returns the rows of a table whose columns equal the key's
// values (all of them for an empty key): in memory the engine's own
// rows, on Postgres the live table's, which other clients write too.
func (e *Engine) LookupTable(ctx context.Context, table string, key map[string]any) (*Rows, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	in := e.input(table)
	if in == nil {
		return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "table", Name: table})
	}
	cols := columnsOf(in.Columns)
	where, err := whereOf(table, cols, key)
	if err != nil {
		return nil, err
	}
	var z *zset.ZSet
	if src, ok := e.backend.(runtime.SourceReader); ok {
		z, err = src.ReadSource(ctx, table, where)
	} else {
		z, err = e.backend.Read(ctx, table, where)
	}
	if err != nil {
		return nil, fmt.Errorf("stepping: %w", err)
	}
	return newRows(cols, z), nil
}

// History returns a view's changes of the steps after step `after`, a
// Batch per step that changed it, and the last step they cover, read
// together from the program's history on Postgres. Steps are kept there
// while a watcher is registered (see KeepHistory) and within its bounds
// (the last thousand steps, a day); asking for others fails with an
// error for which errors.Is(err, ErrNotKept) holds. In memory there is
// no history: only the current step can be given, which returns no
// changes.
func (e *Engine) History(ctx context.Context, view string, after int64) ([]Batch, int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, 0, ErrClosed
	}
	v := e.prog.Load().view(view)
	if v == nil || !e.backend.Readable(view) {
		return nil, 0, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "output", Name: view})
	}
	b, ok := e.backend.(runtime.Historian)
	if !ok {
		now, err := e.backend.Steps(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("stepping: %w", err)
		}
		if after != now {
			return nil, 0, fmt.Errorf("stepping: the changes after step %d: %w (in memory only the current step, %d, can be given)", after, ErrNotKept, now)
		}
		return nil, now, nil
	}
	steps, upTo, err := b.History(ctx, after)
	if err != nil {
		return nil, 0, notKept(fmt.Errorf("stepping: %w", err))
	}
	var out []Batch
	for _, sc := range steps {
		if d, ok := sc.Changes[view]; ok {
			out = append(out, newBatch(sc.Step, v, d))
		}
	}
	return out, upTo, nil
}

// KeepHistory registers a watcher of the program on Postgres, so that
// every step publishes its changes to the program's history (which
// History reads) until release is called. In memory it does nothing.
func (e *Engine) KeepHistory(ctx context.Context) (release func(), err error) {
	b, ok := e.backend.(runtime.Historian)
	if !ok {
		return func() {}, nil
	}
	release, err = b.Register(ctx)
	if err != nil {
		return nil, fmt.Errorf("stepping: %w", err)
	}
	return release, nil
}

// Status is an engine's progress and backlog.
type Status struct {
	Steps int64 // steps applied
	// Pending is how many changes are accepted and not yet applied: in
	// memory those given since the last Step, on Postgres the change
	// log's rows.
	Pending int64
	// OldestPending is when the oldest pending change was captured, on
	// Postgres; zero when none waits (and always, in memory).
	OldestPending time.Time
	// HistoryFrom is the first step from which History holds every
	// step: in memory the next step, on Postgres the first step of
	// the program's history kept without a gap (past Steps when none is
	// kept).
	HistoryFrom int64
	// Watermarks are the watermarks of the tables that declare one, in
	// the program's order in memory and by name on Postgres.
	Watermarks []Watermark
}

// Watermark is a table's watermark: no change comes whose Column is
// before At (the latest Column seen less Lateness) but is dropped, and
// counted in Late. Set is false until a row has come.
type Watermark struct {
	Table, Column string
	At            time.Time
	Lateness      time.Duration
	Set           bool
	Late          int64
}

// Status reads the engine's progress and backlog.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Status{}, ErrClosed
	}
	if b, ok := e.backend.(runtime.BacklogReporter); ok {
		bl, err := b.Backlog(ctx)
		if err != nil {
			return Status{}, fmt.Errorf("stepping: %w", err)
		}
		st := Status{Steps: bl.Steps, Pending: bl.Pending, OldestPending: bl.OldestPending, HistoryFrom: bl.HistoryFrom}
		for _, w := range bl.Watermarks {
			st.Watermarks = append(st.Watermarks, Watermark{Table: w.Table, Column: w.Column, At: w.Watermark(), Lateness: w.Lateness, Set: w.Set, Late: w.Late})
		}
		return st, nil
	}
	n, err := e.backend.Steps(ctx)
	return Status{Steps: n, HistoryFrom: n + 1}, err
}

// notKept marks the runtime's "no longer kept" errors with ErrNotKept.
func notKept(err error) error {
	if err != nil && errors.Is(err, runtime.ErrNotKept) {
		return classified{err, ErrNotKept}
	}
	return err
}

// OnPostgres reports whether the engine runs its program on Postgres,
// where other clients write its tables too.
func (e *Engine) OnPostgres() bool {
	_, ok := e.backend.(runtime.CaptureNotifier)
	return ok
}

// Captured returns a channel that receives a value whenever changes
// that other clients wrote may wait to be applied: on Postgres on each
// notification of the program's capture triggers and every poll
// interval besides; in memory never, since only the engine's own writes
// change its tables. Step applies them. The channel is closed when ctx
// ends. A server that is its program's runner steps on each value.
func (e *Engine) Captured(ctx context.Context, poll time.Duration) <-chan struct{} {
	if b, ok := e.backend.(runtime.CaptureNotifier); ok {
		return b.Captured(ctx, poll)
	}
	out := make(chan struct{})
	go func() {
		<-ctx.Done()
		close(out)
	}()
	return out
}
