package runtime

import (
	"context"

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
