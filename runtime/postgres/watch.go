package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// What a program publishes about its steps, in its own schema:
//
//	_changes   committed steps' changes to the outputs (step, view,
//	           weight, row as a JSON object keyed by column name), written
//	           only while a watcher listens (see _watchers), and kept for
//	           the last KeepChanges steps, at most about KeepChangeRows
//	           rows (whole steps, oldest first) and for KeepChangesFor.
//	_watchers  the watchers listening (Runner.Register): each renews its
//	           lease (seen) while it runs and deletes its row when it
//	           stops; a step publishes its changes only when a watcher's
//	           lease is live, and removes the rows of expired ones.
//	_meta      changes_from: the first step from which _changes holds
//	           every step continuously, up to the last committed. A step
//	           that does not publish sets it past itself; pruning raises
//	           it. A watcher asking for older steps gets ErrNotKept.
//	_steps     when each of the last KeepSteps steps committed (and every
//	           step whose changes are still kept), how long it took, how
//	           many log rows it applied and how many output changes it
//	           made: written by every step, watched or not.
//	_log.at    when each pending change was captured, for the lag.
//
// Every step NOTIFYs StepChannel with its number, watched or not, so
// watchers LISTEN instead of polling.
//
// Why a watcher misses no step: registering takes _watchers in EXCLUSIVE
// mode, and every step takes it in ROW SHARE mode before it reads
// whether a watcher listens (and the step's number). The two conflict,
// while steps do not conflict with each other nor with a watcher renewing
// or deleting its row (ROW EXCLUSIVE). So a registration either commits
// before a step takes its lock, and the step, whose check is a statement
// after the lock and so sees every commit before it (READ COMMITTED),
// publishes; or it waits for the step to commit, and then reads the
// position (the steps committed) under its own lock, which counts that
// step. Every step after the position a registration returns therefore
// publishes, for as long as the lease is renewed. When a lease lapses
// anyway (a process stopped for over WatchLease), the steps taken
// meanwhile without publishing move changes_from past the watcher's
// place, and its next read fails with ErrNotKept instead of skipping
// them: a watcher never loses a step silently.
const (
	// KeepChanges is how many steps' output changes _changes keeps.
	KeepChanges = 1000
	// KeepChangeRows is about how many rows _changes keeps: beyond it the
	// oldest steps are removed whole (the last step always stays).
	KeepChangeRows = 1_000_000
	// KeepChangesFor is how long _changes keeps a step's changes.
	KeepChangesFor = 24 * time.Hour
	// KeepSteps is how many steps' statistics _steps keeps, at least.
	KeepSteps = 100
	// WatchLease is how long a watcher's registration lasts without being
	// renewed; a watcher renews it every WatchLease/4.
	WatchLease = time.Minute
)

// ErrNotKept reports that a watcher asked for steps whose changes are no
// longer kept in _changes (or were never published: no one listened).
var ErrNotKept = runtime.ErrNotKept

// Retention bounds the history _changes keeps; a zero field means its
// default.
type Retention struct {
	Steps int           // steps kept; default KeepChanges
	Rows  int64         // rows kept, about; default KeepChangeRows
	Age   time.Duration // how long a step is kept; default KeepChangesFor
}

func (r Retention) steps() int64 {
	if r.Steps > 0 {
		return int64(r.Steps)
	}
	return KeepChanges
}

func (r Retention) rows() int64 {
	if r.Rows > 0 {
		return r.Rows
	}
	return KeepChangeRows
}

func (r Retention) age() time.Duration {
	if r.Age > 0 {
		return r.Age
	}
	return KeepChangesFor
}

// logAtColumn is the capture time of a change-log row: the time of the
// transaction that made the change.
const logAtColumn = "at timestamptz NOT NULL DEFAULT now()"

// logXactColumn is the transaction that made a change-log row: a batch
// takes its transactions whole.
const logXactColumn = "xact xid8 NOT NULL DEFAULT pg_current_xact_id()"

// ensureHistory creates the tables of published steps and of watchers,
// and the record of what _changes holds. A program installed before
// watchers registered published every step, so its history holds the
// last KeepChanges steps.
func (p *Runner) ensureHistory(ctx context.Context) error {
	for _, s := range []string{
		"CREATE TABLE IF NOT EXISTS " + p.t("_changes") + " (id bigserial PRIMARY KEY, step bigint NOT NULL, view text NOT NULL, weight bigint NOT NULL, row jsonb NOT NULL)",
		"CREATE INDEX IF NOT EXISTS _changes_step ON " + p.t("_changes") + " (step)",
		"CREATE TABLE IF NOT EXISTS " + p.t("_steps") + " (step bigint PRIMARY KEY, at timestamptz NOT NULL, duration_us bigint NOT NULL, log_rows int NOT NULL, changes int NOT NULL)",
		"CREATE INDEX IF NOT EXISTS _steps_at ON " + p.t("_steps") + " (at)",
		"CREATE TABLE IF NOT EXISTS " + p.t("_watchers") + " (id bigserial PRIMARY KEY, since bigint NOT NULL, seen timestamptz NOT NULL DEFAULT now())",
		"INSERT INTO " + p.t("_meta") + " (key, value) SELECT 'changes_from', greatest(1, coalesce((SELECT value::bigint FROM " + p.t("_meta") +
			" WHERE key = 'steps'), 0) - " + strconv.Itoa(KeepChanges) + " + 1)::text ON CONFLICT (key) DO NOTHING",
	} {
		if _, err := p.Pool.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// upgrade brings the state of a program installed by an earlier version
// of stepping up to date: its change log gains the capture time and the
// capturing transaction (rows logged before that count as one
// transaction, which merges them into one step but never splits one),
// and its capture functions are replaced by the current ones.
func (p *Runner) upgrade(ctx context.Context) error {
	for _, s := range []string{
		"ALTER TABLE " + p.t("_log") + " ADD COLUMN IF NOT EXISTS " + logAtColumn,
		"ALTER TABLE " + p.t("_log") + " ADD COLUMN IF NOT EXISTS " + logXactColumn,
		"CREATE INDEX IF NOT EXISTS _log_xact ON " + p.t("_log") + " (xact)",
	} {
		if _, err := p.Pool.Exec(ctx, s); err != nil {
			return err
		}
	}
	var logType string
	if err := p.Pool.QueryRow(ctx, "SELECT atttypid::regtype::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'row'", p.t("_log")).Scan(&logType); err != nil {
		return err
	}
	if logType == "jsonb" {
		if _, err := p.Pool.Exec(ctx, "ALTER TABLE "+p.t("_log")+" ALTER COLUMN row TYPE json"); err != nil {
			return err
		}
	}
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		// A program installed before outputs were recorded made the
		// output tables it finds: record them as its own.
		if owned, err := p.ownedOutputs(ctx, tx); err != nil {
			return err
		} else if owned == nil {
			if err := p.recordOutputs(ctx, tx); err != nil {
				return err
			}
		}
		// Likewise for what apply compares a changed program with.
		if nodes, err := p.meta(ctx, tx, metaNodes); err != nil {
			return err
		} else if nodes == "" {
			if err := p.recordShape(ctx, tx); err != nil {
				return err
			}
		}
		for _, s := range p.captureFunctionsDDL() {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// StepChannel is the channel every committed step NOTIFYs, with the
// step's number as payload.
func (p *Runner) StepChannel() string { return p.channel() + "_steps" }

// beginStep starts a step in its transaction: it takes _watchers in ROW
// SHARE mode (see "Why a watcher misses no step" above), removes the
// watchers whose lease expired, and reads the number of steps committed
// and whether a watcher listens, so whether the step publishes its
// changes: one round trip.
//
// The two statements go as one simple query, which Postgres analyses a
// statement at a time, so the query's snapshot is taken after the lock
// is granted even in a REPEATABLE READ transaction (the backfill's),
// whose snapshot the first query fixes. (A pipeline of prepared
// statements would parse the query, taking the snapshot, before the
// lock.) The lease is a constant, spelled in the statement.
func (p *Runner) beginStep(ctx context.Context, tx pgx.Tx) (steps int64, publish bool, err error) {
	results, err := tx.Conn().PgConn().Exec(ctx, p.beginStepSQL()).ReadAll()
	if err != nil {
		return 0, false, err
	}
	return p.stepBegun(results)
}

// beginStepSQL is the query of beginStep: two statements, whose second
// answers with the steps committed and whether the step publishes.
func (p *Runner) beginStepSQL() string {
	lease := strconv.FormatInt(WatchLease.Microseconds(), 10) + " * interval '1 microsecond'"
	return "LOCK TABLE " + p.t("_watchers") + " IN ROW SHARE MODE;\n" +
		"WITH expired AS (DELETE FROM " + p.t("_watchers") + " WHERE seen < now() - " + lease + ")\n" +
		"SELECT coalesce((SELECT value::bigint FROM " + p.t("_meta") + " WHERE key = 'steps'), 0), " +
		"EXISTS (SELECT 1 FROM " + p.t("_watchers") + " WHERE seen >= now() - " + lease + ")"
}

// stepBegun reads the answers to beginStepSQL, the first two of results.
func (p *Runner) stepBegun(results []*pgconn.Result) (steps int64, publish bool, err error) {
	if len(results) < 2 || len(results[1].Rows) != 1 || len(results[1].Rows[0]) != 2 {
		return 0, false, fmt.Errorf("beginning a step: unexpected answer to %s", p.beginStepSQL())
	}
	row := results[1].Rows[0]
	if steps, err = strconv.ParseInt(string(row[0]), 10, 64); err != nil {
		return 0, false, fmt.Errorf("beginning a step: steps %q: %w", row[0], err)
	}
	return steps, string(row[1]) == "t", nil
}

// outputChanges counts the output changes of a step's chunk, as
// _steps records them.
func (p *Runner) outputChanges(res *runtime.Result) int {
	n := 0
	for _, o := range p.Circuit.Outputs {
		if d, ok := res.Changes[o.View.Name]; ok {
			n += d.Len()
		}
	}
	return n
}

// publishChanges queues, in a step's batch, the records of its output
// changes (of a chunk of it: every chunk of a step publishes under the
// step's number). The caller calls it only for a step that publishes
// (see beginStep): no row is encoded otherwise.
func (p *Runner) publishChanges(b *pgx.Batch, res *runtime.Result) error {
	var views []string
	var weights []int64
	var rows []string
	for _, o := range p.Circuit.Outputs {
		d, ok := res.Changes[o.View.Name]
		if !ok {
			continue
		}
		var err error
		d.Each(func(row zset.Row, w int64) {
			if err != nil {
				return
			}
			var obj []byte
			obj, err = json.Marshal(rowObject(o.View.Columns, row))
			views, weights, rows = append(views, o.View.Name), append(weights, w), append(rows, string(obj))
		})
		if err != nil {
			return fmt.Errorf("publishing the changes of %s: %w", o.View.Name, err)
		}
	}
	if len(rows) > 0 {
		b.Queue("INSERT INTO "+p.t("_changes")+" (step, view, weight, row) SELECT $1, * FROM unnest($2::text[], $3::int8[], $4::jsonb[])",
			res.Step, views, weights, rows)
	}
	return nil
}

// publishStep queues, in a step's last batch, its statistics, the
// pruning of old records, and the notification of watchers (sent at
// commit). A step that did not publish moves changes_from past itself:
// _changes no longer holds every step.
//
// Pruning is cheap each step: the cut is the newest step beyond any
// bound, found by index (the step bound is arithmetic; the row bound
// reads the monotonic ids at both ends of _changes, whose difference
// counts its rows, more when steps rolled back; the age bound reads
// _steps by its time), and the delete finds nothing to scan once the
// old steps are gone. The step itself is never cut, so its changes reach
// the watchers however large it is.
func (p *Runner) publishStep(b *pgx.Batch, step int64, logRows, changes int, published bool, took time.Duration) {
	b.Queue("INSERT INTO "+p.t("_steps")+" (step, at, duration_us, log_rows, changes) VALUES ($1, now(), $2, $3, $4)",
		step, took.Microseconds(), logRows, changes)
	if !published {
		b.Queue("UPDATE "+p.t("_meta")+" SET value = $1 WHERE key = 'changes_from'", strconv.FormatInt(step+1, 10))
	}
	keep := p.Retention
	b.Queue(`WITH cut AS (SELECT least($1::int8 - 1, greatest($1::int8 - $2::int8,
    coalesce((SELECT c.step FROM `+p.t("_changes")+` c WHERE c.id <= (SELECT max(id) FROM `+p.t("_changes")+`) - $3::int8 ORDER BY c.id DESC LIMIT 1), 0),
    coalesce((SELECT s.step FROM `+p.t("_steps")+` s WHERE s.at < now() - $4::int8 * interval '1 microsecond' ORDER BY s.at DESC LIMIT 1), 0))) AS step),
  pruned AS (DELETE FROM `+p.t("_changes")+` WHERE step <= (SELECT step FROM cut))
UPDATE `+p.t("_meta")+` SET value = ((SELECT step FROM cut) + 1)::text WHERE key = 'changes_from' AND value::int8 <= (SELECT step FROM cut)`,
		step, keep.steps(), keep.rows(), keep.age().Microseconds())
	// _steps keeps the time of every step whose changes are kept, which
	// the age bound reads.
	b.Queue("DELETE FROM "+p.t("_steps")+" WHERE step <= $1 - $2::int8 AND step < coalesce((SELECT min(step) FROM "+p.t("_changes")+"), $1)",
		step, int64(KeepSteps))
	b.Queue("SELECT pg_notify($1, $2)", p.StepChannel(), strconv.FormatInt(step, 10))
}

// rowObject is a row as a JSON object keyed by column name, each value in
// the JSON form Postgres reads back exactly.
func rowObject(cols []ir.Column, row zset.Row) map[string]any {
	obj := make(map[string]any, len(cols))
	for i, v := range row {
		obj[cols[i].Name] = toJSON(v, cols[i].Type)
	}
	return obj
}

// rowFromObject reads a row of the given columns from a JSON object as
// to_jsonb or rowObject writes it.
func rowFromObject(cols []ir.Column, text []byte) (zset.Row, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	row := make(zset.Row, len(cols))
	for i, c := range cols {
		v, err := fromLogJSON(obj[c.Name], c.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		row[i] = v
	}
	return row, nil
}

// Steps returns the number of steps the program has committed, 0 before
// it is installed.
func (p *Runner) Steps(ctx context.Context) (int64, error) {
	var n int64
	err := p.Pool.QueryRow(ctx, "SELECT value::bigint FROM "+p.t("_meta")+" WHERE key = 'steps'").Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) || isUndefinedTable(err) {
		return 0, nil
	}
	return n, err
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}

// Watcher is a watcher registered in the program's _watchers: while it
// is registered, every step publishes its changes. It renews its lease
// until Close.
type Watcher struct {
	p *Runner
	// Since is the position at registration: the steps committed then.
	// Every later step publishes its changes.
	Since int64
	id    int64
	stop  context.CancelFunc
	done  chan struct{}
}

// Register registers a watcher, so that every step after the position it
// returns in Since publishes its changes until Close. It waits for a
// step in progress to commit (see "Why a watcher misses no step").
// Registering needs the right to write _watchers.
func (p *Runner) Register(ctx context.Context) (*Watcher, error) {
	w := &Watcher{p: p, done: make(chan struct{})}
	err := pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE "+p.t("_watchers")+" IN EXCLUSIVE MODE"); err != nil {
			return err
		}
		// The lease starts when the lock is granted, not when the
		// transaction began: a step waited for may have taken longer
		// than a lease.
		return tx.QueryRow(ctx, "INSERT INTO "+p.t("_watchers")+" (since, seen) SELECT coalesce((SELECT value::bigint FROM "+p.t("_meta")+
			" WHERE key = 'steps'), 0), clock_timestamp() RETURNING id, since").Scan(&w.id, &w.Since)
	})
	if isUndefinedTable(err) {
		return nil, fmt.Errorf("%w in schema %s, or it was installed by an earlier version of stepping and has not run since: %w", ErrNotInstalled, p.Schema, err)
	}
	if err != nil {
		return nil, err
	}
	renew, stop := context.WithCancel(context.Background())
	w.stop = stop
	go w.renew(renew)
	return w, nil
}

// renew renews the lease every WatchLease/4 until ctx ends. A row removed
// meanwhile (the lease lapsed) comes back: steps taken without it did not
// publish, which changes_from tells the watcher's next read.
func (w *Watcher) renew(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(WatchLease / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, _ = w.p.Pool.Exec(ctx, "INSERT INTO "+w.p.t("_watchers")+" (id, since, seen) VALUES ($1, $2, now()) ON CONFLICT (id) DO UPDATE SET seen = now()",
			w.id, w.Since)
	}
}

// Close ends the registration: its row is deleted, and steps stop
// publishing once no other watcher listens.
func (w *Watcher) Close() error {
	w.stop()
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := w.p.Pool.Exec(ctx, "DELETE FROM "+w.p.t("_watchers")+" WHERE id = $1", w.id)
	return err
}

// Watch registers a watcher (see Register) and calls fn, in order, with
// the changes to the outputs of every step committed after step `after`
// (by any runtime of the program), until ctx ends or fn fails; a
// negative after means the position at registration. See Follow.
func (p *Runner) Watch(ctx context.Context, after int64, poll time.Duration, fn func(runtime.StepChanges) error) error {
	w, err := p.Register(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	if after < 0 {
		after = w.Since
	}
	return w.Follow(ctx, after, poll, fn)
}

// Follow calls fn, in order, with the changes to the outputs of every
// step committed after step `after`, until ctx ends or fn fails. It waits
// on LISTEN for each step and looks every poll interval as well. Steps
// after w.Since are published for it; earlier ones only as far as
// _changes still holds them (another watcher listened, and they are
// within the Retention bounds): asking for steps no longer kept fails
// with ErrNotKept, as does falling behind by more than the bounds.
func (w *Watcher) Follow(ctx context.Context, after int64, poll time.Duration, fn func(runtime.StepChanges) error) error {
	p := w.p
	conn, err := p.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+ident(p.StepChannel())); err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, "UNLISTEN "+ident(p.StepChannel()))
	}()
	for {
		steps, applied, err := p.changesAfter(ctx, conn, after)
		if err != nil {
			return err
		}
		for _, s := range steps {
			if err := fn(s); err != nil {
				return err
			}
			after = s.Step
		}
		// Every step up to applied is in the snapshot changesAfter read,
		// and kept: those without output changes left no rows.
		after = max(after, applied)
		wait, cancel := context.WithTimeout(ctx, poll)
		_, err = conn.Conn().WaitForNotification(wait)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// changesAfter reads the published changes of the steps after `after`,
// and the steps committed, in one snapshot: every step up to that
// position is in it, and either _changes holds every step after `after`
// (changes_from says so), or it fails with ErrNotKept.
func (p *Runner) changesAfter(ctx context.Context, conn *pgxpool.Conn, after int64) (out []runtime.StepChanges, applied int64, err error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(ctx)
	var from int64
	if err := tx.QueryRow(ctx, "SELECT coalesce((SELECT value::bigint FROM "+p.t("_meta")+" WHERE key = 'steps'), 0), coalesce((SELECT value::bigint FROM "+
		p.t("_meta")+" WHERE key = 'changes_from'), 1)").Scan(&applied, &from); err != nil {
		return nil, 0, err
	}
	if after >= applied {
		return nil, applied, nil
	}
	if after+1 < from {
		return nil, 0, fmt.Errorf("the changes after step %d are %w (kept from step %d): _changes keeps a step only while a watcher listens, for the last %d steps, about %d rows and %s; watch from a later step, or read the outputs' current rows",
			after, ErrNotKept, from, p.Retention.steps(), p.Retention.rows(), p.Retention.age())
	}
	rows, err := tx.Query(ctx, "SELECT step, view, weight, row::text FROM "+p.t("_changes")+" WHERE step > $1 ORDER BY step, id", after)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	views := map[string]*ir.View{}
	for _, o := range p.Circuit.Outputs {
		views[o.View.Name] = o.View
	}
	for rows.Next() {
		var step, weight int64
		var view, text string
		if err := rows.Scan(&step, &view, &weight, &text); err != nil {
			return nil, 0, err
		}
		v, ok := views[view]
		if !ok {
			continue // an output of another version of the program
		}
		row, err := rowFromObject(v.Columns, []byte(text))
		if err != nil {
			return nil, 0, fmt.Errorf("step %d, view %s: %w", step, view, err)
		}
		if len(out) == 0 || out[len(out)-1].Step != step {
			out = append(out, runtime.StepChanges{Step: step, Changes: map[string]*zset.ZSet{}})
		}
		ch := out[len(out)-1].Changes
		if ch[view] == nil {
			ch[view] = zset.New()
		}
		ch[view].Add(row, weight)
	}
	return out, applied, rows.Err()
}

// ErrNotInstalled is Status's error for a schema that holds no installed
// program (none ever was, it was dropped, or its installation has not
// committed yet).
var ErrNotInstalled = errors.New("no program is installed")

// Status is what a program's schema says about its progress.
type Status struct {
	Schema     string
	Version    string    // the hash of the circuit its state was built by
	Steps      int64     // steps committed
	Applied    int64     // change-log rows applied
	LastStepAt time.Time // zero before the first step
	Pending    int64     // change-log rows waiting to be applied
	// OldestPending is when the oldest waiting change was captured; zero
	// when none waits.
	OldestPending time.Time
	// RunnerPID is the backend process of the runtime applying the
	// program, 0 when none is running.
	RunnerPID int
	// Failure is why the runner last stopped for a reason retrying
	// cannot cure (see Failure); empty once a step succeeds again.
	Failure string
	// Watchers is how many watchers hold a live lease: while one does,
	// every step publishes its changes to _changes.
	Watchers int
	// ChangesFrom is the first step from which _changes holds every
	// step; past Steps when none is kept.
	ChangesFrom int64
	Recent      []StepRecord // the last steps, newest first
	// Watermarks are the sources' watermarks and the late changes each
	// dropped, in order of source name; none for a program without.
	Watermarks []runtime.WatermarkStatus
}

// StepRecord is one committed step's statistics.
type StepRecord struct {
	Step     int64
	At       time.Time
	Duration time.Duration
	LogRows  int // change-log rows it applied
	Changes  int // output changes it made
}

// Status reads the program's progress, lag and recent steps; recent
// limits how many steps it lists.
func (p *Runner) Status(ctx context.Context, recent int) (*Status, error) {
	st := &Status{Schema: p.Schema}
	rows, err := p.Pool.Query(ctx, "SELECT key, value FROM "+p.t("_meta"))
	if err != nil {
		if isUndefinedTable(err) {
			return nil, fmt.Errorf("%w in schema %s", ErrNotInstalled, p.Schema)
		}
		return nil, err
	}
	meta, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var kv [2]string
		err := r.Scan(&kv[0], &kv[1])
		return kv, err
	})
	if err != nil {
		return nil, err
	}
	for _, kv := range meta {
		switch kv[0] {
		case "version":
			st.Version = kv[1]
		case "steps":
			st.Steps, _ = strconv.ParseInt(kv[1], 10, 64)
		case "applied":
			st.Applied, _ = strconv.ParseInt(kv[1], 10, 64)
		case "last_step_at":
			st.LastStepAt, _ = time.Parse(time.RFC3339Nano, kv[1])
		case "failure":
			st.Failure = kv[1]
		case "changes_from":
			st.ChangesFrom, _ = strconv.ParseInt(kv[1], 10, 64)
		case metaWatermarks:
			if st.Watermarks, err = parseMarks(kv[1]); err != nil {
				return nil, fmt.Errorf("reading the watermarks in %s: %w", p.t("_meta"), err)
			}
		}
	}
	if st.Version == "" {
		return nil, fmt.Errorf("%w in schema %s", ErrNotInstalled, p.Schema)
	}
	var oldest *time.Time
	err = p.Pool.QueryRow(ctx, "SELECT count(*), min(at) FROM "+p.t("_log")).Scan(&st.Pending, &oldest)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42703" { // installed before _log.at
		err = p.Pool.QueryRow(ctx, "SELECT count(*) FROM "+p.t("_log")).Scan(&st.Pending)
	}
	if err != nil {
		return nil, err
	}
	if oldest != nil {
		st.OldestPending = *oldest
	}
	err = p.Pool.QueryRow(ctx, "SELECT count(*) FROM "+p.t("_watchers")+" WHERE seen >= now() - $1::int8 * interval '1 microsecond'", WatchLease.Microseconds()).Scan(&st.Watchers)
	if err != nil && !isUndefinedTable(err) { // installed before _watchers, and not run since
		return nil, err
	}
	key := uint64(lockKey(p.Schema))
	err = p.Pool.QueryRow(ctx, `SELECT coalesce(min(pid), 0) FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1`, int64(key>>32), int64(key&0xffffffff)).Scan(&st.RunnerPID)
	if err != nil {
		return nil, err
	}
	rows, err = p.Pool.Query(ctx, "SELECT step, at, duration_us, log_rows, changes FROM "+p.t("_steps")+" ORDER BY step DESC LIMIT $1", recent)
	if err != nil {
		return nil, err
	}
	st.Recent, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (StepRecord, error) {
		var s StepRecord
		var us int64
		err := r.Scan(&s.Step, &s.At, &us, &s.LogRows, &s.Changes)
		s.Duration = time.Duration(us) * time.Microsecond
		return s, err
	})
	return st, err
}

// Programs lists the schemas of the database that hold an installed
// program's state, in name order.
func Programs(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = '_meta'
  AND EXISTS (SELECT 1 FROM information_schema.tables l WHERE l.table_schema = tables.table_schema AND l.table_name = '_log')
ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Write applies changes to the program's source tables with ordinary SQL,
// in one transaction: the capture triggers log them, and the next steps
// apply them. Inserts and updates write every column the program
// declares; deletes and updates find a row by the table's primary key
// as the program declares it, or, for a table without one, delete one
// row equal to the given one.
func (p *Runner) Write(ctx context.Context, changes map[string][]runtime.Change) error {
	names := make([]string, 0, len(changes))
	for name := range changes {
		names = append(names, name)
	}
	sort.Strings(names)
	b := &pgx.Batch{}
	for _, name := range names {
		in := p.input(name)
		if in == nil {
			return fmt.Errorf("unknown table %s", name)
		}
		if in.Postgres == nil {
			return fmt.Errorf("table %s is not read from the database", name)
		}
		for _, c := range changes[name] {
			sql, args, err := p.writeSQL(in, c)
			if err != nil {
				return fmt.Errorf("table %s: %w", name, err)
			}
			b.Queue(sql, args...)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
}

func (p *Runner) input(name string) *ir.Input {
	for _, in := range p.Circuit.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// writeSQL is the statement that makes one change to a source table.
func (p *Runner) writeSQL(in *ir.Input, c runtime.Change) (string, []any, error) {
	table := p.sourceName(in)
	cols := in.Columns
	if len(c.Row) != len(cols) {
		return "", nil, fmt.Errorf("row has %d values, want %d", len(c.Row), len(cols))
	}
	arg := func(args *[]any, i int) string {
		*args = append(*args, toPG(c.Row[i], cols[i].Type))
		return "$" + strconv.Itoa(len(*args))
	}
	match := func(args *[]any, idx []int, op string) string {
		var conds []string
		for _, i := range idx {
			conds = append(conds, ident(cols[i].Name)+op+arg(args, i))
		}
		return strings.Join(conds, " AND ")
	}
	all := make([]int, len(cols))
	for i := range all {
		all[i] = i
	}
	var args []any
	switch {
	case c.Op == runtime.Insert:
		var names, vals []string
		for i, col := range cols {
			names = append(names, ident(col.Name))
			vals = append(vals, arg(&args, i))
		}
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(names, ", "), strings.Join(vals, ", ")), args, nil
	case c.Op == runtime.Delete && len(in.PrimaryKey) > 0:
		return fmt.Sprintf("DELETE FROM %s WHERE %s", table, match(&args, in.PrimaryKey, " = ")), args, nil
	case c.Op == runtime.Delete:
		return fmt.Sprintf("DELETE FROM %s WHERE ctid = (SELECT ctid FROM %s WHERE %s LIMIT 1)",
			table, table, match(&args, all, " IS NOT DISTINCT FROM ")), args, nil
	case len(in.PrimaryKey) == 0:
		return "", nil, fmt.Errorf("update needs a primary key, and table %s has none", in.Name)
	}
	var sets []string
	for i, col := range cols {
		sets = append(sets, ident(col.Name)+" = "+arg(&args, i))
	}
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s", table, strings.Join(sets, ", "), match(&args, in.PrimaryKey, " = ")), args, nil
}

// ReadOutput reads the rows of an output table, those whose columns
// equal the given values when where is not empty (NULL matching NULL).
func (p *Runner) ReadOutput(ctx context.Context, view string, where map[int]any) (*zset.ZSet, error) {
	var out *ir.Output
	for _, o := range p.Circuit.Outputs {
		if o.View.Name == view {
			out = o
		}
	}
	if out == nil {
		return nil, fmt.Errorf("%s is not an output of the program: on Postgres only outputs are stored", view)
	}
	cols := out.View.Columns
	cond, args := whereSQL(cols, where)
	z, err := readRows(ctx, p.Pool, cols, "SELECT to_json(t.*)::text FROM "+p.outputTable(out)+" t"+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", view, err)
	}
	return z, nil
}

// ReadOutputAt is ReadOutput together with the number of the step whose
// state the rows show, read in one snapshot: a step commits its output
// changes and its number together.
func (p *Runner) ReadOutputAt(ctx context.Context, view string, where map[int]any) (z *zset.ZSet, step int64, err error) {
	var out *ir.Output
	for _, o := range p.Circuit.Outputs {
		if o.View.Name == view {
			out = o
		}
	}
	if out == nil {
		return nil, 0, fmt.Errorf("%s is not an output of the program: on Postgres only outputs are stored", view)
	}
	// One statement sees one snapshot: the step's number comes with
	// every row, or alone (a NULL row) when none matches.
	cond, args := whereSQL(out.View.Columns, where)
	on := "true"
	if cond != "" {
		on = strings.TrimPrefix(cond, " WHERE ")
	}
	rows, err := p.Pool.Query(ctx, "SELECT s.step, to_json(t.*)::text FROM (SELECT coalesce((SELECT value::bigint FROM "+p.t("_meta")+
		" WHERE key = 'steps'), 0) AS step) s LEFT JOIN "+p.outputTable(out)+" t ON "+on, args...)
	if err == nil {
		z = zset.New()
		for rows.Next() {
			var text *string
			if err = rows.Scan(&step, &text); err != nil {
				break
			}
			if text == nil {
				continue
			}
			row, rerr := rowFromObject(out.View.Columns, []byte(*text))
			if rerr != nil {
				err = rerr
				break
			}
			z.Add(row, 1)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("output %s: %w", view, err)
	}
	return z, step, nil
}

// whereSQL is the WHERE clause (with its leading space, or empty) and
// the parameters that match rows of table alias t whose columns, by
// index, equal where's values, NULL matching NULL.
func whereSQL(cols []ir.Column, where map[int]any) (string, []any) {
	var conds []string
	var args []any
	idx := make([]int, 0, len(where))
	for i := range where {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		if where[i] == nil {
			conds = append(conds, "t."+ident(cols[i].Name)+" IS NULL")
			continue
		}
		args = append(args, toPG(where[i], cols[i].Type))
		conds = append(conds, fmt.Sprintf("t.%s = $%d", ident(cols[i].Name), len(args)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ReadSourceWhere reads the rows of an input's Postgres table (its
// declared columns) whose columns, by index, equal where's values: what
// a caller changing one row by its key reads first.
func (p *Runner) ReadSourceWhere(ctx context.Context, name string, where map[int]any) (*zset.ZSet, error) {
	in := p.input(name)
	if in == nil {
		return nil, fmt.Errorf("unknown table %s", name)
	}
	if in.Postgres == nil {
		return nil, fmt.Errorf("table %s is not read from the database", in.Name)
	}
	cond, args := whereSQL(in.Columns, where)
	z, err := readRows(ctx, p.Pool, in.Columns, "SELECT to_json(t.*)::text FROM "+p.sourceName(in)+" t"+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", in.Name, err)
	}
	return z, nil
}

// readRows runs a query whose rows are JSON objects (to_json of a table's
// rows) and reads them as rows of cols.
func readRows(ctx context.Context, db *pgxpool.Pool, cols []ir.Column, sql string, args ...any) (*zset.ZSet, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	z := zset.New()
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, err
		}
		row, err := rowFromObject(cols, []byte(text))
		if err != nil {
			return nil, err
		}
		z.Add(row, 1)
	}
	return z, rows.Err()
}

// ReadSource reads the current rows of an input's Postgres table (its
// declared columns), as the REPL's snapshot of a live table.
func ReadSource(ctx context.Context, pool *pgxpool.Pool, in *ir.Input) (*zset.ZSet, error) {
	if in.Postgres == nil {
		return nil, fmt.Errorf("table %s is not read from the database", in.Name)
	}
	table := ident(in.Postgres.Name)
	if in.Postgres.Schema != "" {
		table = ident(in.Postgres.Schema, in.Postgres.Name)
	}
	z, err := readRows(ctx, pool, in.Columns, "SELECT to_json(t.*)::text FROM "+table+" t")
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", in.Name, err)
	}
	return z, nil
}
