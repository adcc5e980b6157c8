package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// confirmApply asks, when stdin is a terminal, whether to apply the
// change of a program that changed since its state was built, showing
// what applying it does.
func confirmApply(ctx context.Context, pg *postgres.Runner, stdin io.Reader, stderr io.Writer) bool {
	f, ok := stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return false
	}
	ch, err := pg.PlanChange(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "stepq: %v\n", err)
		return false
	}
	fmt.Fprintf(stderr, "stepq: program %s changed since its state was built. Applying the change:\n", pg.Schema)
	writeChange(stderr, ch)
	fmt.Fprint(stderr, "Apply it? [y/N] ")
	answer, _ := bufio.NewReader(stdin).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes")
}

// writeChange prints what applying a change does.
func writeChange(w io.Writer, ch *postgres.Change) {
	line := func(what string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(w, "  %-9s %s\n", what, strings.Join(names, ", "))
		}
	}
	line("keeps", ch.Kept)
	line("rebuilds", ch.Rebuilt)
	line("checks", ch.Checked)
	if len(ch.Checked) > 0 {
		fmt.Fprintln(w, "            (their sources gained columns they do not use: each is computed again, and its table kept if the rows come out the same)")
	}
	line("adds", ch.Added)
	line("removes", ch.Removed)
	fmt.Fprintf(w, "  keeps the state of %d %s, builds %d afresh", ch.KeptState, plural(int64(ch.KeptState), "operator", "operators"), ch.FreshState)
	if len(ch.Reads) > 0 {
		fmt.Fprintf(w, " from %s", strings.Join(ch.Reads, ", "))
	}
	fmt.Fprintln(w)
}

// dbOptions are the flags of stepq run --db.
type dbOptions struct {
	file, url, schema      string
	once, rebuild, changes bool
	apply, dropRemoved     bool
	// wait bounds the waits at start: for the database to be reachable
	// and for another runtime to release the program; 0 means as long as
	// it takes (but --once does not wait for an unreachable database).
	format          outputFormat
	wait            time.Duration
	log             logOptions
	batch           int
	backfillRows    int
	noSourceIndexes bool
}

// runDB keeps a program's outputs up to date in Postgres until
// interrupted, or applies what is pending with once.
func runDB(ctx context.Context, o dbOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	file, schema := o.file, o.schema
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if schema == "" {
		schema = defaultSchema(file)
	}
	retry := o.wait
	if !o.once && retry == 0 {
		retry = forever
	}
	db, err := connectRetrying(ctx, o.url, retry, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	prog, err := compileFile(ctx, file, db)
	if err != nil {
		return driftHint(ctx, db, schema, file, err)
	}
	// Messages go through the progress bar, which moves out of their way.
	bar := newProgressBar(stderr)
	logger, err := o.log.logger(bar)
	if err != nil {
		return err
	}
	pg := &postgres.Runner{Pool: db, Circuit: prog.Circuit, Schema: schema, Log: bar, Logger: logger, BatchSize: o.batch, OmitChanges: !o.changes, BackfillRows: o.backfillRows, NoSourceIndexes: o.noSourceIndexes,
		Apply: o.apply, DropRemoved: o.dropRemoved, LockWait: o.wait}
	if (o.log.format == "" || o.log.format == "plain") && !o.log.quiet {
		pg.Progress = bar.show
	}
	out := &printer{w: stdout, format: o.format}
	each := func(st postgres.StepStats) {
		if logger != nil {
			logger.Debug(fmt.Sprintf("step %d: %d changes in %s", st.Step, st.LogRows, st.Duration.Round(time.Microsecond)),
				"program", schema, "step", st.Step, "changes", st.LogRows, "duration", st.Duration)
		}
		if !o.changes {
			return
		}
		for _, v := range prog.OutputViews() {
			if d, ok := st.Changes[v.Name]; ok {
				_ = out.changes(st.Step, v.Name, v.Columns, d)
			}
		}
	}
	if !o.once && !o.log.quiet {
		fmt.Fprintf(bar, "stepq: keeping %s up to date in schema %s; Ctrl-C stops\n", file, schema)
	}
	err = pg.Run(ctx, o.rebuild, o.once, time.Second, each)
	if errors.Is(err, postgres.ErrVersion) && confirmApply(ctx, pg, stdin, stderr) {
		pg.Apply = true
		err = pg.Run(ctx, false, o.once, time.Second, each)
	}
	if errors.Is(err, postgres.ErrVersion) || errors.Is(err, postgres.ErrLockWait) {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	if err != nil && ctx.Err() != nil {
		// Ctrl-C: whatever was under way (waiting for the lock, a step,
		// an apply) rolled back whole; what committed stays.
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: interrupted; program %s is as its last committed step left it\n", schema)}
	}
	var failure *postgres.Failure
	if errors.As(err, &failure) && len(stepping.Diagnostics(err)) > 0 {
		// Where in the program, as a type error shows it; then the
		// failure, which says which change caused it and what to do.
		return &exitError{code: 1, msg: failureText(prog, err, true)}
	}
	return err
}

func cmdDrop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("drop", "drop --db URL [--outputs] [--schema S] FILE", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL (default: $DATABASE_URL, or libpq's PG* variables when set)")
	outputs := fs.Bool("outputs", false, "also drop the output tables")
	schema := fs.String("schema", "", "the program's own schema (default stepping_ and the file's name)")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *dbURL == "" {
		*dbURL = dbFromEnv()
	}
	if *dbURL == "" {
		return usageError("drop needs --db URL (or $DATABASE_URL, or libpq's PG* variables)")
	}
	db, prog, err := connectCompile(ctx, *dbURL, file)
	if err != nil {
		return err
	}
	defer db.Close()
	if *schema == "" {
		*schema = defaultSchema(file)
	}
	pg := &postgres.Runner{Pool: db, Circuit: prog.Circuit, Schema: *schema, Log: stderr}
	return pg.Drop(ctx, *outputs)
}

func cmdWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("watch", "watch --db URL [--schema S] [--from N | --no-snapshot] [--count N] [--format F] FILE VIEW", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL (default: $DATABASE_URL, or libpq's PG* variables when set)")
	schema := fs.String("schema", "", "the program's own schema (default stepping_ and the file's name)")
	from := fs.Int64("from", 0, "print the kept steps from step N on first (default: only steps after now)")
	count := fs.Int("count", 0, "exit after printing N steps (default: run until interrupted)")
	noSnapshot := fs.Bool("no-snapshot", false, "print only the changes, not the view's rows first")
	formatName := fs.String("format", "aligned", "how changes are printed: aligned (tables, for people), jsonl (a JSON object per changed row: step, view, weight, row) or csv")
	pos, err := parseArgs(fs, args, 2, 2, "FILE and VIEW")
	if err != nil {
		return err
	}
	format, err := parseFormat(*formatName)
	if err != nil {
		return err
	}
	out := &printer{w: stdout, format: format}
	file, view := pos[0], pos[1]
	if *dbURL == "" {
		*dbURL = dbFromEnv()
	}
	if *dbURL == "" {
		return usageError("watch needs --db URL (or $DATABASE_URL, or libpq's PG* variables)")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, prog, err := connectCompile(ctx, *dbURL, file)
	if err != nil {
		return err
	}
	defer db.Close()
	v := prog.View(view)
	if v == nil || !isOutput(prog, view) {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %s is not an output of %s: only outputs are published (outputs: %s)\n", view, file, strings.Join(outputNames(prog), ", "))}
	}
	if *schema == "" {
		*schema = defaultSchema(file)
	}
	pg := &postgres.Runner{Pool: db, Circuit: prog.Circuit, Schema: *schema}
	// Registered, every later step publishes its changes: the position
	// printed is the one registering read, so no step is missed.
	w, err := pg.Register(ctx)
	if errors.Is(err, postgres.ErrNotInstalled) {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %s has not been run in schema %s: there is nothing to watch yet; start it with stepq run --db URL %s (or name its schema with --schema)\n", file, *schema, file)}
	}
	if err != nil {
		return err
	}
	defer w.Close()
	after := *from - 1
	if *from <= 0 {
		after = w.Since
		if !*noSnapshot {
			// The rows first, then the steps after the one they show:
			// registered before reading, every later step is published.
			rows, step, err := pg.ReadOutputAt(ctx, view, nil)
			if err != nil {
				return err
			}
			if format == formatAligned {
				fmt.Fprintf(stdout, "step %d: %s (its rows)\n", step, view)
				if err := tablefmt.Write(stdout, v.Columns, rows, false); err != nil {
					return err
				}
				fmt.Fprintln(stdout)
			} else if err := out.changes(step, view, v.Columns, rows); err != nil {
				// For programs: the rows are the changes from nothing.
				return err
			}
			after = step
		}
	}
	fmt.Fprintf(stderr, "stepq: watching %s of %s in schema %s after step %d; Ctrl-C stops\n", view, file, *schema, after)
	printed := 0
	errDone := errors.New("done")
	err = w.Follow(ctx, after, time.Second, func(sc runtime.StepChanges) error {
		d, ok := sc.Changes[view]
		if !ok {
			return nil
		}
		if format == formatAligned {
			fmt.Fprintf(stdout, "step %d: %s\n", sc.Step, view)
			if err := tablefmt.Write(stdout, v.Columns, d, true); err != nil {
				return err
			}
			fmt.Fprintln(stdout)
		} else if err := out.changes(sc.Step, view, v.Columns, d); err != nil {
			return err
		}
		printed++
		if *count > 0 && printed >= *count {
			return errDone
		}
		return nil
	})
	if errors.Is(err, errDone) || ctx.Err() != nil {
		return nil
	}
	return err
}

func isOutput(prog *compile.Program, view string) bool {
	for _, o := range prog.Circuit.Outputs {
		if o.View.Name == view {
			return true
		}
	}
	return false
}

func outputNames(prog *compile.Program) []string {
	var out []string
	for _, o := range prog.Circuit.Outputs {
		out = append(out, o.View.Name)
	}
	return out
}

// statusJSON is the JSON form of a program's status.
type statusJSON struct {
	Schema          string       `json:"schema"`
	Version         string       `json:"version"`
	FileVersion     string       `json:"file_version,omitempty"`
	Steps           int64        `json:"steps"`
	Applied         int64        `json:"changes_applied"`
	LastStepAt      *time.Time   `json:"last_step_at"`
	Pending         int64        `json:"pending"`
	OldestPendingAt *time.Time   `json:"oldest_pending_at"`
	LagSeconds      float64      `json:"lag_seconds"`
	RunnerPID       int          `json:"runner_pid"`
	Watchers        int          `json:"watchers"`
	ChangesFrom     int64        `json:"changes_kept_from"`
	Failure         string       `json:"failure,omitempty"`
	Recent          []stepRecord `json:"recent_steps"`
	Watermarks      []watermark  `json:"watermarks,omitempty"`
}

// watermark is a source's watermark as status shows it.
type watermark struct {
	Table           string     `json:"table"`
	Column          string     `json:"column"`
	LatenessSeconds float64    `json:"lateness_seconds"`
	Watermark       *time.Time `json:"watermark"` // null before a row came
	Late            int64      `json:"late"`
}

type stepRecord struct {
	Step       int64     `json:"step"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	LogRows    int       `json:"log_rows"`
	Changes    int       `json:"changes"`
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", "status --db URL [--json] [--schema S] [--recent N] [FILE]", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL (default: $DATABASE_URL, or libpq's PG* variables when set)")
	schema := fs.String("schema", "", "the program's own schema (default: FILE's, stepping_ and its name; without FILE, every program)")
	asJSON := fs.Bool("json", false, "print a JSON array with one object per program")
	recent := fs.Int("recent", 10, "how many recent steps to list (the last 100 are kept)")
	files, err := parseArgs(fs, args, 0, 1, "at most one FILE")
	if err != nil {
		return err
	}
	if *dbURL == "" {
		*dbURL = dbFromEnv()
	}
	if *dbURL == "" {
		return usageError("status needs --db URL (or $DATABASE_URL, or libpq's PG* variables)")
	}
	db, err := connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var prog *compile.Program
	if len(files) == 1 {
		if *schema == "" {
			*schema = defaultSchema(files[0])
		}
		if prog, err = compileFile(ctx, files[0], db); err != nil {
			// The program's status matters most when its sources have
			// changed under it: show it without the file's version.
			var exit *exitError
			if !errors.As(err, &exit) {
				return err
			}
			fmt.Fprintf(stderr, "%sstepq: %s does not compile against the database (were its sources altered?); its installed status follows\n", exit.msg, files[0])
		}
	}
	schemas := []string{*schema}
	if *schema == "" {
		if schemas, err = postgres.Programs(ctx, db); err != nil {
			return err
		}
	}
	var all []statusJSON
	for _, sc := range schemas {
		pg := &postgres.Runner{Pool: db, Schema: sc}
		if prog != nil {
			pg.Circuit = prog.Circuit
		}
		st, err := pg.Status(ctx, *recent)
		if errors.Is(err, postgres.ErrNotInstalled) && *schema == "" {
			continue // dropped, or not yet installed, since it was listed
		}
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
		j := toStatusJSON(st)
		if prog != nil {
			j.FileVersion = pg.Version()
		}
		all = append(all, j)
	}
	if *asJSON {
		if all == nil {
			all = []statusJSON{}
		}
		return writeJSON(stdout, all)
	}
	if len(all) == 0 {
		fmt.Fprintln(stdout, "no programs installed")
	}
	for i, st := range all {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		writeStatus(stdout, st)
	}
	return nil
}

func toStatusJSON(st *postgres.Status) statusJSON {
	j := statusJSON{Schema: st.Schema, Version: st.Version, Steps: st.Steps, Applied: st.Applied, Pending: st.Pending, RunnerPID: st.RunnerPID, Watchers: st.Watchers, ChangesFrom: st.ChangesFrom, Failure: st.Failure, Recent: []stepRecord{}}
	if !st.LastStepAt.IsZero() {
		t := st.LastStepAt
		j.LastStepAt = &t
	}
	if !st.OldestPending.IsZero() {
		t := st.OldestPending
		j.OldestPendingAt = &t
		j.LagSeconds = time.Since(t).Seconds()
	}
	for _, r := range st.Recent {
		j.Recent = append(j.Recent, stepRecord{Step: r.Step, At: r.At, DurationMS: float64(r.Duration.Microseconds()) / 1000, LogRows: r.LogRows, Changes: r.Changes})
	}
	for _, m := range st.Watermarks {
		w := watermark{Table: m.Table, Column: m.Column, LatenessSeconds: m.Lateness.Seconds(), Late: m.Late}
		if m.Set {
			t := m.Watermark()
			w.Watermark = &t
		}
		j.Watermarks = append(j.Watermarks, w)
	}
	return j
}

// writeStatus prints one program's status for people.
func writeStatus(w io.Writer, st statusJSON) {
	fmt.Fprintf(w, "program %s\n", st.Schema)
	version := st.Version
	if st.FileVersion != "" && st.FileVersion != st.Version {
		version += " (the file compiles to " + st.FileVersion + ": run --rebuild to apply it)"
	}
	fmt.Fprintf(w, "  version:  %s\n", version)
	runner := "not running"
	if st.RunnerPID != 0 {
		runner = fmt.Sprintf("running (backend pid %d)", st.RunnerPID)
	}
	fmt.Fprintf(w, "  runtime:  %s\n", runner)
	if st.Failure != "" {
		fmt.Fprintf(w, "  stopped:  %s\n", st.Failure)
	}
	last := "never"
	if st.LastStepAt != nil {
		last = fmt.Sprintf("%s ago", time.Since(*st.LastStepAt).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  applied:  %d steps, %d changes; last step %s\n", st.Steps, st.Applied, last)
	lag := "none"
	if st.OldestPendingAt != nil {
		lag = fmt.Sprintf("oldest captured %s ago", time.Since(*st.OldestPendingAt).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  pending:  %d changes; %s\n", st.Pending, lag)
	// Steps publish their changes only while someone watches.
	kept := "none kept"
	if st.ChangesFrom <= st.Steps {
		kept = fmt.Sprintf("kept from step %d", st.ChangesFrom)
	}
	fmt.Fprintf(w, "  watchers: %d; step changes %s\n", st.Watchers, kept)
	for _, m := range st.Watermarks {
		at := "none yet"
		if m.Watermark != nil {
			at = m.Watermark.UTC().Format("2006-01-02 15:04:05.999999")
		}
		fmt.Fprintf(w, "  watermark: %s.%s at %s (lateness %s); %d late changes dropped\n",
			m.Table, m.Column, at, time.Duration(m.LatenessSeconds*float64(time.Second)), m.Late)
	}
	if len(st.Recent) == 0 {
		return
	}
	fmt.Fprintln(w, "  recent steps:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "    step\tcommitted\tduration\tlog rows\tchanges\t")
	for _, r := range st.Recent {
		fmt.Fprintf(tw, "    %d\t%s\t%.3f ms\t%d\t%d\t\n", r.Step, r.At.Local().Format("2006-01-02 15:04:05.000"), r.DurationMS, r.LogRows, r.Changes)
	}
	tw.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// connectCompile connects to the database at url and compiles file
// against its catalog. The caller closes the pool.
// driftHint adds to a compile error of an installed program what to do:
// its source tables no longer match it.
func driftHint(ctx context.Context, db *pgxpool.Pool, schema, file string, err error) error {
	var exit *exitError
	installed, lerr := postgres.Programs(ctx, db)
	if !errors.As(err, &exit) || lerr != nil || !slices.Contains(installed, schema) {
		return err
	}
	return &exitError{code: exit.code, msg: exit.msg + fmt.Sprintf(
		"stepq: program %s is installed from %s, and its sources no longer match it: change the program to match the tables and run with --rebuild (which replays from the sources), or restore the tables; captured changes wait in the log\n",
		schema, file)}
}

func connectCompile(ctx context.Context, url, file string) (*pgxpool.Pool, *compile.Program, error) {
	db, err := connect(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	prog, err := compileFile(ctx, file, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, prog, nil
}
