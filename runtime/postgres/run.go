package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
	"github.com/valyala/fastjson"
)

// Runner runs a circuit against Postgres: it captures the changes of the
// program's source tables with triggers into a change log, applies the log
// in batches, each batch one transaction holding the operator state
// changes, the output table changes and the removal of the batch from the
// log, so every change is applied exactly once even across crashes.
//
// Everything it creates lives in the program's own schema, except the
// output tables (wherever their names put them) and the capture triggers
// (on the source tables).
type Runner struct {
	Pool      *pgxpool.Pool
	Circuit   *ir.Circuit
	Schema    string    // the program's own schema
	Log       io.Writer // progress and waiting messages; nil for none
	BatchSize int       // log rows per step; 0 means 10,000
	// SweepRows is the fewest log rows applied between two sweeps of
	// the state a watermark makes final (see sweepIfDue); 0 means 1,024.
	SweepRows int
	// OmitChanges leaves StepStats.Changes nil, for a caller that does not
	// read them: a step's output changes are then held only a chunk at a
	// time (see openChanges), whatever the size of its transactions.
	OmitChanges bool
	// Clock gives the time of each step, which now() reads, for a
	// program that reads the clock; nil means the time of the step's
	// transaction (Postgres's transaction_timestamp()).
	Clock func() time.Time
	// BackfillRows bounds the source rows a backfill computes in memory
	// (see backfill.go); 0 means DefaultBackfillRows.
	BackfillRows int
	// NoSourceIndexes stops install making indexes on source tables for
	// the integrals that read them (see sourced.go): an integral whose
	// source has no index that serves it keeps a state table instead, and
	// the application's writes pay for no index of stepping's.
	NoSourceIndexes bool
	// NoPushdown makes a backfill compute every aggregate in memory,
	// never in SQL (see pushdown.go); tests compare the two ways.
	NoPushdown bool
	// Retention bounds the history of output changes kept for watchers;
	// zero fields mean the defaults (KeepChanges, KeepChangeRows,
	// KeepChangesFor).
	Retention Retention
	// Apply makes Setup, when the program changed since its state was
	// built, apply the change: keep the state and output tables that
	// are unchanged and rebuild only the rest (see apply.go), rather
	// than fail with ErrVersion.
	Apply bool
	// DropRemoved makes an apply drop the tables of outputs the program
	// no longer has; without it they are left, no longer maintained.
	DropRemoved bool
	// LockWait bounds how long taking the program's lock waits while
	// another runtime holds it; past it the runner stops with
	// ErrLockWait. Zero waits as long as the context allows.
	LockWait time.Duration
	// Logger, when set, receives the runner's messages instead of Log,
	// at level Info (Warn for what stops or waits), with the program's
	// schema as the attribute "program".
	Logger *slog.Logger
	// Progress, when set, is told how long work goes (a backfill, a
	// backlog of changes) as it goes, and the runner logs no progress
	// lines of its own: the caller shows it (stepq draws a bar).
	Progress func(Progress)

	backfilled bool // the backfill is known done: ApplyPending need not look
	// sweep counts the log rows applied since the state the watermarks
	// make final was last freed, and the state entries kept then.
	sweep struct{ since, kept int }
	// lastProgress is when progress was last logged (see reportProgress).
	lastProgress time.Time
	caughtUp     bool // the run loop has said it caught up
	// sourced is the program's source-backed integrals as recorded at
	// install (see sourced.go), read on first use; nil until then.
	sourced map[int]*sourceIndex
}

// ErrVersion reports that the state in the database was built by a
// different version of the program.
var ErrVersion = errors.New("the program changed since its state was built")

// ErrLockWait reports that another runtime held the program's lock for
// longer than Runner.LockWait.
var ErrLockWait = errors.New("waited too long for the program's lock")

// lockHolder says which backend holds the program's advisory lock, as
// " (Postgres backend pid N)", or "" when that cannot be read.
func (p *Runner) lockHolder(ctx context.Context, conn *pgxpool.Conn) string {
	key := uint64(lockKey(p.Schema))
	var pid int
	err := conn.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
  AND classid = $1::int8::oid AND objid = $2::int8::oid AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&pid)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (Postgres backend pid %d)", pid)
}

func (p *Runner) logf(format string, args ...any) {
	switch {
	case p.Logger != nil:
		p.Logger.Info(fmt.Sprintf(format, args...), "program", p.Schema)
	case p.Log != nil:
		fmt.Fprintf(p.Log, format+"\n", args...)
	}
}

// warnf is logf for what stops or waits.
func (p *Runner) warnf(format string, args ...any) {
	if p.Logger != nil {
		p.Logger.Warn(fmt.Sprintf(format, args...), "program", p.Schema)
		return
	}
	p.logf(format, args...)
}

// Progress is how far long work has gone: a backfill reading the
// sources' rows, or a backlog of captured changes being applied.
type Progress struct {
	What  string // "backfill" or "backlog"
	Done  int64  // rows read, or changes applied, so far
	Total int64  // the rows or changes to do, as counted when it began
	Rate  float64
	// Finished is set on the last report of the work.
	Finished bool
}

// Left estimates the time left at the rate so far; zero when unknown.
func (pr Progress) Left() time.Duration {
	if pr.Rate <= 0 || pr.Done >= pr.Total {
		return 0
	}
	return time.Duration(float64(pr.Total-pr.Done) / pr.Rate * float64(time.Second))
}

func (p *Runner) batchSize() int {
	if p.BatchSize > 0 {
		return p.BatchSize
	}
	return 10_000
}

func (p *Runner) t(name string) string { return ident(p.Schema, name) }

// viewVersions returns a hash of each view's fingerprint (and of the
// inputs'), which changes when what the view computes (or how its inputs
// are typed) changes.
func (p *Runner) viewVersions() map[string]string { return viewFingerprints(p.Circuit) }

// Version is the hash of the program's circuit recorded with its state.
func (p *Runner) Version() string { return circuitVersion(p.Circuit) }

// channel is the NOTIFY channel the capture triggers signal.
func (p *Runner) channel() string { return "stepping_" + shortHash(p.Schema) }

func (p *Runner) triggerName(op string) string { return "stepping_" + shortHash(p.Schema) + "_" + op }

// Setup makes the database ready to run the program: on first use it
// creates the schema, state, log and output tables, installs the capture
// triggers and backfills the sources' existing rows into the log. On later
// uses it checks that the state belongs to this version of the program,
// failing with ErrVersion otherwise unless rebuild is set, in which case
// it drops the old state and replays from the sources, or Apply is, in
// which case it rebuilds only what changed (see apply.go). A program
// whose sources only gained columns it does not use is applied without
// Apply.
func (p *Runner) Setup(ctx context.Context, rebuild bool) error {
	ours, exists, err := p.isProgramSchema(ctx)
	if err != nil {
		return err
	}
	if exists && !ours {
		var objects int
		if err := p.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1", p.Schema).Scan(&objects); err != nil {
			return err
		}
		if objects > 0 {
			return fmt.Errorf("program %s: schema %s exists and holds %d objects stepping did not create; give the program a schema of its own (--schema)", p.Schema, ident(p.Schema), objects)
		}
	}
	stored := ""
	if ours {
		if stored, err = p.meta(ctx, p.Pool, "version"); err != nil {
			return err
		}
	}
	switch {
	case stored == p.Version():
		if err := p.ensureSchema(ctx); err != nil {
			return err
		}
		if err := p.checkDrift(ctx); err != nil {
			return err
		}
		return p.upgrade(ctx)
	case stored != "" && !rebuild:
		apply := p.Apply
		if !apply {
			// Columns added to the sources, which no view uses, change
			// no output: take them up without being asked.
			if apply, err = p.onlyColumnsAdded(ctx); err != nil {
				return err
			}
			if !apply {
				return p.versionError(ctx)
			}
			p.logf("the sources of %s gained columns it does not use: rebuilding the state that holds their rows; the outputs stay as they are", p.Schema)
		}
		if err := p.ensureSchema(ctx); err != nil {
			return err
		}
		if err := p.applyChange(ctx); err != nil {
			return err
		}
		return p.upgrade(ctx)
	case stored != "":
		p.logf("rebuilding %s: dropping the old state and replaying from the sources", p.Schema)
		if err := p.dropState(ctx, true); err != nil {
			return err
		}
	}
	if err := p.preflight(ctx); err != nil {
		return err
	}
	if err := p.ensureSchema(ctx); err != nil {
		return err
	}
	return p.install(ctx)
}

// ensureSchema creates the program's schema and its metadata table.
func (p *Runner) ensureSchema(ctx context.Context) error {
	// Not CREATE SCHEMA IF NOT EXISTS: that needs the right to create
	// schemas even when the schema exists, made for the program's role
	// by someone who has it.
	var exists bool
	if err := p.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", p.Schema).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := p.Pool.Exec(ctx, "CREATE SCHEMA "+ident(p.Schema)); err != nil {
			return err
		}
	}
	if _, err := p.Pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+p.t("_meta")+" (key text PRIMARY KEY, value text NOT NULL)"); err != nil {
		return err
	}
	return p.ensureHistory(ctx)
}

func (p *Runner) versionError(ctx context.Context) error {
	var old map[string]string
	raw, err := p.meta(ctx, p.Pool, "views")
	if err == nil {
		_ = json.Unmarshal([]byte(raw), &old)
	}
	now := p.viewVersions()
	var changes []string
	for k, v := range now {
		name := k
		if k == "" {
			name = "the inputs"
		}
		switch o, ok := old[k]; {
		case !ok:
			changes = append(changes, name+" is new")
		case o != v:
			changes = append(changes, name+" changed")
		}
	}
	for k := range old {
		if _, ok := now[k]; !ok {
			changes = append(changes, k+" was removed")
		}
	}
	sort.Strings(changes)
	return fmt.Errorf("%w (%s): refusing to mix it with the old state; run again with --apply to rebuild only what changed, or with --rebuild to drop the state and replay everything from the sources",
		ErrVersion, strings.Join(changes, ", "))
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (p *Runner) meta(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRow(ctx, "SELECT value FROM "+p.t("_meta")+" WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, err
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (p *Runner) setMeta(ctx context.Context, q execer, key, value string) error {
	_, err := q.Exec(ctx, "INSERT INTO "+p.t("_meta")+" (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

// install creates everything in one transaction and marks the backfill
// pending: the first ApplyPending computes the first state from the
// sources (see backfill.go). Creating a capture trigger waits for the
// writers already under way, so every change after it is captured.
func (p *Runner) install(ctx context.Context) error {
	p.backfilled, p.sourced = false, nil
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		stmts := []string{
			"CREATE TABLE " + p.t("_log") + " (id bigserial PRIMARY KEY, source text NOT NULL, weight int NOT NULL, row json NOT NULL, " + logAtColumn + ", " + logXactColumn + ")",
			"CREATE INDEX _log_xact ON " + p.t("_log") + " (xact)",
		}
		stmts = append(stmts, p.captureFunctionsDDL()...)
		for _, o := range p.Circuit.Outputs {
			stmts = append(stmts, p.outputDDL(o)...)
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return err
		}
		for _, in := range p.Circuit.Inputs {
			if in.Postgres == nil {
				return fmt.Errorf("table %s is declared in the program, not read from the database: use source %s = table ... to run with a database", in.Name, in.Name)
			}
			if err := p.capture(ctx, tx, in); err != nil {
				return fmt.Errorf("installing capture on %s: %w", p.sourceName(in), err)
			}
		}
		// After capture, which locked the sources against writers: the
		// indexes source-backed integrals need are built under that lock.
		backed, err := p.installSourceBacked(ctx, tx)
		if err != nil {
			return err
		}
		var indexIDs, groupIDs, orderedIDs []int
		for _, n := range p.Circuit.Nodes {
			switch n.Op.(type) {
			case *ir.Integrate, *ir.Fixpoint, *ir.Stamp:
				if !slices.Contains(backed, n.ID) {
					indexIDs = append(indexIDs, n.ID)
				}
			case *ir.Aggregate, *ir.TopK, *ir.Window, *ir.Session:
				groupIDs = append(groupIDs, n.ID)
			case *ir.OrderedIntegrate:
				orderedIDs = append(orderedIDs, n.ID)
			}
		}
		if err := execAll(ctx, tx, NewStore(p.Schema).StateTableDDL(indexIDs, groupIDs, orderedIDs)); err != nil {
			return err
		}
		if err := p.recordOutputs(ctx, tx); err != nil {
			return err
		}
		if err := p.recordShape(ctx, tx); err != nil {
			return err
		}
		views, _ := json.Marshal(p.viewVersions())
		for k, v := range map[string]string{"version": p.Version(), "views": string(views), metaLock: p.lockText(), "steps": "0", "applied": "0", "last_step_at": "", "backfill": "pending"} {
			if err := p.setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// execAll executes statements in order, naming the one that failed.
func execAll(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%w\n%s", err, s)
		}
	}
	return nil
}

// captureFunctionsDDL (re)creates the capture trigger functions. They are
// the same for every source: the source's name and the channel come as
// trigger arguments, so no name is spliced into their bodies.
//
// They run as the role that installed the program (SECURITY DEFINER) with
// a search path of their own, so any role allowed to write a source can,
// without any right on the program's schema, and nothing of the writer's
// (a temporary table named _log, say) can stand in for the log.
//
// They NOTIFY the runner only on a cluster that cannot prepare
// transactions: a transaction that has notified cannot PREPARE, and
// capture must never fail an application's transaction. Where two-phase
// commit is possible the runner polls instead (see notifies).
//
// Rows are captured with to_json, not to_jsonb: json keeps each value's
// spelling (a float's -0), where jsonb would normalise it.
func (p *Runner) captureFunctionsDDL() []string {
	attrs := "LANGUAGE plpgsql SECURITY DEFINER SET search_path = " + ident(p.Schema) + ", pg_temp"
	return []string{
		"CREATE OR REPLACE FUNCTION " + p.t("_capture") + "() RETURNS trigger " + attrs + ` AS $body$
BEGIN
  IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
    INSERT INTO _log (source, weight, row) SELECT TG_ARGV[0], 1, to_json(n.*) FROM new_rows n;
  END IF;
  IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
    INSERT INTO _log (source, weight, row) SELECT TG_ARGV[0], -1, to_json(o.*) FROM old_rows o;
  END IF;
  IF current_setting('max_prepared_transactions')::int = 0 THEN
    PERFORM pg_notify(TG_ARGV[1], '');
  END IF;
  RETURN NULL;
END
$body$`,
		"CREATE OR REPLACE FUNCTION " + p.t("_capture_truncate") + "() RETURNS trigger " + attrs + ` AS $body$
BEGIN
  EXECUTE format('INSERT INTO _log (source, weight, row) SELECT %L, -1, to_json(t.*) FROM ONLY %I.%I t', TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME);
  IF current_setting('max_prepared_transactions')::int = 0 THEN
    PERFORM pg_notify(TG_ARGV[1], '');
  END IF;
  RETURN NULL;
END
$body$`,
		// Only the triggers call them.
		"REVOKE ALL ON FUNCTION " + p.t("_capture") + "(), " + p.t("_capture_truncate") + "() FROM PUBLIC",
	}
}

func (p *Runner) sourceName(in *ir.Input) string {
	if in.Postgres.Schema == "" {
		return ident(in.Postgres.Name)
	}
	return ident(in.Postgres.Schema, in.Postgres.Name)
}

func (p *Runner) capture(ctx context.Context, tx pgx.Tx, in *ir.Input) error {
	table := p.sourceName(in)
	args := quoteLiteral(in.Name) + ", " + quoteLiteral(p.channel())
	stmts := []string{
		"LOCK TABLE " + table + " IN SHARE ROW EXCLUSIVE MODE",
		fmt.Sprintf("CREATE TRIGGER %s AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s(%s)",
			ident(p.triggerName("ins")), table, p.t("_capture"), args),
		fmt.Sprintf("CREATE TRIGGER %s AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s(%s)",
			ident(p.triggerName("upd")), table, p.t("_capture"), args),
		fmt.Sprintf("CREATE TRIGGER %s AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %s(%s)",
			ident(p.triggerName("del")), table, p.t("_capture"), args),
		fmt.Sprintf("CREATE TRIGGER %s BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s(%s)",
			ident(p.triggerName("trunc")), table, p.t("_capture_truncate"), args),
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// outputTable returns the quoted name of an output's table: the name it
// was given, or the view's name in the program's schema.
func (p *Runner) outputTable(o *ir.Output) string {
	if o.Table != nil {
		return ident(o.Table...)
	}
	return p.t(o.View.Name)
}

func (p *Runner) outputDDL(o *ir.Output) []string {
	table := p.outputTable(o)
	names := outputIndexNames(o, table)
	var cols []string
	for _, c := range o.View.Columns {
		col := ident(c.Name) + " " + pgTypeName(c.Type)
		if !c.Type.Nullable {
			col += " NOT NULL"
		}
		cols = append(cols, col)
	}
	if len(o.PrimaryKey) > 0 {
		// Deferrable: a step applied in chunks checks keys at commit.
		cols = append(cols, "PRIMARY KEY ("+p.colList(o.View, o.PrimaryKey)+") DEFERRABLE INITIALLY IMMEDIATE")
	}
	stmts := []string{"CREATE TABLE " + table + " (\n  " + strings.Join(cols, ",\n  ") + "\n)"}
	if len(o.Indexes) == 0 && len(o.PrimaryKey) == 0 {
		// Retracting a row must find it without scanning the table: with
		// no index of the user's, a hash index on the first column does.
		return append(stmts, fmt.Sprintf("CREATE INDEX %s ON %s USING hash (%s)",
			ident(names[0]), table, ident(o.View.Columns[0].Name)))
	}
	for i, ix := range o.Indexes {
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX %s ON %s (%s)", ident(names[i]), table, p.colList(o.View, ix)))
	}
	return stmts
}

// outputIndexNames names the indexes outputDDL creates on an output's
// table: after its name, so that each table's are its own.
func outputIndexNames(o *ir.Output, table string) []string {
	if len(o.Indexes) == 0 && len(o.PrimaryKey) == 0 {
		return []string{"stepping_" + shortHash(table) + "_retract"}
	}
	var out []string
	for _, ix := range o.Indexes {
		var names []string
		for _, i := range ix {
			names = append(names, o.View.Columns[i].Name)
		}
		out = append(out, "stepping_"+shortHash(table+strings.Join(names, ",")))
	}
	return out
}

func (p *Runner) colList(v *ir.View, idx []int) string {
	var out []string
	for _, i := range idx {
		out = append(out, ident(v.Columns[i].Name))
	}
	return strings.Join(out, ", ")
}

// Drop removes what Setup installed: the capture triggers, the program's
// schema with its state and log, and, when outputs is set, the output
// tables.
func (p *Runner) Drop(ctx context.Context, outputs bool) error {
	return p.dropState(ctx, outputs)
}

func (p *Runner) dropState(ctx context.Context, outputs bool) error {
	ours, _, err := p.isProgramSchema(ctx)
	if err != nil || !ours {
		return err // nothing of the program's to drop
	}
	p.warnReaders(ctx, outputs) // downstream.go
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		for _, in := range p.Circuit.Inputs {
			if in.Postgres == nil {
				continue
			}
			for _, op := range []string{"ins", "upd", "del", "trunc"} {
				if _, err := tx.Exec(ctx, "DROP TRIGGER IF EXISTS "+ident(p.triggerName(op))+" ON "+p.sourceName(in)); err != nil {
					var pgErr *pgconn.PgError
					if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // the source table is gone
						return fmt.Errorf("source table %s no longer exists: %w", p.sourceName(in), err)
					}
					if errors.As(err, &pgErr) && pgErr.Code == "42501" {
						return fmt.Errorf("program %s: removing the capture triggers from source table %s needs its owner's rights (Postgres lets only a table's owner drop its triggers): run the drop as that owner: %w", p.Schema, p.sourceName(in), err)
					}
					return err
				}
			}
		}
		if err := p.dropSourceIndexes(ctx, tx); err != nil {
			return err
		}
		if outputs {
			if err := p.dropOwnedOutputs(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "DROP SCHEMA "+ident(p.Schema)+" CASCADE")
		return err
	})
}

// Lock takes the program's advisory lock on a connection of its own and
// holds it until release is called. Only the holder applies changes, so
// two runtimes started on one program never both apply a batch: the
// second waits here, saying so, until the first stops.
func (p *Runner) Lock(ctx context.Context) (release func(), err error) {
	conn, err := p.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.lockOn(ctx, conn); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		p.unlockOn(conn)
		conn.Release()
	}, nil
}

// lockOn takes the program's advisory lock on conn, waiting (and saying
// so) while another runtime holds it.
func (p *Runner) lockOn(ctx context.Context, conn *pgxpool.Conn) error {
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(p.Schema)).Scan(&got); err != nil {
		return err
	}
	if got {
		return nil
	}
	holder := p.lockHolder(ctx, conn)
	p.warnf("another runtime%s is applying program %s; waiting for it to stop", holder, p.Schema)
	wait := ctx
	if p.LockWait > 0 {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, p.LockWait)
		defer cancel()
	}
	if _, err := conn.Exec(wait, "SELECT pg_advisory_lock($1)", lockKey(p.Schema)); err != nil {
		if ctx.Err() == nil && wait.Err() != nil {
			return fmt.Errorf("%w: program %s: another runtime%s is applying it; gave up after %s", ErrLockWait, p.Schema, holder, p.LockWait)
		}
		return err
	}
	p.logf("took over program %s", p.Schema)
	return nil
}

// unlockOn releases the lock lockOn took. When that fails the connection
// is closed, which releases it too: a pooled connection must never go
// back to the pool holding the lock.
func (p *Runner) unlockOn(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey(p.Schema)); err != nil {
		_ = conn.Conn().Close(ctx)
	}
}

// StepStats describes one applied batch.
type StepStats struct {
	Step     int64
	LogRows  int
	Chunks   int // the chunks of at most BatchSize log rows it was read and applied in
	Changes  map[string]*zset.ZSet
	Duration time.Duration
}

// ApplyPending applies the change log in batches until it is empty and
// returns the number of log rows applied. The caller holds the lock. For
// a program that reads the clock, a call that finds the log empty applies
// one step with no changes at the current time, so that its outputs
// follow the clock (rows leave a "last 7 days" window as days pass) even
// when no source changes: the run loop calls it every poll interval.
// Likewise, the first step is applied even when the log is empty, so an
// output of constants holds its rows from the start.
func (p *Runner) ApplyPending(ctx context.Context, each func(StepStats)) (int, error) {
	total := 0
	if pending, err := p.backfillPending(ctx); err != nil {
		if isUndefinedTable(err) {
			return 0, p.failure(ctx, nil, err)
		}
		return 0, err
	} else if !pending {
		p.backfilled = true
	} else {
		st, err := p.backfill(ctx)
		if err != nil {
			return 0, err
		}
		total = st.LogRows
		if each != nil {
			each(st)
		}
	}
	var backlog *Progress // a backlog being applied, once one is seen
	began := time.Now()
	applied := 0
	for {
		st, err := p.applyBatch(ctx, false)
		if err != nil {
			return total, err
		}
		if st.LogRows == 0 {
			break
		}
		if applied == 0 && st.LogRows >= p.batchSize() {
			// A full batch: more are waiting. Counted once, exactly.
			backlog = &Progress{What: "backlog", Total: p.backlog(ctx) + int64(st.LogRows)}
			if p.Progress == nil {
				p.logf("applying a backlog of %d changes", backlog.Total)
			}
		}
		total += st.LogRows
		applied += st.LogRows
		if backlog != nil {
			backlog.Done = int64(applied)
			backlog.Total = max(backlog.Total, backlog.Done)
			backlog.Rate = float64(applied) / time.Since(began).Seconds()
			backlog.Finished = st.LogRows < p.batchSize()
			p.reportProgress(*backlog)
		}
		if each != nil {
			each(st)
		}
		if st.LogRows < p.batchSize() {
			// A short batch took every row committed when it read the
			// log: skip the transaction that would find it empty.
			break
		}
	}
	if backlog != nil && !backlog.Finished {
		backlog.Finished = true
		p.reportProgress(*backlog)
	}
	tick := total == 0 && p.Circuit.Clock != nil
	if total == 0 && !tick {
		// The first step runs even with nothing logged: constants.
		var err error
		if tick, err = p.firstStepDue(ctx); err != nil {
			return 0, err
		}
	}
	if tick {
		st, err := p.applyBatch(ctx, true)
		if err != nil {
			return 0, err
		}
		if each != nil {
			each(st)
		}
	}
	if total >= vacuumAfter {
		// The log is a queue: every applied row is deleted. After a large
		// backlog, reclaim the dead rows now rather than leave every read
		// of the log to step over them until autovacuum comes.
		if _, err := p.Pool.Exec(ctx, "VACUUM "+p.t("_log")); err != nil {
			return total, err
		}
	}
	return total, nil
}

// vacuumAfter is how many applied log rows make ApplyPending vacuum the log.
const vacuumAfter = 10_000

// backlog counts the rows in the change log: once, when a backlog is
// first seen, so that its progress has a true total (the statistics
// collector's estimate was far off).
func (p *Runner) backlog(ctx context.Context) int64 {
	var n int64
	_ = p.Pool.QueryRow(ctx, "SELECT count(*) FROM "+p.t("_log")).Scan(&n)
	return n
}

// progressLogEvery is how often the runner logs the progress of long
// work when no Progress callback shows it.
const progressLogEvery = 2 * time.Second

// reportProgress hands pr to the Progress callback, or logs it, at most
// every progressLogEvery and when the work is finished.
func (p *Runner) reportProgress(pr Progress) {
	if p.Progress != nil {
		p.Progress(pr)
		return
	}
	if !pr.Finished && time.Since(p.lastProgress) < progressLogEvery {
		return
	}
	p.lastProgress = time.Now()
	p.logf("%s", pr.String())
}

// String says how far the work has gone, as the runner logs it.
func (pr Progress) String() string {
	unit := "changes applied"
	if pr.What == "backfill" {
		unit = "rows read"
	}
	if pr.Finished {
		return fmt.Sprintf("%s: %d %s, %.0f/s; caught up", pr.What, pr.Done, unit, pr.Rate)
	}
	msg := fmt.Sprintf("%s: %d of %d %s, %.0f/s", pr.What, pr.Done, pr.Total, unit, pr.Rate)
	if left := pr.Left(); left > 0 {
		msg += fmt.Sprintf(", about %s left", left.Round(time.Second))
	}
	return msg
}

type logRow struct {
	id     int64
	source string
	weight int64
	row    []byte
}

// applyBatch applies the oldest batch of the log as one step; with tick,
// a step with no changes when the log is empty.
//
// When the step fails for good, the change that failed may have been
// corrected since by a later transaction (a row with qty 0 updated to
// 1): a step of everything pending, consolidated, takes the correction
// with it, and the runner goes on. Only when that fails too does the
// step's failure stop the runner.
func (p *Runner) applyBatch(ctx context.Context, tick bool) (StepStats, error) {
	st, failed, err := p.step(ctx, tick, p.batchSize())
	if err == nil || !permanent(err) {
		return st, err
	}
	if all, _, errAll := p.step(ctx, tick, 0); errAll == nil {
		p.logf("a change that failed alone (%v) was applied with the later changes that correct it, in one step of %d changes", err, all.LogRows)
		return all, nil
	}
	return st, p.failure(ctx, failed, err)
}

// step applies, as one step, the log's oldest transactions with a row
// among its oldest limit rows (all of it for 0). On failure it returns
// the chunk that failed.
func (p *Runner) step(ctx context.Context, tick bool, limit int) (st StepStats, failed []logRow, err error) {
	start := time.Now()
	err = pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		st, failed, err = p.stepIn(ctx, tx, tick, limit)
		return err
	})
	st.Duration = time.Since(start)
	return st, failed, err
}

// stepIn is step in transaction tx, which the caller commits.
func (p *Runner) stepIn(ctx context.Context, tx pgx.Tx, tick bool, limit int) (st StepStats, failed []logRow, err error) {
	start := time.Now()
	steps, publish, chunk, err := p.openStep(ctx, tx, limit)
	if err != nil || len(chunk.rows) == 0 && !tick {
		return st, failed, err
	}
	changes := 0
	now, err := p.stepTime(ctx, tx)
	if err != nil {
		return st, failed, err
	}
	xacts := map[string]bool{}
	marks := &stepMarks{}
	for {
		last := len(chunk.rows) < p.batchSize()
		if st.Chunks == 0 && !last {
			// The step may take more than one chunk, and an output's
			// key may be inserted in one chunk and retracted, in its
			// old version, in a later one: check keys at commit.
			if _, err := tx.Exec(ctx, "SET CONSTRAINTS ALL DEFERRED"); err != nil {
				return st, failed, err
			}
		}
		res, tail, err := p.stepChunk(ctx, tx, chunk.rows, steps, now, publish, marks)
		if err != nil {
			failed = chunk.rows
			return st, failed, err
		}
		st.Step, st.Chunks, st.LogRows = res.Step, st.Chunks+1, st.LogRows+chunk.logRows
		st.Changes = p.keepChanges(st.Changes, res.Changes)
		changes += p.outputChanges(res)
		for _, x := range chunk.xacts {
			xacts[x] = true
		}
		if !last {
			if len(p.sourced) > 0 {
				// The chunk is applied: its log rows no longer count
				// as pending for the next chunk's source lookups.
				tail.Queue("DELETE FROM "+p.t("_log")+" WHERE id = ANY($1::int8[])", chunk.ids)
			}
			if err := tx.SendBatch(ctx, tail).Close(); err != nil {
				return st, failed, err
			}
			if chunk, err = p.nextChunk(ctx, tx); err != nil {
				return st, failed, err
			}
			if len(chunk.rows) > 0 {
				continue
			}
			tail = &pgx.Batch{}
		}
		// The step's last writes and its record go in one round trip.
		p.queueFinish(tail, slices.Sorted(maps.Keys(xacts)), st, changes, publish, start)
		if err := tx.SendBatch(ctx, tail).Close(); err != nil {
			return st, failed, err
		}
		return st, failed, p.sweepIfDue(ctx, tx, st.LogRows, steps+1, now)
	}
}

// keepChanges adds a chunk's output changes to those of its step so far,
// unless OmitChanges says no one reads them.
func (p *Runner) keepChanges(kept, chunk map[string]*zset.ZSet) map[string]*zset.ZSet {
	if p.OmitChanges {
		return nil
	}
	if kept == nil {
		return chunk
	}
	for view, d := range chunk {
		if kept[view] == nil {
			kept[view] = zset.New()
		}
		d.Each(func(row zset.Row, w int64) { kept[view].Add(row, w) })
	}
	return kept
}

// A step takes the source transactions with a row among the log's
// oldest limit rows (all of it for 0), whole. A transaction's rows become
// visible together at its commit, so none is ever split across steps,
// however large (an update's new row may be logged before its old one, a
// nested trigger's changes before the statement that caused them).

// openStep begins a step in one round trip: beginStep's statements, then
// the opening of the cursor nextChunk reads the step's changes from, and
// its first chunk. The cursor holds the rows of the step's transactions,
// locked, and consolidated by source and row (as captured, so by
// representation) in the server; each consolidated change carries the
// transactions of its rows, for the step to delete at its end.
//
// Consolidated, a step's changes are a Z-set whose retractions are all of
// rows that existed before it, so they can be applied a chunk at a time
// in any order, each chunk leaving the sources in a state they could
// have had: nested triggers log a row's update before its insertion,
// which consolidation cancels. All chunks are applied in the step's one
// Postgres transaction, so the runner's memory is bounded by the chunk
// (BatchSize entries), not by the size of the source transactions.
//
// FOR UPDATE: should two runtimes ever apply at once (the advisory lock
// lost with its connection), the second waits for the first's step and
// then skips the rows it deleted, so no change is applied twice.
func (p *Runner) openStep(ctx context.Context, tx pgx.Tx, limit int) (steps int64, publish bool, first changeChunk, err error) {
	which := ""
	if limit > 0 {
		which = " WHERE xact IN (SELECT xact FROM " + p.t("_log") + " ORDER BY id LIMIT " + strconv.Itoa(limit) + ")"
	}
	sql := p.beginStepSQL() + ";\n" +
		"DECLARE _stepping_changes NO SCROLL CURSOR FOR SELECT min(id), source, sum(weight)::int8, count(*)::int8, row::text, array_agg(DISTINCT xact::text), array_agg(id) FROM (SELECT id, source, weight, row, xact FROM " + p.t("_log") +
		which + " FOR UPDATE) l GROUP BY source, row::text ORDER BY min(id);\n" +
		p.fetchSQL()
	results, err := tx.Conn().PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return 0, false, first, err
	}
	if steps, publish, err = p.stepBegun(results); err != nil {
		return 0, false, first, err
	}
	if len(results) != 4 {
		return 0, false, first, fmt.Errorf("beginning a step: %d answers to %s", len(results), sql)
	}
	first, err = readChunk(results[3])
	return steps, publish, first, err
}

func (p *Runner) fetchSQL() string {
	return "FETCH " + strconv.Itoa(p.batchSize()) + " FROM _stepping_changes"
}

// changeChunk is a chunk of a step's consolidated changes: at most
// BatchSize of them, the log rows they add up (and their ids), and the
// source transactions of those rows.
type changeChunk struct {
	rows    []logRow
	logRows int
	ids     []string
	xacts   []string
}

// nextChunk reads the next chunk of the cursor openStep opened.
func (p *Runner) nextChunk(ctx context.Context, tx pgx.Tx) (changeChunk, error) {
	results, err := tx.Conn().PgConn().Exec(ctx, p.fetchSQL()).ReadAll()
	if err != nil {
		return changeChunk{}, err
	}
	return readChunk(results[0])
}

// readChunk reads the rows of a FETCH from the cursor openStep opened, in
// text form: id, source, weight, log rows, row, transactions, log ids.
func readChunk(r *pgconn.Result) (changeChunk, error) {
	var c changeChunk
	for _, f := range r.Rows {
		if len(f) != 7 {
			return c, fmt.Errorf("reading the change log: %d columns, want 7", len(f))
		}
		id, err1 := strconv.ParseInt(string(f[0]), 10, 64)
		w, err2 := strconv.ParseInt(string(f[2]), 10, 64)
		n, err3 := strconv.Atoi(string(f[3]))
		if err := errors.Join(err1, err2, err3); err != nil {
			return c, fmt.Errorf("reading the change log: %w", err)
		}
		c.rows = append(c.rows, logRow{id: id, source: string(f[1]), weight: w, row: f[4]})
		c.logRows += n
		// An array of xid8s prints as {1,2}: digits and commas only.
		c.xacts = append(c.xacts, strings.Split(strings.Trim(string(f[5]), "{}"), ",")...)
		c.ids = append(c.ids, strings.Split(strings.Trim(string(f[6]), "{}"), ",")...)
	}
	return c, nil
}

// stepChunk computes log rows as (part of) step steps+1 in tx and
// returns its writes unsent: the state's, the outputs' and, with publish,
// the publishing of the outputs' changes, for the caller to send in one
// round trip (with the step's record, after its last chunk). Every chunk
// of a step has the step's number: the changes published under it add up
// to the step's.
func (p *Runner) stepChunk(ctx context.Context, tx pgx.Tx, chunk []logRow, steps int64, now time.Time, publish bool, marks *stepMarks) (*runtime.Result, *pgx.Batch, error) {
	deltas, err := p.decode(chunk)
	if err != nil {
		return nil, nil, err
	}
	tail := &pgx.Batch{}
	store, err := p.newStore(ctx, tx, nil)
	if err != nil {
		return nil, nil, err
	}
	store.DeferWrites(tail)
	eng := runtime.NewWithOptions(p.Circuit, store, runtime.Options{NoContents: true, StepsDone: steps, ManualSweep: true, OutputsOnly: true})
	if err := marks.begin(ctx, p, tx, eng); err != nil {
		return nil, nil, err
	}
	res, err := eng.StepDeltaAt(ctx, now, deltas)
	if err != nil {
		return nil, nil, err
	}
	if err := p.queueMarks(tail, marks.end(eng)); err != nil {
		return nil, nil, err
	}
	if err := p.writeOutputs(ctx, tx, res, tail); err != nil {
		return nil, nil, err
	}
	if publish {
		if err := p.publishChanges(tail, res); err != nil {
			return nil, nil, err
		}
	}
	return res, tail, nil
}

// queueFinish queues the record of a step whose chunks are all applied: its
// statistics (changes output changes, published or not), the removal of
// its transactions from the log, the metadata, and the notification of
// watchers (sent at commit).
func (p *Runner) queueFinish(b *pgx.Batch, xacts []string, st StepStats, changes int, published bool, start time.Time) {
	p.publishStep(b, st.Step, st.LogRows, changes, published, time.Since(start))
	b.Queue("DELETE FROM "+p.t("_log")+" WHERE xact = ANY($1::xid8[])", xacts)
	b.Queue("UPDATE "+p.t("_meta")+` AS m SET value = v.value
  FROM (VALUES ('steps', $1::text), ('applied', ((SELECT value FROM `+p.t("_meta")+` WHERE key = 'applied')::bigint + $2)::text), ('last_step_at', $3)) AS v(key, value)
 WHERE m.key = v.key`, strconv.FormatInt(st.Step, 10), st.LogRows, time.Now().UTC().Format(time.RFC3339Nano))
	b.Queue("DELETE FROM " + p.t("_meta") + " WHERE key = 'failure'")
}

// stepTime is the time of a step: the Clock when set, otherwise the
// time of the step's transaction.
func (p *Runner) stepTime(ctx context.Context, tx pgx.Tx) (time.Time, error) {
	switch {
	case p.Clock != nil:
		return p.Clock(), nil
	case p.Circuit.Clock == nil:
		// The program does not read the clock: save the round trip.
		return time.Now(), nil
	}
	var t time.Time
	err := tx.QueryRow(ctx, "SELECT transaction_timestamp()").Scan(&t)
	return t, err
}

// decode turns log rows into a Z-set of changes per source.
func (p *Runner) decode(batch []logRow) (map[string]*zset.ZSet, error) {
	inputs := map[string]*ir.Input{}
	for _, in := range p.Circuit.Inputs {
		inputs[in.Name] = in
	}
	deltas := map[string]*zset.ZSet{}
	var parser fastjson.Parser
	for _, l := range batch {
		in, ok := inputs[l.source]
		if !ok {
			return nil, fmt.Errorf("change log row %d names unknown source %s", l.id, l.source)
		}
		row, err := p.decodeRow(&parser, in, l.id, l.row)
		if err != nil {
			return nil, err
		}
		d, ok := deltas[l.source]
		if !ok {
			d = zset.New()
			deltas[l.source] = d
		}
		d.Add(row, l.weight)
	}
	return deltas, nil
}

// newStore returns a store reading and writing through tx, with the
// program's source-backed integrals, whose sources' rows bounds limits
// (see Store.bounds).
func (p *Runner) newStore(ctx context.Context, tx pgx.Tx, bounds map[string]string) (*Store, error) {
	sources, err := p.sourceIndexes(ctx, tx)
	if err != nil {
		return nil, err
	}
	store := NewStore(p.Schema)
	store.Begin(tx)
	store.sources, store.bounds = sources, bounds
	return store, nil
}

// decodeRow reads a row of source in as captured (to_json), log row id
// (0 when it comes from elsewhere), with parser, which the caller reuses
// across rows (the values it returns are copied out of it).
//
// It parses with fastjson, not encoding/json: every change and every
// row a source-backed lookup reads comes this way, and decoding into
// maps by reflection was about 40% of a step's time in Go. Each value
// reaches types.FromJSON as encoding/json would give it (a number as its
// literal text, a string unescaped), so the rows are the same: values of
// other JSON shapes (arrays, records, jsonb) take encoding/json's path.
func (p *Runner) decodeRow(parser *fastjson.Parser, in *ir.Input, id int64, text []byte) (zset.Row, error) {
	v, err := parser.ParseBytes(text)
	if err != nil {
		return nil, fmt.Errorf("change log row %d: %w", id, err)
	}
	obj, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("change log row %d: %w", id, err)
	}
	row := make(zset.Row, len(in.Columns))
	for i, c := range in.Columns {
		raw := obj.Get(c.Name)
		if raw == nil {
			return nil, &DriftError{Table: p.sourceName(in), Column: c.Name, LogID: id}
		}
		v, err := fromLogValue(raw, c.Type)
		if err != nil {
			return nil, &DriftError{Table: p.sourceName(in), Column: c.Name, LogID: id, Err: err}
		}
		row[i] = v
	}
	return row, nil
}

// fromLogValue reads a value of type t from its JSON in the change log.
func fromLogValue(v *fastjson.Value, t types.Type) (any, error) {
	switch t.Kind {
	case types.JSONB, types.Array, types.Record:
		return fromLogText(v, t)
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, nil
	case fastjson.TypeNumber:
		return fromLogJSON(json.Number(v.MarshalTo(nil)), t)
	case fastjson.TypeString:
		b, err := v.StringBytes()
		if err != nil {
			return nil, err
		}
		return fromLogJSON(string(b), t)
	case fastjson.TypeTrue:
		return fromLogJSON(true, t)
	case fastjson.TypeFalse:
		return fromLogJSON(false, t)
	}
	return fromLogText(v, t) // an object or array where a scalar belongs: FromJSON says so
}

// fromLogText reads a value of type t from its JSON text by way of
// encoding/json, as values were read before fromLogValue.
func fromLogText(v *fastjson.Value, t types.Type) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(v.MarshalTo(nil)))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return fromLogJSON(x, t)
}

// writeOutputs applies a step's view changes to the output tables: all
// the retractions of a table in one DELETE (each row's copies numbered,
// and as many deleted as retracted), then the insertions by COPY.
func (p *Runner) writeOutputs(ctx context.Context, tx pgx.Tx, res *runtime.Result, b *pgx.Batch) error {
	for _, o := range p.Circuit.Outputs {
		d, ok := res.Changes[o.View.Name]
		if !ok {
			continue
		}
		table := p.outputTable(o)
		cols := o.View.Columns
		var delRows, insRows []map[string]any
		var delCounts []int64
		var inserts [][]any
		var insEntries []zset.Entry
		object := func(row zset.Row) map[string]any {
			obj := make(map[string]any, len(cols))
			for i, v := range row {
				obj[cols[i].Name] = toJSON(v, cols[i].Type)
			}
			return obj
		}
		for _, e := range d.Entries() {
			if e.Weight < 0 {
				delRows = append(delRows, object(e.Row))
				delCounts = append(delCounts, -e.Weight)
				continue
			}
			vals := make([]any, len(cols))
			for i, v := range e.Row {
				vals[i] = toPG(v, cols[i].Type)
			}
			for range e.Weight {
				inserts = append(inserts, vals)
			}
			insEntries = append(insEntries, e)
		}
		if len(inserts) < copyAfter {
			// Inserted as JSON in the step's batch; COPY takes the values.
			for _, e := range insEntries {
				obj := object(e.Row)
				for range e.Weight {
					insRows = append(insRows, obj)
				}
			}
		}
		var delJSON, insJSON []byte
		var err error
		if len(delRows) > 0 {
			if delJSON, err = json.Marshal(delRows); err != nil {
				return fmt.Errorf("output %s: %w", table, err)
			}
		}
		if len(inserts) < copyAfter {
			// Small changes ride in the step's batch, deletes first (a
			// key may be deleted and inserted again): no round trip of
			// their own.
			if len(delRows) > 0 {
				b.Queue(p.deleteSQL(table, cols), string(delJSON), delCounts)
			}
			if len(insRows) > 0 {
				if insJSON, err = json.Marshal(insRows); err != nil {
					return fmt.Errorf("output %s: %w", table, err)
				}
				b.Queue(p.insertSQL(table, cols), string(insJSON))
			}
			continue
		}
		if len(delRows) > 0 {
			if _, err := tx.Exec(ctx, p.deleteSQL(table, cols), string(delJSON), delCounts); err != nil {
				return fmt.Errorf("output %s: %w", table, err)
			}
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		target := pgx.Identifier{p.Schema, o.View.Name}
		if o.Table != nil {
			target = pgx.Identifier(o.Table)
		}
		if _, err := tx.CopyFrom(ctx, target, names, pgx.CopyFromRows(inserts)); err != nil {
			return fmt.Errorf("output %s: %w", table, err)
		}
	}
	return nil
}

// looseEquality reports whether Postgres's = on values of type t can hold
// between values that differ in representation.
func looseEquality(t types.Type) bool {
	switch t.Kind {
	case types.Numeric, types.Float4, types.Float8, types.Interval, types.JSONB, types.Array, types.Record:
		return true
	}
	return false
}

// copyAfter is how many inserted rows make an output's insertions a COPY
// of their own rather than a statement in the step's batch.
const copyAfter = 1000

// insertSQL inserts the rows of the JSON array $1, read into the table's
// own row type as deleteSQL reads them.
func (p *Runner) insertSQL(table string, cols []ir.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = ident(c.Name)
	}
	list := strings.Join(names, ", ")
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM json_populate_recordset(NULL::%s, $1::json)", table, list, list, table)
}

// deleteSQL deletes, for each row of the JSON array $1 (read into the
// table's own row type, so every column type arrives as itself) with its
// count in $2, that many copies of the row. Each row is looked up on its
// own (LATERAL ... LIMIT), so an index of the table serves it and a step's
// cost follows its changes, not the table's size. Non-null columns
// compare with =, which indexes can use. A row is removed by its
// representation, not by =: where a type's = is looser than identity
// (1.5 = 1.50, -0 = 0, '1 day' = '24 hours'), the text forms must match
// too, so two retractions never take one physical row and leave the
// other spelling behind.
func (p *Runner) deleteSQL(table string, cols []ir.Column) string {
	var conds []string
	for _, c := range cols {
		name := ident(c.Name)
		op := " = "
		if c.Type.Nullable {
			op = " IS NOT DISTINCT FROM "
		}
		conds = append(conds, "t."+name+op+"d."+name)
		if looseEquality(c.Type) {
			conds = append(conds, "t."+name+"::text"+op+"d."+name+"::text")
		}
	}
	return fmt.Sprintf(`DELETE FROM %s WHERE ctid = ANY(ARRAY(
  SELECT x.ctid
    FROM ROWS FROM (json_populate_recordset(NULL::%s, $1::json)) WITH ORDINALITY AS d
    JOIN unnest($2::int8[]) WITH ORDINALITY AS c(n, ordinality) USING (ordinality),
    LATERAL (SELECT t.ctid FROM %s t WHERE %s LIMIT c.n) x))`,
		table, table, table, strings.Join(conds, " AND "))
}

// Run sets up, takes the lock, and applies changes as they come: it
// sleeps on LISTEN until the capture triggers signal, and polls every
// poll interval as a safety net. With once it applies what is pending and
// returns. A lost connection is retried with backoff; since each batch is
// one transaction, nothing is lost or applied twice.
func (p *Runner) Run(ctx context.Context, rebuild, once bool, poll time.Duration, each func(StepStats)) error {
	if err := p.Setup(ctx, rebuild); err != nil {
		return err
	}
	if once {
		release, err := p.Lock(ctx)
		if err != nil {
			return err
		}
		defer release()
		_, err = p.ApplyPending(ctx, each)
		return err
	}
	backoff := 100 * time.Millisecond
	for {
		err := p.listenAndApply(ctx, poll, each)
		if ctx.Err() != nil {
			return nil
		}
		if permanent(err) {
			return err
		}
		p.logf("error: %v; retrying in %s", err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// preparedPoll is how often the runner looks for changes on a cluster
// whose capture triggers do not NOTIFY.
const preparedPoll = 100 * time.Millisecond

// listenAndApply holds the program's lock on the connection it listens
// on: if that connection is lost, the lock goes with it, this returns,
// and Run takes the lock again (waiting if another runtime took over)
// before applying anything more.
func (p *Runner) listenAndApply(ctx context.Context, poll time.Duration, each func(StepStats)) error {
	conn, err := p.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := p.lockOn(ctx, conn); err != nil {
		return err
	}
	defer p.unlockOn(conn)
	if _, err := conn.Exec(ctx, "LISTEN "+ident(p.channel())); err != nil {
		return err
	}
	var preparable int
	if err := conn.QueryRow(ctx, "SELECT current_setting('max_prepared_transactions')::int").Scan(&preparable); err != nil {
		return err
	}
	if preparable > 0 && poll > preparedPoll {
		// Capture does not NOTIFY where transactions can be prepared
		// (see captureFunctionsDDL): look for changes more often.
		p.logf("this cluster allows prepared transactions, which may not NOTIFY: looking for changes every %s", preparedPoll)
		poll = preparedPoll
	}
	for {
		if _, err := p.ApplyPending(ctx, each); err != nil {
			return err
		}
		if !p.caughtUp {
			// Said once: a script started the runner in the background
			// waits for this line before it reads the outputs.
			p.caughtUp = true
			steps, _ := p.meta(ctx, p.Pool, "steps")
			p.logf("caught up at step %s; applying changes as they come", steps)
		}
		wait, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.Conn().WaitForNotification(wait)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}
