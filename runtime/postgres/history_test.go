package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// historyProgram is a program whose every step with an insert into t
// changes its output.
const historyProgram = "source t = table t\nview v = t | select { id, x }\noutput v to table out_v primary key (id)\n"

// openHistory installs historyProgram and takes its first step.
func openHistory(t *testing.T, keep postgres.Retention) (*pgxpool.Pool, *postgres.Runner, *postgres.Backend) {
	t.Helper()
	pool, schema := pgtest.Schema(t)
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL)")
	pg := newPG(t, pool, schema, historyProgram)
	pg.Retention = keep
	b, err := postgres.Open(context.Background(), pg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return pool, pg, b
}

// step inserts n rows into t and applies them as one step.
func step(t *testing.T, pool *pgxpool.Pool, b *postgres.Backend, n int) runtime.StepChanges {
	t.Helper()
	mustExec(t, pool, fmt.Sprintf("INSERT INTO t SELECT coalesce((SELECT max(id) FROM t), 0) + i, 1 FROM generate_series(1, %d) i", n))
	steps, err := b.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1", len(steps))
	}
	return steps[0]
}

// queryInt returns a query's one integer.
func queryInt(t *testing.T, pool *pgxpool.Pool, sql string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// keptSteps returns the steps _changes holds and changes_from.
func keptSteps(t *testing.T, pool *pgxpool.Pool, pg *postgres.Runner) ([]int64, int64) {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT DISTINCT step FROM "+pgx.Identifier{pg.Schema, "_changes"}.Sanitize()+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return steps, queryInt(t, pool, "SELECT value::int8 FROM "+pgx.Identifier{pg.Schema, "_meta"}.Sanitize()+" WHERE key = 'changes_from'")
}

// follow reads the steps after `after` up to and including last.
func follow(ctx context.Context, w *postgres.Watcher, after, last int64) ([]runtime.StepChanges, error) {
	if after >= last {
		return nil, nil
	}
	var got []runtime.StepChanges
	done := errors.New("done")
	err := w.Follow(ctx, after, time.Second, func(sc runtime.StepChanges) error {
		got = append(got, sc)
		if sc.Step >= last {
			return done
		}
		return nil
	})
	if errors.Is(err, done) {
		err = nil
	}
	return got, err
}

// waitFor waits until the query returns true: a lock waited for, seen
// in pg_locks. It asks on q, a connection of its own: the pool's may all
// be waiting.
func waitFor(t *testing.T, q pgx.Tx, what, sql string, args ...any) {
	t.Helper()
	expired := testwait.Expired(t)
	for {
		var ok bool
		if err := q.QueryRow(context.Background(), sql, args...).Scan(&ok); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if ok {
			return
		}
		select {
		case <-expired:
			t.Fatalf("waited in vain for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Without a watcher no step publishes its changes, yet its statistics
// are recorded, and the outputs are right.
func TestPostgresNoWatcherNoHistory(t *testing.T) {
	pool, pg, b := openHistory(t, postgres.Retention{})
	var last int64
	for range 4 {
		last = step(t, pool, b, 3).Step
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
	if kept, from := keptSteps(t, pool, pg); len(kept) != 0 || from != last+1 {
		t.Errorf("_changes holds steps %v, kept from %d; want none, from %d", kept, from, last+1)
	}
	if n := queryInt(t, pool, "SELECT changes FROM "+pgx.Identifier{pg.Schema, "_steps"}.Sanitize()+fmt.Sprintf(" WHERE step = %d", last)); n != 3 {
		t.Errorf("_steps records %d changes for step %d, want 3", n, last)
	}
}

// A watcher registering while a step's transaction is open waits for it
// to commit: its position counts that step, which did not publish, and
// every later step publishes.
func TestPostgresRegisterDuringStep(t *testing.T) {
	pool, pg, b := openHistory(t, postgres.Retention{})
	ctx := context.Background()
	first := step(t, pool, b, 1).Step

	// Hold the step at its first write to the output, after it took
	// _watchers and found no watcher.
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	if _, err := blocker.Exec(ctx, "LOCK TABLE out_v IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "INSERT INTO t VALUES (100, 1)")
	stepped := make(chan error, 1)
	go func() {
		_, err := b.Step(ctx)
		stepped <- err
	}()
	waitFor(t, blocker, "the step to wait for out_v", "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'out_v'::regclass)")

	registered := make(chan *postgres.Watcher, 1)
	go func() {
		w, err := pg.Register(ctx)
		if err != nil {
			t.Error(err)
		}
		registered <- w
	}()
	watchers := pgx.Identifier{pg.Schema, "_watchers"}.Sanitize()
	waitFor(t, blocker, "the registration to wait for the step", "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND relation = to_regclass($1))", watchers)
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-stepped; err != nil {
		t.Fatal(err)
	}
	w := <-registered
	if w == nil {
		t.FailNow()
	}
	defer w.Close()
	if w.Since != first+1 {
		t.Fatalf("registered at step %d, want %d (the step it waited for)", w.Since, first+1)
	}
	if kept, _ := keptSteps(t, pool, pg); len(kept) != 0 {
		t.Fatalf("the step begun before the registration published: %v", kept)
	}
	want := step(t, pool, b, 2)
	got, err := follow(ctx, w, w.Since, want.Step)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Step != want.Step || !got[0].Changes["v"].Equal(want.Changes["v"]) {
		t.Errorf("watcher read %+v, want %+v", got, want)
	}
}

// Watchers registering while steps are applied get every step after
// their position, once, with the changes the steps made.
func TestPostgresWatchersNeverMissAStep(t *testing.T) {
	pool, pg, b := openHistory(t, postgres.Retention{})
	ctx := context.Background()
	start := step(t, pool, b, 1).Step
	const steps, watchers = 30, 6
	last := start + steps
	// The watchers' runner is a copy of the stepping one with a pool of
	// its own, made before the steps start: the copy reads fields a
	// step writes. Each watcher holds a connection while it follows, so
	// their pool is larger than the test's.
	dsn := pgtest.DSNWithSchema("public")
	big, err := pgxpool.New(ctx, dsn+"&pool_max_conns="+fmt.Sprint(2*watchers))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	watching := *pg
	watching.Pool = big
	want := map[int64]runtime.StepChanges{}
	stepped := make(chan error, 1)
	go func() {
		for range steps {
			if _, err := pool.Exec(ctx, "INSERT INTO t SELECT max(id) + 1, 1 FROM t"); err != nil {
				stepped <- err
				return
			}
			got, err := b.Step(ctx)
			if err != nil {
				stepped <- err
				return
			}
			for _, sc := range got {
				want[sc.Step] = sc
			}
		}
		stepped <- nil
	}()
	type result struct {
		since int64
		got   []runtime.StepChanges
		err   error
	}
	results := make(chan result, watchers)
	for range watchers {
		w, err := watching.Register(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			got, err := follow(ctx, w, w.Since, last)
			if errClose := w.Close(); err == nil {
				err = errClose
			}
			results <- result{w.Since, got, err}
		}()
	}
	if err := <-stepped; err != nil {
		t.Fatal(err)
	}
	for range watchers {
		r := <-results
		t.Logf("a watcher registered after step %d read %d steps", r.since, len(r.got))
		if r.err != nil {
			t.Fatalf("watcher since %d: %v", r.since, r.err)
		}
		var steps []int64
		for _, sc := range r.got {
			steps = append(steps, sc.Step)
			if !sc.Changes["v"].Equal(want[sc.Step].Changes["v"]) {
				t.Errorf("watcher since %d: step %d: %v, want %v", r.since, sc.Step, sc.Changes["v"], want[sc.Step].Changes["v"])
			}
		}
		var wantSteps []int64
		for s := r.since + 1; s <= last; s++ {
			wantSteps = append(wantSteps, s)
		}
		if !slices.Equal(steps, wantSteps) {
			t.Errorf("watcher since %d read steps %v, want %v", r.since, steps, wantSteps)
		}
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM "+pgx.Identifier{pg.Schema, "_watchers"}.Sanitize()); n != 0 {
		t.Errorf("%d watchers left registered after Close", n)
	}
}

// A step publishes only for a watcher whose lease is live, and removes
// the rows of watchers whose lease expired (a process gone without
// deleting its row).
func TestPostgresWatcherLease(t *testing.T) {
	for _, c := range []struct {
		name    string
		seen    string
		publish bool
	}{
		{"live", "now()", true},
		{"renewed a while ago", "now() - interval '30 seconds'", true},
		{"expired", "now() - interval '2 minutes'", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, pg, b := openHistory(t, postgres.Retention{})
			watchers := pgx.Identifier{pg.Schema, "_watchers"}.Sanitize()
			mustExec(t, pool, "INSERT INTO "+watchers+" (since, seen) VALUES (0, "+c.seen+")")
			s := step(t, pool, b, 2).Step
			kept, from := keptSteps(t, pool, pg)
			if published := slices.Contains(kept, s); published != c.publish {
				t.Errorf("step %d published: %v, want %v (kept from %d)", s, published, c.publish, from)
			}
			if left := queryInt(t, pool, "SELECT count(*) FROM "+watchers); (left == 1) != c.publish {
				t.Errorf("%d watchers left", left)
			}
		})
	}
}

// A watcher asking for steps no one published, or that pruning removed,
// fails saying so instead of skipping them.
func TestPostgresNotKept(t *testing.T) {
	pool, pg, b := openHistory(t, postgres.Retention{})
	ctx := context.Background()
	first := step(t, pool, b, 1).Step
	w, err := pg.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	published := step(t, pool, b, 1).Step
	// Gone, the watcher no longer makes steps publish.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	unpublished := step(t, pool, b, 1).Step
	for _, after := range []int64{0, first, published} {
		reg, err := pg.Register(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = follow(ctx, reg, after, unpublished)
		reg.Close()
		want := fmt.Sprintf("the changes after step %d are no longer kept (kept from step %d)", after, unpublished+1)
		if !errors.Is(err, postgres.ErrNotKept) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("after step %d: %v, want %q", after, err, want)
		}
	}
	// From the last step on, every step is there.
	reg, err := pg.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	st, err := pg.Status(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Watchers != 1 || st.ChangesFrom != unpublished+1 {
		t.Errorf("status: %d watchers, changes kept from %d, want 1 and %d", st.Watchers, st.ChangesFrom, unpublished+1)
	}
	next := step(t, pool, b, 1).Step
	if got, err := follow(ctx, reg, unpublished, next); err != nil || len(got) != 1 {
		t.Errorf("after step %d: %v, %v", unpublished, got, err)
	}
}

// _changes keeps whole steps, the newest, within the bounds of steps,
// rows and age; the step just taken always stays; changes_from follows.
func TestPostgresHistoryBounds(t *testing.T) {
	for _, c := range []struct {
		name  string
		keep  postgres.Retention
		sizes []int // rows per step
		age   int   // steps made two days old before the last step
		want  int   // steps kept, the newest
	}{
		{"steps", postgres.Retention{Steps: 3}, []int{1, 2, 1, 2, 1, 2}, 0, 3},
		{"rows", postgres.Retention{Rows: 7}, []int{3, 3, 3, 3, 3}, 0, 2},
		{"a step over the rows stays", postgres.Retention{Rows: 2}, []int{1, 1, 5}, 0, 1},
		{"age", postgres.Retention{Age: time.Hour}, []int{1, 1, 1, 1, 1}, 3, 2},
		{"defaults", postgres.Retention{}, []int{1, 2, 3}, 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, pg, b := openHistory(t, c.keep)
			w, err := pg.Register(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			var taken []int64
			for i, n := range c.sizes {
				if c.age > 0 && i == len(c.sizes)-1 {
					mustExec(t, pool, fmt.Sprintf("UPDATE %s SET at = at - interval '2 days' WHERE step <= %d",
						pgx.Identifier{pg.Schema, "_steps"}.Sanitize(), taken[c.age-1]))
				}
				taken = append(taken, step(t, pool, b, n).Step)
			}
			kept, from := keptSteps(t, pool, pg)
			want := taken[len(taken)-c.want:]
			if !slices.Equal(kept, want) || from != want[0] {
				t.Errorf("kept steps %v from %d, want %v from %d", kept, from, want, want[0])
			}
			// The kept steps can be read, the one before them not.
			got, err := follow(context.Background(), w, from-1, taken[len(taken)-1])
			if err != nil || len(got) != c.want {
				t.Errorf("reading from step %d: %d steps, %v", from, len(got), err)
			}
			if _, err := follow(context.Background(), w, from-2, taken[len(taken)-1]); !errors.Is(err, postgres.ErrNotKept) {
				t.Errorf("reading from step %d: %v, want ErrNotKept", from-1, err)
			}
		})
	}
}
