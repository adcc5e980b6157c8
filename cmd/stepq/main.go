// Command stepq checks, explains and runs stepping programs, in memory
// or against Postgres, and explores them in a REPL.
//
//	stepq check FILE            report every error in FILE
//	stepq explain FILE          print FILE's incremental circuit
//	stepq lock FILE             write FILE.lock, the circuit to commit
//	stepq plan FILE             what changed against FILE.lock
//	stepq run FILE [flags]      run FILE on change files, print its outputs
//	stepq repl [FILE]           declare, query and change tables interactively
//	stepq watch --db URL FILE VIEW    print a view's changes as they commit
//	stepq status --db URL [FILE]      progress, lag and recent steps
//	stepq serve [--db URL] FILE       serve FILE over HTTP
//	stepq drop --db URL FILE    remove what run installed
//	stepq gen go -o DIR FILE    write typed Go code for FILE
//	stepq version               the module and Go versions
//
// Wherever a command takes FILE, it also takes a directory whose *.step
// files, sorted by name, are one program.
//
// Exit status: 0 success, 1 errors in the program or its data, 2 usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/suggest"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
)

const usage = `stepq checks, explains and runs stepping programs.

Usage:
  stepq check [--db URL] [--json] [--locked] FILE
                                         report every error in FILE; with --locked,
                                         also fail when FILE differs from FILE.lock
  stepq lock [--db URL] FILE             write FILE.lock: FILE's circuit, to commit with it
  stepq plan [--db URL] [--schema S] [--json] FILE
                                         compare FILE with FILE.lock, or with --db with the
                                         deployed program: what changed, which views are
                                         rebuilt, which output tables replaced
  stepq explain [--db URL] [--json | --dot] FILE
                                         print FILE's incremental circuit
  stepq run [--data DIR] [--changes] [--format aligned|jsonl|csv] [--workers N] FILE
                                         run FILE on change files and print its outputs
  stepq run --db URL [--once] [--wait D] [--apply [--drop-removed] | --rebuild] [--schema S]
            [--changes] [--format F] [--batch N] [--backfill-rows N] [--no-source-indexes]
            [-v | -q] [--log-format plain|text|json] FILE
                                         keep FILE's output tables up to date in Postgres
  stepq repl [--db URL] [--echo] [FILE]  declare tables and views, query and change them
  stepq watch --db URL [--schema S] [--from N | --no-snapshot] [--count N] [--format F] FILE VIEW
                                         print VIEW's rows, then each committed step's changes
  stepq status --db URL [--json] [--schema S] [--recent N] [FILE]
                                         steps applied, lag and recent steps of programs
  stepq serve [--db URL] [--addr HOST:PORT] [--token T] [--read-token T] [--cors ORIGIN,...]
              [--max-body BYTES] [--journal FILE] [--keep-steps N] FILE
                                         serve FILE over HTTP: its API, change streams and metrics
  stepq drop --db URL [--outputs] [--schema S] FILE
                                         remove what run installed in Postgres
  stepq gen go [--db URL] [--package NAME] -o DIR FILE
                                         write typed Go code for FILE: structs, an HTTP
                                         client of stepq serve, embedding wrappers
  stepq version                          print the versions of stepq and Go

FILE may be a directory: its *.step files, sorted by name, are one program.
Run "stepq COMMAND --help" for a command's flags.
Exit status: 0 success, 1 errors in the program or its data, 2 usage.
`

// exitError carries an exit status up to main.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprint(os.Stderr, ee.msg)
		}
		os.Exit(ee.code)
	default:
		fmt.Fprintln(os.Stderr, "stepq:", err)
		os.Exit(1)
	}
}

func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf("stepq: "+format+"\n", args...) + usage}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &exitError{code: 1, msg: fmt.Sprintf("stepq: internal error: %v (please report this)\n", p)}
		}
	}()
	if len(args) == 0 {
		return usageError("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return cmdCheck(ctx, rest, stdout, stderr)
	case "lock":
		return cmdLock(ctx, rest, stdout, stderr)
	case "plan":
		return cmdPlan(ctx, rest, stdout, stderr)
	case "explain":
		return cmdExplain(ctx, rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdin, stdout, stderr)
	case "repl":
		return cmdRepl(ctx, rest, stdin, stdout, stderr)
	case "watch":
		return cmdWatch(ctx, rest, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "drop":
		return cmdDrop(ctx, rest, stdout, stderr)
	case "gen":
		return cmdGen(ctx, rest, stdout, stderr)
	case "version":
		return cmdVersion(rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		// "help -h" would come back here with the same arguments and
		// recurse without end: only a command name is asked for its help.
		if len(rest) == 1 && !isHelp(rest[0]) {
			return run(ctx, []string{rest[0], "--help"}, stdin, stdout, stdout)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	if hint := suggest.DidYouMean(cmd, commands); hint != "" {
		return usageError("unknown command %q (%s)", cmd, hint)
	}
	return usageError("unknown command %q", cmd)
}

// commands are the commands run knows, for the hint of an unknown one.
var commands = []string{"check", "lock", "plan", "explain", "run", "repl", "watch", "status", "serve", "drop", "gen", "version", "help"}

// isHelp reports whether arg asks for help rather than naming a command.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "--help", "-help":
		return true
	}
	return false
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: stepq %s\n", synopsis)
		printFlags(stderr, fs)
	}
	return fs
}

// printFlags lists a command's flags as flag.PrintDefaults does, but
// spelt --name, as the usage lines and the documentation spell them.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			line += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
}

// flagHint suggests, for a flag parse error about a flag the command
// does not have, the nearest flag it has.
func flagHint(fs *flag.FlagSet, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return ""
	}
	name = strings.TrimLeft(name, "-")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if hint := suggest.DidYouMean(name, names); hint != "" {
		best := strings.TrimSuffix(strings.TrimPrefix(hint, "did you mean "), "?")
		return "did you mean --" + best + "?"
	}
	return ""
}

// parseFlags parses flags that may come before or after the one FILE
// argument, and returns the file name.
func parseFlags(fs *flag.FlagSet, args []string) (string, error) {
	files, err := parseArgs(fs, args, 1, 1, "one FILE")
	if err != nil {
		return "", err
	}
	return files[0], nil
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns those, between least and most of
// them, which want describes for the error message.
func parseArgs(fs *flag.FlagSet, args []string, least, most int, want string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &exitError{code: 0}
			}
			if hint := flagHint(fs, err); hint != "" {
				fmt.Fprintf(fs.Output(), "stepq %s: %s\n", fs.Name(), hint)
			}
			return nil, &exitError{code: 2}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < least || len(pos) > most {
		fs.Usage()
		return nil, &exitError{code: 2, msg: fmt.Sprintf("stepq %s: want %s, got %d\n", fs.Name(), want, len(pos))}
	}
	return pos, nil
}

// compileFile reads and compiles a program, a file or a directory of
// .step files, turning program errors into exit status 1 with every
// diagnostic printed. With a pool, sources are typed from the database's
// catalog.
func compileFile(ctx context.Context, file string, db *pgxpool.Pool) (*compile.Program, error) {
	files, err := compile.ReadProgram(file)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	prog, err := compileFiles(ctx, file, files, db)
	var list lang.ErrorList
	if errors.As(err, &list) {
		n := len(list)
		msg := list.FormatFiles(files)
		if n > 1 {
			msg += fmt.Sprintf("%d errors\n", n)
		}
		return nil, &exitError{code: 1, msg: msg}
	}
	return prog, err
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "check [--db URL] [--json] [--locked] FILE", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL: type sources from its catalog")
	locked := fs.Bool("locked", false, "also fail when the program's circuit differs from FILE.lock (or there is none), printing the differences view by view")
	asJSON := fs.Bool("json", false, "print the diagnostics as a JSON array of objects (file, line, col, offset, end, message, hint) on standard output")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	db, err := connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	if !*asJSON {
		prog, err := compileFile(ctx, file, db)
		if err != nil || !*locked {
			return err
		}
		return checkLocked(prog, file, stdout)
	}
	prog, err := compileRaw(ctx, file, db)
	diags := stepping.Diagnostics(err)
	if err != nil && diags == nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	if diags == nil {
		diags = []stepping.Diagnostic{}
	}
	if err := writeJSON(stdout, diags); err != nil {
		return err
	}
	if len(diags) > 0 {
		return &exitError{code: 1}
	}
	if *locked {
		// The diagnostics went to standard output as JSON; the
		// differences go to standard error so as not to spoil it.
		return checkLocked(prog, file, stderr)
	}
	return nil
}

// compileRaw reads and compiles a program, a file or a directory,
// returning the compiler's error as it is.
func compileRaw(ctx context.Context, file string, db *pgxpool.Pool) (*compile.Program, error) {
	files, err := compile.ReadProgram(file)
	if err != nil {
		return nil, err
	}
	return compileFiles(ctx, file, files, db)
}

// compileFiles compiles files as the program named file; a nil pool is
// passed as a nil interface, not a typed nil.
func compileFiles(ctx context.Context, file string, files []lang.SourceFile, db *pgxpool.Pool) (*compile.Program, error) {
	if db != nil {
		return compile.CompileFiles(ctx, file, files, db)
	}
	return compile.CompileFiles(ctx, file, files, nil)
}

// compilePublic compiles the program at file, whose files have been
// read, through the public API: a directory with CompileDirDB, a file
// with Compile or CompileDB.
func compilePublic(ctx context.Context, file string, files []lang.SourceFile, db *pgxpool.Pool) (*stepping.Program, error) {
	if len(files) == 1 && files[0].Name == file {
		if db != nil {
			return stepping.CompileDB(ctx, file, files[0].Text, db)
		}
		return stepping.Compile(file, files[0].Text)
	}
	if db != nil {
		return stepping.CompileDirDB(ctx, file, db)
	}
	return stepping.CompileDir(file)
}

// textOf is the text of the file called name among files, for placing a
// diagnostic in it; empty when none has the name.
func textOf(files []lang.SourceFile, name string) string {
	for _, f := range files {
		if f.Name == name {
			return f.Text
		}
	}
	return ""
}

// dataDirOf is where the change files of the program at file live when
// --data does not say: beside a directory program's .step files, and for
// a file, the directory of its name without .step.
func dataDirOf(file string) string {
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		return file
	}
	return strings.TrimSuffix(file, filepath.Ext(file))
}

// sourceOf is the text of the program's file called name, for placing a
// diagnostic in it; the whole text when no file has the name.
func sourceOf(prog *compile.Program, name string) string {
	for _, f := range prog.Files {
		if f.Name == name {
			return f.Text
		}
	}
	return prog.Source
}

// connect opens a pool when url is set; a bad URL or an unreachable
// server is exit status 1 with the reason.
func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pool, err := dial(ctx, url)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: connecting to the database: %v\n", err)}
	}
	return pool, nil
}

// dial opens a pool on url and checks that the server answers; nil for
// no url.
func dial(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	return pool, nil
}

// forever is a wait with no end but the context's.
const forever = time.Duration(math.MaxInt64)

// connectRetrying is connect for a command that may wait for the
// database: while the server cannot be reached (it is starting, or the
// network is down) it tries again with backoff, saying so, for up to
// wait. A server that answers with an error (a wrong password, no such
// database) is not waited for.
func connectRetrying(ctx context.Context, url string, wait time.Duration, stderr io.Writer) (*pgxpool.Pool, error) {
	deadline := time.Now().Add(wait)
	if wait == forever {
		deadline = time.Time{}
	}
	backoff := 100 * time.Millisecond
	for try := 0; ; try++ {
		pool, err := dial(ctx, url)
		if err == nil {
			if try > 0 {
				fmt.Fprintln(stderr, "stepq: connected")
			}
			return pool, nil
		}
		if !unreachable(err) || !deadline.IsZero() && time.Now().Add(backoff).After(deadline) || ctx.Err() != nil {
			return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: connecting to the database: %v\n", err)}
		}
		if try == 0 {
			fmt.Fprintf(stderr, "stepq: the database cannot be reached: %v\n", err)
		}
		fmt.Fprintf(stderr, "stepq: trying again in %s\n", backoff)
		select {
		case <-ctx.Done():
			return nil, &exitError{code: 1, msg: "stepq: interrupted while waiting for the database\n"}
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// unreachable reports whether a connection failed for want of a server
// to talk to, rather than by the server's answer.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P03" // the database system is starting up
	}
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr)
}

// dbFromEnv is the database of a command that needs one when --db is
// not given, as psql and pgx users expect: $DATABASE_URL, or, when one
// of libpq's PG* variables is set, what they say (pgx reads them as
// libpq does). Empty when neither is set. Commands for which no --db
// means in memory do not read it: the environment must not move a
// program into a database unasked.
func dbFromEnv() string {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		return url
	}
	for _, v := range []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"} {
		if os.Getenv(v) != "" {
			return "postgres://"
		}
	}
	return ""
}

// defaultSchema names a program's own schema after its file.
func defaultSchema(file string) string { return stepping.DefaultSchema(file) }

func cmdExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("explain", "explain [--db URL] [--json | --dot] FILE", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL: type sources from its catalog")
	asJSON := fs.Bool("json", false, "print the circuit as JSON: inputs, views, outputs, and nodes with id, op, inputs, columns and parameters")
	dot := fs.Bool("dot", false, "print the circuit as a Graphviz graph (render it with dot -Tpng)")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *asJSON && *dot {
		fs.Usage()
		return &exitError{code: 2, msg: "stepq explain: --json and --dot exclude each other\n"}
	}
	db, err := connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	if *asJSON {
		// A program with errors has no circuit: its diagnostics, as
		// check --json prints them, are the JSON.
		if _, err := compileRaw(ctx, file, db); err != nil {
			if diags := stepping.Diagnostics(err); diags != nil {
				if err := writeJSON(stdout, map[string]any{"errors": diags}); err != nil {
					return err
				}
				return &exitError{code: 1}
			}
		}
	}
	prog, err := compileFile(ctx, file, db)
	if err != nil {
		return err
	}
	if *asJSON || *dot {
		graph, err := programGraph(ctx, prog, db)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, graph)
		}
		return graph.WriteDot(stdout)
	}
	_, err = io.WriteString(stdout, ir.Explain(prog.Circuit))
	return err
}

// programGraph describes a compiled program's circuit through the
// embedding API, which owns the Graph type users see.
func programGraph(ctx context.Context, prog *compile.Program, db *pgxpool.Pool) (*stepping.Graph, error) {
	var p *stepping.Program
	var err error
	if db != nil {
		p, err = stepping.CompileDB(ctx, prog.Filename, prog.Source, db)
	} else {
		p, err = stepping.Compile(prog.Filename, prog.Source)
	}
	if err != nil {
		return nil, err
	}
	return p.Graph(), nil
}

// failureText is how a failed step is printed: placed in the program's
// text with the source line and a caret, as a type error is, when the
// error says where (an expression that failed on a row), followed by
// the whole error when whole is set (a Postgres failure, which says
// which change caused it and what to do); or the error alone.
func failureText(prog *compile.Program, err error, whole bool) string {
	ds := stepping.Diagnostics(err)
	if len(ds) == 0 {
		return fmt.Sprintf("stepq: %v\n", err)
	}
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Format(sourceOf(prog, d.File)))
	}
	if whole {
		fmt.Fprintf(&b, "stepq: %v\n", err)
	}
	return b.String()
}

// stepAt applies one step of the data files, at the clock the _clock file
// sets for it, or else at the wall clock.
func stepAt(ctx context.Context, eng *runtime.Engine, b *runtime.Batches, step int64) (*runtime.Result, error) {
	t, ok, err := b.ClockAt(step)
	switch {
	case err != nil:
		return nil, err
	case ok:
		return eng.StepAt(ctx, t, b.Changes[step])
	}
	return eng.Step(ctx, b.Changes[step])
}

func cmdRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run [--data DIR] [--changes] [--workers N] FILE\n       stepq run --db URL [--once] [--wait D] [--apply [--drop-removed] | --rebuild] [--schema S] FILE", stderr)
	dataDir := fs.String("data", "", "directory of change files TABLE.csv / TABLE.jsonl (default: FILE without .step)")
	changes := fs.Bool("changes", false, "print every step's output changes with their weights instead of the final outputs")
	dbURL := fs.String("db", "", "Postgres connection URL: maintain the outputs as tables there")
	once := fs.Bool("once", false, "with --db: apply the pending changes and exit")
	rebuild := fs.Bool("rebuild", false, "with --db: if the program changed, drop its state and replay from the sources")
	apply := fs.Bool("apply", false, "with --db: if the program changed, rebuild only what changed, beside the live tables, and swap it in (stepq plan --db shows what changes); on a terminal, stepq asks")
	dropRemoved := fs.Bool("drop-removed", false, "with --apply: drop the tables of outputs the program no longer has (otherwise left, no longer maintained)")
	schema := fs.String("schema", "", "with --db: the program's own schema (default stepping_ and the file's name)")
	batch := fs.Int("batch", 10_000, "with --db: change-log rows per step (a step takes its source transactions whole, applied this many changes at a time)")
	noSourceIndexes := fs.Bool("no-source-indexes", false, "with --db: never make an index on a source table; a join's integral of a source no index serves keeps a copy in a state table instead")
	var logOpts logOptions
	fs.BoolVar(&logOpts.verbose, "v", false, "with --db: also log each step")
	fs.BoolVar(&logOpts.quiet, "q", false, "with --db: log only what stops or waits")
	fs.StringVar(&logOpts.format, "log-format", "plain", "with --db: plain (messages as lines), text or json (log/slog records with time and level)")
	wait := fs.Duration("wait", 0, "with --db: how long to wait for the database to be reachable and for another runtime applying the program to stop, before giving up (default: as long as it takes; with --once, not for the database)")
	backfillRows := fs.Int("backfill-rows", postgres.DefaultBackfillRows, "with --db: source rows the backfill computes in memory (about 850 bytes each for the shop example) before it goes on against the state in Postgres")
	formatName := fs.String("format", "aligned", "how rows are printed: aligned (tables, for people), jsonl (a JSON object per row: step, view, weight, row) or csv")
	workers := fs.Int("workers", defaultWorkers(), "without --db: goroutines a step's joins, groups and other stateful operators run on, each over its share of their state (the results are the same whatever the number)")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	format, err := parseFormat(*formatName)
	if err != nil {
		return err
	}
	// Flags that do not apply are said to be ignored, not ignored
	// silently.
	fs.Visit(func(f *flag.Flag) {
		dbOnly := f.Name != "data" && f.Name != "changes" && f.Name != "format" && f.Name != "db" && f.Name != "workers"
		switch {
		case *dbURL == "" && dbOnly:
			fmt.Fprintf(stderr, "stepq run: --%s applies only with --db; ignored\n", f.Name)
		case *dbURL != "" && f.Name == "data":
			fmt.Fprintf(stderr, "stepq run: --data applies only without --db (with --db the sources are the database's tables); ignored\n")
		case *dbURL != "" && f.Name == "workers":
			fmt.Fprintf(stderr, "stepq run: --workers applies only without --db (on Postgres a step runs on one worker); ignored\n")
		}
	})
	if *dbURL != "" {
		return runDB(ctx, dbOptions{file: file, url: *dbURL, schema: *schema, once: *once, rebuild: *rebuild, apply: *apply, dropRemoved: *dropRemoved, changes: *changes, format: format, batch: *batch, backfillRows: *backfillRows, noSourceIndexes: *noSourceIndexes, wait: *wait, log: logOpts}, stdin, stdout, stderr)
	}
	prog, err := compileFile(ctx, file, nil)
	if err != nil {
		return err
	}
	dir, mustExist := *dataDir, true
	if dir == "" {
		dir, mustExist = dataDirOf(file), false
	}
	batches, err := runtime.LoadChangeDir(dir, mustExist, prog.Circuit.Inputs)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	if *workers < 1 {
		return &exitError{code: 2, msg: fmt.Sprintf("stepq run: --workers %d: want 1 or more\n", *workers)}
	}
	// Only the outputs are printed, so only what they need is computed.
	// The files' rows are read for this engine alone: it may keep them.
	eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{Workers: *workers, OutputsOnly: true, OwnsRows: true})
	if len(batches.Steps) == 0 {
		// No data: one step with no changes still gives the outputs of
		// constants (values) their rows, as the program defines them.
		batches.Steps = []int64{1}
	}
	views := prog.OutputViews()
	out := &printer{w: stdout, format: format}
	var failed error
	for _, step := range batches.Steps {
		res, err := stepAt(ctx, eng, batches, step)
		if err != nil {
			failed = &exitError{code: 1, msg: failureText(prog, err, false)}
			break
		}
		if !*changes {
			continue
		}
		for _, v := range views {
			if d, ok := res.Changes[v.Name]; ok {
				if err := out.changes(step, v.Name, v.Columns, d); err != nil {
					return err
				}
			}
		}
	}
	reportLate(stderr, eng.Watermarks())
	if *changes {
		return failed
	}
	// After a failed step these are the outputs of the last step that
	// succeeded: a failed step changes nothing.
	for _, v := range views {
		contents, _ := eng.Contents(v.Name)
		if err := out.rows(v.Name, v.Columns, contents); err != nil {
			return err
		}
	}
	return failed
}

// reportLate says, for each table whose watermark dropped changes, how
// many: they are missing from the outputs, and a user reading a data
// file should know why.
func reportLate(w io.Writer, marks []runtime.WatermarkStatus) {
	for _, m := range marks {
		if m.Late > 0 {
			fmt.Fprintf(w, "stepq run: table %s: dropped %d late %s (before the watermark when %s came; the watermark is now %s, the latest %s less %s)\n",
				m.Table, m.Late, plural(m.Late, "row of a change", "rows of changes"), plural(m.Late, "it", "they"),
				m.Watermark().Format("2006-01-02 15:04:05.999999"), m.Column, ir.FormatLateness(m.Lateness))
		}
	}
}

// defaultWorkers is the default of stepq run --workers: every core the
// process may use (GOMAXPROCS). A step with few changes runs on one
// worker whatever the number, so small steps pay nothing for it.
func defaultWorkers() int { return goruntime.GOMAXPROCS(0) }
