package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir/lockfile"
)

// lockPath is where a program's lock file lives: beside it, FILE.lock;
// for a directory DIR, DIR.lock beside the directory.
func lockPath(file string) string { return filepath.Clean(file) + ".lock" }

// cmdLock writes FILE.lock, the program's circuit as lockfile renders it.
func cmdLock(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lock", "lock [--db URL] FILE\n\nWrites FILE.lock beside FILE: the program's circuit, one fact a line, to commit with it.", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL: type sources from its catalog, as check --db does")
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
	prog, err := compileFile(ctx, file, db)
	if err != nil {
		return err
	}
	if err := os.WriteFile(lockPath(file), []byte(lockfile.Render(prog.Circuit)), 0o644); err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	return nil
}

// compareLock compares a compiled program with its lock file. A missing
// lock file compares as an empty one (everything added), and is reported
// by missing.
func compareLock(prog *compile.Program, file string) (d *lockfile.Diff, missing bool, err error) {
	text, err := os.ReadFile(lockPath(file))
	if errors.Is(err, fs.ErrNotExist) {
		missing, text, err = true, nil, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("stepq: %w", err)
	}
	d, err = compareWith(prog, lockPath(file), string(text))
	return d, missing, err
}

// compareWith compares a compiled program with a lock's text, named by
// name in errors: a lock file, or the lock recorded with a deployed
// program.
func compareWith(prog *compile.Program, name, text string) (*lockfile.Diff, error) {
	now, err := lockfile.Parse(name, lockfile.Render(prog.Circuit))
	if err != nil {
		return nil, fmt.Errorf("stepq: internal error: the program's lock does not parse: %w", err)
	}
	old, err := lockfile.Parse(name, text)
	if err != nil {
		return nil, fmt.Errorf("stepq: %w", err)
	}
	return lockfile.Compare(old, now), nil
}

// checkLocked fails with exit status 1 when the program's circuit differs
// from its lock file, or it has none, printing the differences.
func checkLocked(prog *compile.Program, file string, stdout io.Writer) error {
	d, missing, err := compareLock(prog, file)
	if err != nil {
		return &exitError{code: 1, msg: err.Error() + "\n"}
	}
	if missing {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %s: no lock file; run stepq lock %s\n", lockPath(file), file)}
	}
	if !d.Differs() {
		return nil
	}
	if err := d.WriteText(stdout, false); err != nil {
		return err
	}
	return &exitError{code: 1, msg: fmt.Sprintf("stepq: %s differs from %s; run stepq lock %s after reviewing\n", file, lockPath(file), file)}
}

// cmdPlan compares the program with its lock file, or with the program
// deployed in a database, and prints what would change: each input, view
// and output, the views to rebuild and what becomes of each output table.
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", "plan [--json] FILE\nplan --db URL [--schema S] [--json] FILE\n\n"+
		"Compares FILE with its lock file, FILE.lock, or with --db with the program deployed\n"+
		"in its schema (reading only), and prints each input, view and output as unchanged,\n"+
		"changed (with the lines that changed), added or removed; the views to rebuild (the\n"+
		"changed and added ones and everything downstream of them); and the output tables\n"+
		"replaced, created, dropped and kept live. With --db, also the source rows each\n"+
		"rebuild reads, and the other programs installed that read an output table the\n"+
		"plan replaces or drops. Without a lock file, or a deployed program, everything is added.", stderr)
	asJSON := fs.Bool("json", false, "print the plan as a JSON object (changes, rebuild, replaced, created, dropped, live; with --db also deployed, reads and downstream)")
	dbURL := fs.String("db", "", "Postgres connection URL: plan against the program deployed there")
	schema := fs.String("schema", "", "with --db, the program's own schema (default stepping_ and the file's name)")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *dbURL != "" {
		return planDB(ctx, file, *dbURL, *schema, *asJSON, stdout, stderr)
	}
	if *schema != "" {
		return usageError("plan: --schema needs --db URL")
	}
	prog, err := compileFile(ctx, file, nil)
	if err != nil {
		return err
	}
	d, missing, err := compareLock(prog, file)
	if err != nil {
		return &exitError{code: 1, msg: err.Error() + "\n"}
	}
	if missing {
		fmt.Fprintf(stderr, "stepq: %s: no lock file: planning against an empty one\n", lockPath(file))
	}
	if *asJSON {
		return writePlanJSON(stdout, d)
	}
	return d.WriteText(stdout, true)
}

// writePlanJSON prints a plan as one JSON object.
func writePlanJSON(w io.Writer, v any) error {
	// Lock lines hold <- and >, which read better unescaped.
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
