package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stepping-io/stepping/runtime"
)

// The runner never wedges silently. A step that fails for a reason
// retrying cannot cure (a division by zero in the data, a constraint, a
// source table altered under the program) stops the runner with a
// Failure naming the program, the view, the source table and the change
// that caused it, recorded where Status shows it. The failed step is
// rolled back whole, so nothing is lost: once the cause is fixed (the
// data corrected, or the program changed and rebuilt) the next run
// resumes from the same change. Transient errors (lost connections, a
// restarted server, serialization failures) are retried, as before.

// Failure is a step that failed for a reason that retrying cannot cure.
type Failure struct {
	Program string // the program's schema
	View    string // the view whose computation failed; empty when unknown
	Source  string // the source table of the change that caused it; empty when unknown
	LogID   int64  // the change's position in the change log; 0 when unknown or read by the backfill
	Change  string // the change: its weight and row as captured
	Err     error
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "program %s stopped", f.Program)
	if f.View != "" {
		fmt.Fprintf(&b, " in view %s", f.View)
	}
	switch {
	case f.LogID != 0:
		fmt.Fprintf(&b, " at change %d of source table %s (%s)", f.LogID, f.Source, f.Change)
	case f.Change != "":
		fmt.Fprintf(&b, " at a row of source table %s read by the backfill (%s)", f.Source, f.Change)
	}
	fmt.Fprintf(&b, ": %v; the step holding this change was rolled back, so nothing in it or after it is applied, and a run resumes from it once the cause is fixed (the data corrected, or the program changed and run with --rebuild)", f.Err)
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// DriftError is a change of a source table that does not fit the
// program: the table was altered (a column renamed, dropped or retyped)
// since the program was installed.
type DriftError struct {
	Table, Column string
	LogID         int64
	Err           error // the decoding error, nil for a missing column
}

func (e *DriftError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("source table %s has no column %s any more (renamed or dropped?), so its changes can't be read: change the program to match the table (stepq check --db says what), or restore the column, and run with --rebuild to replay from the sources", e.Table, e.Column)
	}
	return fmt.Sprintf("column %s of source table %s holds a value the program's type does not read (retyped?): %v; change the program to match the table (stepq check --db says what) and run it with --rebuild", e.Column, e.Table, e.Err)
}

func (e *DriftError) Unwrap() error { return e.Err }

// permanent reports whether applying the same changes again would fail
// the same way. A Postgres error tells by its class wherever it is in the
// chain, and a lost connection is never permanent: an operator whose
// lookup lost its connection fails as a StepError, and trying again cures
// it. Otherwise a step that failed on its data, a drifted source, a
// recorded failure or a version mismatch is permanent, and anything else
// (timeouts, cancellations) is not.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"40", // serialization failure, deadlock
			"53", // insufficient resources
			"55", // lock not available, object in use
			"57", // shutdown, cancellation
			"58", // system error
			"XX": // internal error
			return false
		}
		return true
	}
	if lostConnection(err) {
		return false
	}
	var step *runtime.StepError
	var drift *DriftError
	var failure *Failure
	return errors.As(err, &step) || errors.As(err, &drift) || errors.As(err, &failure) || errors.Is(err, ErrVersion) || errors.Is(err, ErrLockWait)
}

// lostConnection reports whether err is the loss of a connection to the
// server, a timeout or a cancellation, rather than anything about the
// changes applied.
func lostConnection(err error) bool {
	var netErr net.Error
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// diagnoseLimit bounds the trial steps that look for the change that
// made a batch fail.
const diagnoseLimit = 24

// errRollback ends a trial step's transaction.
var errRollback = errors.New("rollback")

// failure turns a step's permanent error into a Failure: it finds the
// change that made it fail by applying ever shorter prefixes of the chunk
// it failed in, in transactions that are rolled back, and records the
// failure in _meta for Status.
func (p *Runner) failure(ctx context.Context, batch []logRow, cause error) error {
	f := &Failure{Program: p.Schema, Err: cause}
	if errors.As(cause, &f) {
		return f
	}
	if isUndefinedTable(cause) {
		f.Err = fmt.Errorf("its state is gone (was it dropped with stepq drop while running?): %w", cause)
		return f
	}
	var step *runtime.StepError
	if errors.As(cause, &step) {
		f.View = step.View
	}
	if i := p.culprit(ctx, batch); i >= 0 {
		l := batch[i]
		f.LogID, f.Source = l.id, l.source
		if in := p.input(l.source); in != nil && in.Postgres != nil {
			f.Source = p.sourceName(in)
		}
		verb := "insert"
		if l.weight < 0 {
			verb = "delete"
		}
		row := string(l.row)
		if len(row) > 300 {
			row = row[:300] + "..."
		}
		f.Change = verb + " " + row
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = p.setMeta(rctx, p.Pool, "failure", f.Error())
	return f
}

// culprit returns the index in batch of the first change after which a
// prefix of the batch fails for good, or -1 if it cannot tell.
func (p *Runner) culprit(ctx context.Context, batch []logRow) int {
	// The trials are the step that failed: after the steps committed, so
	// that a program's constants, which enter at the first, do not enter
	// again and fail a trial on their own.
	steps, err := p.Steps(ctx)
	if err != nil {
		return -1
	}
	fails := func(k int) bool {
		var stepErr error
		_ = pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
			var tail *pgx.Batch
			if _, tail, stepErr = p.stepChunk(ctx, tx, batch[:k], steps, time.Now(), false, &stepMarks{}); stepErr == nil {
				stepErr = tx.SendBatch(ctx, tail).Close()
			}
			return errRollback
		})
		return stepErr != nil && permanent(stepErr)
	}
	lo, hi := 1, len(batch)
	if hi == 0 {
		return -1
	}
	for tries := 0; lo < hi && tries < diagnoseLimit; tries++ {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo != hi || !fails(hi) {
		return -1
	}
	return hi - 1
}

// checkDrift checks that the source tables still have every column the
// program reads, and still the program's capture triggers (checkCapture).
// (A retyped column shows when a value of it no longer decodes: see
// DriftError.)
func (p *Runner) checkDrift(ctx context.Context) error {
	var errs []error
	for _, in := range p.Circuit.Inputs {
		if in.Postgres == nil {
			continue
		}
		name := p.sourceName(in)
		rows, err := p.Pool.Query(ctx, `SELECT a.attname FROM pg_attribute a
  WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, name)
		if err != nil {
			return err
		}
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			errs = append(errs, fmt.Errorf("source table %s no longer exists (renamed or dropped?): restore it, or change the program and run it with --rebuild", name))
			continue
		}
		for _, c := range in.Columns {
			if !slices.Contains(cols, c.Name) {
				errs = append(errs, &DriftError{Table: name, Column: c.Name})
			}
		}
	}
	if len(errs) == 0 {
		return p.checkCapture(ctx) // the tables are there: and their triggers?
	}
	return fmt.Errorf("program %s: its sources changed since it was installed: %w", p.Schema, errors.Join(errs...))
}
