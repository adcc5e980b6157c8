package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/serve"
	"github.com/stepping-io/stepping/serve/journal"
	"github.com/stepping-io/stepping/serve/metrics"
	"github.com/stepping-io/stepping/serve/openapi"
	"github.com/stepping-io/stepping/serve/web"
)

// serveOptions are the flags of stepq serve.
type serveOptions struct {
	file, url, schema, addr string
	token, readToken        string
	cors                    string
	maxBody                 int64
	journal                 string
	keepSteps               int
	rebuild                 bool
	apply, dropRemoved      bool
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [--db URL] [--addr HOST:PORT] [--token T] [--read-token T] [--cors ORIGIN,...]\n"+
		"                   [--max-body BYTES] [--journal FILE] [--keep-steps N] FILE", stderr)
	var o serveOptions
	fs.StringVar(&o.url, "db", "", "Postgres connection URL: run FILE there, as run --db does, and serve it (default: in memory)")
	fs.StringVar(&o.schema, "schema", "", "with --db: the program's own schema (default stepping_ and the file's name)")
	fs.BoolVar(&o.rebuild, "rebuild", false, "with --db: if the program changed, drop its state and replay from the sources")
	fs.BoolVar(&o.apply, "apply", false, "with --db: if the program changed, rebuild only what changed, beside the live tables, and swap it in")
	fs.BoolVar(&o.dropRemoved, "drop-removed", false, "with --apply: drop the tables of outputs the program no longer has")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "the address to listen on")
	fs.StringVar(&o.token, "token", "", "a bearer token every request but /healthz and /readyz needs; it may read and write")
	fs.StringVar(&o.readToken, "read-token", "", "a bearer token that may read (GET) but not write")
	fs.StringVar(&o.cors, "cors", "", "the origins, comma-separated, allowed to call the API from a browser (* for any)")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "the largest request body accepted, in bytes")
	fs.StringVar(&o.journal, "journal", "", "in memory: append every accepted write to FILE, synced before it is answered, and replay FILE at start")
	fs.IntVar(&o.keepSteps, "keep-steps", 10000, "in memory: how many of the last steps a change stream can resume from")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if o.journal != "" && o.url != "" {
		fs.Usage()
		return &exitError{code: 2, msg: "stepq serve: --journal is for in memory: with --db the database keeps the writes\n"}
	}
	o.file = file
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveProgram(ctx, o, stdout, stderr)
}

// serveProgram opens the program, in memory or on Postgres, serves it
// until ctx ends, and shuts down gracefully.
func serveProgram(ctx context.Context, o serveOptions, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var prog *stepping.Program
	var eng *stepping.Engine
	if o.url != "" {
		db, err := connectServing(ctx, o.url)
		if err != nil {
			return err
		}
		defer db.Close()
		files, err := compile.ReadProgram(o.file)
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
		if _, err := compileFile(ctx, o.file, db); err != nil { // prints the diagnostics
			return err
		}
		if prog, err = compilePublic(ctx, o.file, files, db); err != nil {
			return err
		}
		eng, err = prog.OpenPostgres(ctx, db, stepping.PostgresOptions{Schema: o.schema, Rebuild: o.rebuild, Apply: o.apply, DropRemoved: o.dropRemoved, Log: stderr})
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
	} else {
		if _, err := compileFile(ctx, o.file, nil); err != nil {
			return err
		}
		files, err := compile.ReadProgram(o.file)
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
		if prog, err = compilePublic(ctx, o.file, files, nil); err != nil {
			return err
		}
		// The server shows only the outputs, so only what they need
		// is computed, as on Postgres.
		eng = prog.OpenMemoryWith(stepping.MemoryOptions{OutputsOnly: true})
	}
	defer eng.Close()
	opts := serve.Options{
		WriteToken:   o.token,
		ReadToken:    o.readToken,
		MaxBodyBytes: o.maxBody,
		KeepSteps:    o.keepSteps,
		Logger:       logger,
		Metrics:      metrics.New(),
		Pages:        web.Handler(prog),
	}
	if err := serveDocument(prog, &opts); err != nil {
		return err
	}
	if o.cors != "" {
		for _, origin := range strings.Split(o.cors, ",") {
			opts.CORSOrigins = append(opts.CORSOrigins, strings.TrimSpace(origin))
		}
	}
	if o.journal != "" {
		j, err := journal.Open(o.journal)
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
		defer j.Close()
		opts.Journal = j
	}
	srv, err := serve.New(ctx, prog, eng, opts)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	if opts.Journal != nil {
		n := 0
		err := opts.Journal.Replay(func(e journal.Entry) error {
			n++
			_, err := srv.Apply(ctx, e)
			return err
		})
		if err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: replaying %s, entry %d: %v\n", o.journal, n, err)}
		}
		logger.Info("journal replayed", "file", o.journal, "entries", n)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	store := "in memory"
	if o.url != "" {
		store = "on Postgres"
	}
	fmt.Fprintf(stdout, "stepq: serving %s %s at http://%s/\n", o.file, store, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("shutting the server down", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servingConns is the least pool size stepq serve runs with: the
// program's lock and the listener for captured changes hold a
// connection each for as long as it runs, and requests and the
// streams' reads of history need more.
const servingConns = 16

// connectServing is connect with a pool of at least servingConns
// connections, unless the URL sets pool_max_conns.
func connectServing(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: connecting to the database: %v\n", err)}
	}
	if !strings.Contains(url, "pool_max_conns") && cfg.MaxConns < servingConns {
		cfg.MaxConns = servingConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: connecting to the database: %v\n", err)}
	}
	return pool, nil
}

// serveDocument sets the OpenAPI document of the program's API and its
// HTML page, served at /openapi.json and /docs.
func serveDocument(prog *stepping.Program, opts *serve.Options) error {
	doc, err := openapi.Document(prog)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	page, err := openapi.DocsPage(doc)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	opts.OpenAPI, opts.Docs = doc, page
	return nil
}
