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
	now, err := lockfile.Parse(lockPath(file), lockfile.Render(prog.Circuit))
	if err != nil {
		return nil, false, fmt.Errorf("stepq: internal error: the program's lock does not parse: %w", err)
	}
	text, err := os.ReadFile(lockPath(file))
	if errors.Is(err, fs.ErrNotExist) {
		missing, text, err = true, nil, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("stepq: %w", err)
	}
	old, err := lockfile.Parse(lockPath(file), string(text))
	if err != nil {
		return nil, false, fmt.Errorf("stepq: %w", err)
	}
	return lockfile.Compare(old, now), missing, nil
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

// cmdPlan compares the program with its lock file and prints what would
// change: each input, view and output, the views to rebuild and what
// becomes of each output table.
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", "plan [-json] FILE\n\nCompares FILE with its lock file, FILE.lock (not with a database: that is to come),\n"+
		"and prints each input, view and output as unchanged, changed (with the lines that\n"+
		"changed), added or removed; the views to rebuild (the changed and added ones and\n"+
		"everything downstream of them); and the output tables replaced, created, dropped\n"+
		"and kept live. Without a lock file, everything is added.", stderr)
	asJSON := fs.Bool("json", false, "print the plan as a JSON object (changes, rebuild, replaced, created, dropped, live)")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
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
		// Lock lines hold <- and >, which read better unescaped.
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(d)
	}
	return d.WriteText(stdout, true)
}
