package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/stepping-io/stepping/zset"
)

// Backend is where a program runs, as database/sql/driver is what
// database/sql drives: the embedding API (package stepping) holds one and
// knows nothing else of it. Package runtime/memory runs a program in the
// process; package runtime/postgres runs it in a database, where its
// tables are live tables.
//
// A Backend is used by one goroutine at a time; its watchers are read
// beside it.
type Backend interface {
	// Write gives changes to a table of the program. In memory they wait
	// for the next Step; on Postgres they are written to the source table
	// with SQL, and captured for a later Step like any client's.
	Write(ctx context.Context, table string, changes []Change) error
	// Step applies the changes pending and returns, for each step it
	// took, the changes to the relations it publishes (see Readable).
	Step(ctx context.Context) ([]StepChanges, error)
	// Readable reports whether Read and Watch serve relation name: in
	// memory every view and table, on Postgres the outputs.
	Readable(name string) bool
	// Read returns a relation's rows whose columns, by index, equal the
	// values in where (by SQL equality); all of them for an empty where.
	Read(ctx context.Context, name string, where map[int]any) (*zset.ZSet, error)
	// Steps returns the number of steps applied so far.
	Steps(ctx context.Context) (int64, error)
	// Watch starts a watch of the published changes of every step after
	// step after, which it returns once it is sure to see them all; it
	// ends when ctx ends or its Close is called. A slow reader never
	// holds up Step.
	Watch(ctx context.Context, after int64) (Watcher, error)
	// Close releases what the backend holds (on Postgres, the program's
	// lock). Watches end with their contexts.
	Close() error
}

// A Backend may do more than Backend asks, as a database/sql driver may:
// the interfaces below are what the root package looks for by type
// assertion, so that it never asks which backend it runs on.

// SnapshotReader reads a relation's rows and the step they show from one
// snapshot, without holding steps off (Postgres).
type SnapshotReader interface {
	ReadAt(ctx context.Context, name string, where map[int]any) (*zset.ZSet, int64, error)
}

// SourceReader reads a table's rows as its source holds them, written by
// other clients too (Postgres).
type SourceReader interface {
	ReadSource(ctx context.Context, table string, where map[int]any) (*zset.ZSet, error)
}

// Historian keeps the changes of past steps: History returns those of
// the steps after step after (failing with ErrNotKept for steps no
// longer kept) and the last step they cover; Register keeps them
// published until release is called (Postgres).
type Historian interface {
	History(ctx context.Context, after int64) ([]StepChanges, int64, error)
	Register(ctx context.Context) (release func(), err error)
}

// CaptureNotifier is a backend whose tables other clients write: Captured
// receives a value whenever their changes may wait for a Step, and every
// poll besides; it is closed when ctx ends (Postgres).
type CaptureNotifier interface {
	Captured(ctx context.Context, poll time.Duration) <-chan struct{}
}

// Backlog is a backend's progress and what waits.
type Backlog struct {
	Steps         int64     // steps applied
	Pending       int64     // changes accepted and not yet applied
	OldestPending time.Time // when the oldest pending change was captured; zero when unknown or none
	// HistoryFrom is the first step from which a Historian holds every
	// step; the next step for a backend without history.
	HistoryFrom int64
	// Watermarks are the watermarks of the tables that declare one.
	Watermarks []WatermarkStatus
}

// BacklogReporter reports a backend's Backlog.
type BacklogReporter interface {
	Backlog(ctx context.Context) (Backlog, error)
}

// ErrNotKept is a Historian's or Watch's answer for steps no longer kept.
var ErrNotKept = errors.New("no longer kept")

// StepChanges is one step's changes to the relations it changed.
type StepChanges struct {
	Step    int64
	Changes map[string]*zset.ZSet
}

// Watcher is a watch of a backend's steps (see Backend.Watch).
type Watcher interface {
	// Next waits for the next step's changes, in step order. It fails
	// when ctx or the watch ends, or watching fails.
	Next(ctx context.Context) (StepChanges, error)
	// Close ends the watch.
	Close()
}
