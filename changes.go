package stepping

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/stepping-io/stepping/runtime"
)

// ChangeStep is one step of a directory of change files (see
// ReadChangeDir): the changes to the tables that the files' rows of one
// _step number make, each table's in file order. Engine.Apply applies it.
type ChangeStep struct {
	// Number is the step's _step number in the files.
	Number int64

	changes map[string][]runtime.Change
}

// Tables returns the names of the tables the step changes, sorted.
func (s ChangeStep) Tables() []string {
	out := make([]string, 0, len(s.changes))
	for t := range s.changes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ReadChangeDir reads a directory of change files for the program, in
// the format stepq run reads: TABLE.csv or TABLE.jsonl for each table
// that changes, whose rows may carry the meta columns _step (default 1)
// and _op (insert, delete or update; default insert). It returns the
// steps in increasing order of _step. A file that names no table of the
// program is an error, and so is a missing directory (errors.Is(err,
// fs.ErrNotExist) holds), which a caller may take to mean no changes. A
// _clock file is read and checked but its times are not applied: the
// steps of an engine see the wall clock.
func (p *Program) ReadChangeDir(dir string) ([]ChangeStep, error) {
	b, err := runtime.LoadChangeDir(dir, true, p.c.Circuit.Inputs)
	if err != nil {
		return nil, fmt.Errorf("stepping: %w", err)
	}
	out := make([]ChangeStep, 0, len(b.Steps))
	for _, n := range b.Steps {
		out = append(out, ChangeStep{Number: n, changes: b.Changes[n]})
	}
	return out, nil
}

// Apply gives the engine the changes of one step of change files and
// applies them, with any changes given before, by Step, whose result it
// returns. A table the engine's program does not declare is an error,
// and nothing is given.
func (e *Engine) Apply(ctx context.Context, s ChangeStep) ([]Batch, error) {
	tables := s.Tables()
	for _, t := range tables {
		if e.input(t) == nil {
			return nil, fmt.Errorf("stepping: apply: %w", &NotFoundError{Kind: "table", Name: t})
		}
	}
	if err := e.write(ctx, tables, s.ownChanges()); err != nil {
		return nil, err
	}
	return e.Step(ctx)
}

// ownChanges returns the step's changes with rows of their own: an
// engine keeps the rows it is given (memory.Options.OwnsRows), and a step
// may be applied to more than one.
func (s ChangeStep) ownChanges() map[string][]runtime.Change {
	out := make(map[string][]runtime.Change, len(s.changes))
	for t, cs := range s.changes {
		own := make([]runtime.Change, len(cs))
		for i, c := range cs {
			c.Row = slices.Clone(c.Row)
			own[i] = c
		}
		out[t] = own
	}
	return out
}

// write gives the backend changes to tables, in the order given.
func (e *Engine) write(ctx context.Context, tables []string, changes map[string][]runtime.Change) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	for _, t := range tables {
		if err := e.backend.Write(ctx, t, changes[t]); err != nil {
			return classify(fmt.Errorf("stepping: apply to %s: %w", t, err))
		}
	}
	return nil
}
