package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/runtime"
)

// dbOptions are the flags of stepq run --db.
type dbOptions struct {
	file, url, schema      string
	once, rebuild, changes bool
	batch                  int
}

// runDB keeps a program's outputs up to date in Postgres until
// interrupted, or applies what is pending with once.
func runDB(ctx context.Context, o dbOptions, stdout, stderr io.Writer) error {
	file, schema := o.file, o.schema
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := connect(ctx, o.url)
	if err != nil {
		return err
	}
	defer db.Close()
	prog, err := compile(ctx, file, db)
	if err != nil {
		return err
	}
	if schema == "" {
		schema = defaultSchema(file)
	}
	pg := &runtime.PG{Pool: db, Circuit: prog.Circuit, Schema: schema, Log: stderr, BatchSize: o.batch}
	each := func(st runtime.StepStats) {
		if !o.changes {
			return
		}
		for _, v := range prog.OutputViews() {
			if d, ok := st.Changes[v.Name]; ok {
				fmt.Fprintf(stdout, "step %d: %s\n", st.Step, v.Name)
				_ = stepping.WriteTable(stdout, v.Columns, d, true)
				fmt.Fprintln(stdout)
			}
		}
	}
	if !o.once {
		fmt.Fprintf(stderr, "stepq: keeping %s up to date in schema %s; Ctrl-C stops\n", file, schema)
	}
	err = pg.Run(ctx, o.rebuild, o.once, time.Second, each)
	if errors.Is(err, runtime.ErrVersion) {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	return err
}

func cmdDrop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("drop", "drop --db URL [--outputs] [--schema S] FILE", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL (required)")
	outputs := fs.Bool("outputs", false, "also drop the output tables")
	schema := fs.String("schema", "", "the program's own schema (default stepping_ and the file's name)")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *dbURL == "" {
		return usageError("drop needs --db URL")
	}
	db, err := connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	prog, err := compile(ctx, file, db)
	if err != nil {
		return err
	}
	if *schema == "" {
		*schema = defaultSchema(file)
	}
	pg := &runtime.PG{Pool: db, Circuit: prog.Circuit, Schema: *schema, Log: stderr}
	return pg.Drop(ctx, *outputs)
}
