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
//	_changes  every committed step's changes to the outputs (step, view,
//	          weight, row as a JSON object keyed by column name), for the
//	          last KeepChanges steps; each step NOTIFYs StepChannel with
//	          its number, so watchers LISTEN instead of polling.
//	_steps    when each of the last KeepSteps steps committed, how long it
//	          took, how many log rows it applied and how many output
//	          changes it made.
//	_log.at   when each pending change was captured, for the lag.
const (
	// KeepChanges is how many steps' output changes _changes keeps.
	KeepChanges = 1000
	// KeepSteps is how many steps' statistics _steps keeps.
	KeepSteps = 100
)

// logAtColumn is the capture time of a change-log row: the time of the
// transaction that made the change.
const logAtColumn = "at timestamptz NOT NULL DEFAULT now()"

// logXactColumn is the transaction that made a change-log row: a batch
// takes its transactions whole.
const logXactColumn = "xact xid8 NOT NULL DEFAULT pg_current_xact_id()"

// ensureHistory creates the tables of published steps.
func (p *Runner) ensureHistory(ctx context.Context) error {
	for _, s := range []string{
		"CREATE TABLE IF NOT EXISTS " + p.t("_changes") + " (id bigserial PRIMARY KEY, step bigint NOT NULL, view text NOT NULL, weight bigint NOT NULL, row jsonb NOT NULL)",
		"CREATE INDEX IF NOT EXISTS _changes_step ON " + p.t("_changes") + " (step)",
		"CREATE TABLE IF NOT EXISTS " + p.t("_steps") + " (step bigint PRIMARY KEY, at timestamptz NOT NULL, duration_us bigint NOT NULL, log_rows int NOT NULL, changes int NOT NULL)",
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

// publishChanges queues, in a step's batch, the records of its output
// changes (of a chunk of it: every chunk of a step publishes under the
// step's number).
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

// publishStep queues, in a step's last batch, its statistics, the pruning
// of old records, and the notification of watchers (sent at commit).
func (p *Runner) publishStep(b *pgx.Batch, step int64, logRows int, took time.Duration) {
	b.Queue("INSERT INTO "+p.t("_steps")+" (step, at, duration_us, log_rows, changes) VALUES ($1, now(), $2, $3, (SELECT count(*) FROM "+p.t("_changes")+" WHERE step = $1))",
		step, took.Microseconds(), logRows)
	b.Queue("DELETE FROM "+p.t("_changes")+" WHERE step <= $1", step-KeepChanges)
	b.Queue("DELETE FROM "+p.t("_steps")+" WHERE step <= $1", step-KeepSteps)
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

// Watch calls fn, in order, with the changes to the outputs of every step
// committed after step `after` (by any runtime of the program), until ctx
// ends or fn fails. It waits on LISTEN for each step and looks every poll
// interval as well. Steps older than the last KeepChanges are no longer
// kept; a watcher that falls that far behind gets an error saying so.
func (p *Runner) Watch(ctx context.Context, after int64, poll time.Duration, fn func(runtime.StepChanges) error) error {
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
		// The position is read before the changes: every step up to it
		// has committed, so its changes are visible to the next query.
		applied, posErr := p.Steps(ctx)
		steps, err := p.changesAfter(ctx, conn, after)
		if err != nil {
			return err
		}
		for _, s := range steps {
			if err := fn(s); err != nil {
				return err
			}
			after = s.Step
		}
		if len(steps) == 0 && posErr == nil && applied > after {
			// Steps without output changes leave no rows: catch up so
			// a later gap check compares with the real position.
			after = applied
		}
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

// changesAfter reads the published changes of the steps after `after`.
func (p *Runner) changesAfter(ctx context.Context, conn *pgxpool.Conn, after int64) ([]runtime.StepChanges, error) {
	var oldest *int64
	if err := conn.QueryRow(ctx, "SELECT min(step) FROM "+p.t("_changes")).Scan(&oldest); err != nil {
		return nil, err
	}
	if oldest != nil && *oldest > after+KeepChanges {
		return nil, fmt.Errorf("the changes after step %d are no longer kept (the oldest kept is step %d)", after, *oldest)
	}
	rows, err := conn.Query(ctx, "SELECT step, view, weight, row::text FROM "+p.t("_changes")+" WHERE step > $1 ORDER BY step, id", after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	views := map[string]*ir.View{}
	for _, o := range p.Circuit.Outputs {
		views[o.View.Name] = o.View
	}
	var out []runtime.StepChanges
	for rows.Next() {
		var step, weight int64
		var view, text string
		if err := rows.Scan(&step, &view, &weight, &text); err != nil {
			return nil, err
		}
		v, ok := views[view]
		if !ok {
			continue // an output of another version of the program
		}
		row, err := rowFromObject(v.Columns, []byte(text))
		if err != nil {
			return nil, fmt.Errorf("step %d, view %s: %w", step, view, err)
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
	return out, rows.Err()
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
	Recent  []StepRecord // the last steps, newest first
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
	sql := "SELECT to_json(t.*)::text FROM " + p.outputTable(out) + " t"
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	z, err := readRows(ctx, p.Pool, cols, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", view, err)
	}
	return z, nil
}

// readRows runs a query whose rows are JSON objects (to_json of a table's
// rows) and reads them as rows of cols.
func readRows(ctx context.Context, pool *pgxpool.Pool, cols []ir.Column, sql string, args ...any) (*zset.ZSet, error) {
	rows, err := pool.Query(ctx, sql, args...)
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
