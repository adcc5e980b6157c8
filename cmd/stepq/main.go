// Command stepq checks, explains and runs stepping programs.
//
//	stepq check FILE            report every error in FILE
//	stepq explain FILE          print FILE's incremental circuit
//	stepq run FILE [flags]      run FILE on change files, print its outputs
//
// Exit status: 0 success, 1 errors in the program or its data, 2 usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
)

const usage = `stepq checks, explains and runs stepping programs.

Usage:
  stepq check [--db URL] FILE            report every error in FILE
  stepq explain FILE                     print FILE's incremental circuit
  stepq run [--data DIR] [--changes] FILE
                                         run FILE on change files and print its outputs
  stepq run --db URL [--once] [--rebuild] [--schema S] FILE
                                         keep FILE's output tables up to date in Postgres
  stepq drop --db URL [--outputs] [--schema S] FILE
                                         remove what run installed in Postgres

Run "stepq COMMAND --help" for a command's flags.
`

// exitError carries an exit status up to main.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "explain":
		return cmdExplain(rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "drop":
		return cmdDrop(ctx, rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError("unknown command %q", cmd)
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: stepq %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags that may come before or after the one FILE
// argument, and returns the file name.
func parseFlags(fs *flag.FlagSet, args []string) (string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", &exitError{code: 0}
			}
			return "", &exitError{code: 2}
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return "", &exitError{code: 2, msg: fmt.Sprintf("stepq %s: want one FILE, got %d\n", fs.Name(), len(files))}
	}
	return files[0], nil
}

// compile reads and compiles a program, turning program errors into exit
// status 1 with every diagnostic printed. With a pool, sources are typed
// from the database's catalog.
func compile(ctx context.Context, file string, db *pgxpool.Pool) (*stepping.Program, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	var prog *stepping.Program
	if db != nil {
		prog, err = stepping.CompileDB(ctx, file, string(src), db)
	} else {
		prog, err = stepping.Compile(file, string(src))
	}
	var list lang.ErrorList
	if errors.As(err, &list) {
		n := len(list)
		msg := list.Format(string(src))
		if n > 1 {
			msg += fmt.Sprintf("%d errors\n", n)
		}
		return nil, &exitError{code: 1, msg: msg}
	}
	return prog, err
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "check [--db URL] FILE", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL: type sources from its catalog")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, err := connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	_, err = compile(ctx, file, db)
	return err
}

// connect opens a pool when url is set; a bad URL or an unreachable
// server is exit status 1 with the reason.
func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: connecting to the database: %v\n", err)}
	}
	return pool, nil
}

// defaultSchema names a program's own schema after its file.
func defaultSchema(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "stepping_" + b.String()
}

func cmdExplain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("explain", "explain FILE", stderr)
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	prog, err := compile(context.Background(), file, nil)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, prog.Explain())
	return err
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

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run [--data DIR] [--changes] FILE\n       stepq run --db URL [--once] [--rebuild] [--schema S] FILE", stderr)
	dataDir := fs.String("data", "", "directory of change files TABLE.csv / TABLE.jsonl (default: FILE without .step)")
	changes := fs.Bool("changes", false, "print every step's output changes with their weights instead of the final outputs")
	dbURL := fs.String("db", "", "Postgres connection URL: maintain the outputs as tables there")
	once := fs.Bool("once", false, "with --db: apply the pending changes and exit")
	rebuild := fs.Bool("rebuild", false, "with --db: if the program changed, drop its state and replay from the sources")
	schema := fs.String("schema", "", "with --db: the program's own schema (default stepping_ and the file's name)")
	batch := fs.Int("batch", 10_000, "with --db: change-log rows applied per step")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *dbURL != "" {
		return runDB(ctx, dbOptions{file: file, url: *dbURL, schema: *schema, once: *once, rebuild: *rebuild, changes: *changes, batch: *batch}, stdout, stderr)
	}
	prog, err := compile(ctx, file, nil)
	if err != nil {
		return err
	}
	dir, mustExist := *dataDir, true
	if dir == "" {
		dir, mustExist = strings.TrimSuffix(file, filepath.Ext(file)), false
	}
	batches, err := runtime.LoadChangeDir(dir, mustExist, prog.Circuit.Inputs)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	eng := prog.NewEngine(runtime.NewMemoryStore())
	views := prog.OutputViews()
	printed := 0
	var failed error
	for _, step := range batches.Steps {
		res, err := stepAt(ctx, eng, batches, step)
		if err != nil {
			failed = &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
			break
		}
		if !*changes {
			continue
		}
		for _, v := range views {
			if d, ok := res.Changes[v.Name]; ok {
				if printed > 0 {
					fmt.Fprintln(stdout)
				}
				printed++
				fmt.Fprintf(stdout, "step %d: %s\n", step, v.Name)
				if err := stepping.WriteTable(stdout, v.Columns, d, true); err != nil {
					return err
				}
			}
		}
	}
	if *changes {
		return failed
	}
	// After a failed step these are the outputs of the last step that
	// succeeded: a failed step changes nothing.
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		contents, _ := eng.Contents(v.Name)
		fmt.Fprintf(stdout, "%s\n", v.Name)
		if err := stepping.WriteTable(stdout, v.Columns, contents, false); err != nil {
			return err
		}
	}
	return failed
}
