package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// Backend is a program running on Postgres; it implements
// runtime.Backend. Its tables are the database's live tables: Write
// changes them with SQL, their triggers log the changes, and Step applies
// what is pending. Only the outputs are published, read and watched.
type Backend struct {
	r       *Runner
	release func()
}

var _ runtime.Backend = (*Backend)(nil)

// Open sets the program up in the database (see Runner.Setup) and takes
// its lock, waiting while another runtime holds it, until Close.
func Open(ctx context.Context, r *Runner, rebuild bool) (*Backend, error) {
	if err := r.Setup(ctx, rebuild); err != nil {
		return nil, err
	}
	release, err := r.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return &Backend{r: r, release: release}, nil
}

// The optional interfaces of runtime.Backend that Postgres implements.
var (
	_ runtime.SnapshotReader  = (*Backend)(nil)
	_ runtime.SourceReader    = (*Backend)(nil)
	_ runtime.Historian       = (*Backend)(nil)
	_ runtime.CaptureNotifier = (*Backend)(nil)
	_ runtime.BacklogReporter = (*Backend)(nil)
)

// Write writes changes to a source table in one transaction.
func (b *Backend) Write(ctx context.Context, table string, changes []runtime.Change) error {
	return b.r.Write(ctx, map[string][]runtime.Change{table: changes})
}

// Step applies every pending change of the log, in as many steps as the
// batch size needs, and returns the outputs' changes of each.
func (b *Backend) Step(ctx context.Context) ([]runtime.StepChanges, error) {
	var out []runtime.StepChanges
	_, err := b.r.ApplyPending(ctx, func(st StepStats) {
		out = append(out, runtime.StepChanges{Step: st.Step, Changes: st.Changes})
	})
	return out, err
}

// Readable reports whether name is an output of the program.
func (b *Backend) Readable(name string) bool {
	for _, o := range b.r.Circuit.Outputs {
		if o.View.Name == name {
			return true
		}
	}
	return false
}

// Read reads an output's table.
func (b *Backend) Read(ctx context.Context, name string, where map[int]any) (*zset.ZSet, error) {
	return b.r.ReadOutput(ctx, name, where)
}

// ReadAt reads an output's table and the step its rows show, in one
// snapshot (see Runner.ReadOutputAt).
func (b *Backend) ReadAt(ctx context.Context, name string, where map[int]any) (*zset.ZSet, int64, error) {
	return b.r.ReadOutputAt(ctx, name, where)
}

// ReadSource reads the rows of a source table whose columns equal
// where's values (see Runner.ReadSourceWhere).
func (b *Backend) ReadSource(ctx context.Context, table string, where map[int]any) (*zset.ZSet, error) {
	return b.r.ReadSourceWhere(ctx, table, where)
}

// Status reads the program's progress and the change log's backlog
// (see Runner.Status), without recent steps.
func (b *Backend) Status(ctx context.Context) (*Status, error) { return b.r.Status(ctx, 0) }

// Backlog reports the steps applied, the change log's rows waiting and
// the first step the program's history holds (runtime.BacklogReporter).
func (b *Backend) Backlog(ctx context.Context) (runtime.Backlog, error) {
	st, err := b.r.Status(ctx, 0)
	if err != nil {
		return runtime.Backlog{}, err
	}
	return runtime.Backlog{Steps: st.Steps, Pending: st.Pending, OldestPending: st.OldestPending, HistoryFrom: st.ChangesFrom, Watermarks: st.Watermarks}, nil
}

// Steps returns the number of steps the program's state has applied.
func (b *Backend) Steps(ctx context.Context) (int64, error) { return b.r.Steps(ctx) }

// Watch follows the program's published history (see Watcher.Follow),
// so it sees the steps of any runtime running the program. It registers
// the watcher before it returns: every step after the position it then
// reads is published. The engine reads after and registers under its
// lock, which its steps take too, so no step comes between; a step of
// another runtime in between, if its changes are not kept, makes Next
// fail with ErrNotKept rather than skip it.
func (b *Backend) Watch(ctx context.Context, after int64) (runtime.Watcher, error) {
	reg, err := b.r.Register(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &watch{cancel: cancel, steps: make(chan runtime.StepChanges), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer reg.Close()
		err := reg.Follow(ctx, after, time.Second, func(sc runtime.StepChanges) error {
			select {
			case w.steps <- sc:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}()
	return w, nil
}

// History reads the published changes of the steps after `after`, and
// the steps committed, in one snapshot (see Follow).
func (b *Backend) History(ctx context.Context, after int64) ([]runtime.StepChanges, int64, error) {
	conn, err := b.r.Pool.Acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Release()
	return b.r.changesAfter(ctx, conn, after)
}

// Register registers a watcher, so that every later step publishes its
// changes, until release is called (see Runner.Register).
func (b *Backend) Register(ctx context.Context) (release func(), err error) {
	w, err := b.r.Register(ctx)
	if err != nil {
		return nil, err
	}
	return func() { _ = w.Close() }, nil
}

// Captured returns a channel that receives a value whenever a client
// may have written changes that wait to be applied: on each NOTIFY of
// the capture triggers, and every poll interval besides (a cluster that
// allows prepared transactions does not NOTIFY, and a lost connection is
// taken again). It is closed when ctx ends.
func (b *Backend) Captured(ctx context.Context, poll time.Duration) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			err := b.listen(ctx, poll, signal)
			if ctx.Err() != nil {
				return
			}
			b.r.logf("listening for captured changes: %v; again in %s", err, poll)
			signal()
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}()
	return out
}

// listen signals on every NOTIFY of the capture channel and poll tick
// until ctx ends or the connection fails.
func (b *Backend) listen(ctx context.Context, poll time.Duration, signal func()) error {
	conn, err := b.r.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+ident(b.r.channel())); err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, "UNLISTEN "+ident(b.r.channel()))
	}()
	for {
		wait, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.Conn().WaitForNotification(wait)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		signal()
	}
}

// Close releases the program's lock.
func (b *Backend) Close() error {
	b.release()
	return nil
}

// watch hands the steps Runner.Watch reads to Next.
type watch struct {
	cancel context.CancelFunc
	steps  chan runtime.StepChanges
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// Next returns the next step, or why watching ended.
func (w *watch) Next(ctx context.Context) (runtime.StepChanges, error) {
	select {
	case sc := <-w.steps:
		return sc, nil
	case <-w.done:
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.err == nil {
			return runtime.StepChanges{}, context.Canceled
		}
		return runtime.StepChanges{}, w.err
	case <-ctx.Done():
		return runtime.StepChanges{}, ctx.Err()
	}
}

// Close ends the watch.
func (w *watch) Close() { w.cancel() }
