package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stepping-io/stepping/runtime/postgres"
)

// progressBar shows a runner's long work (a backfill, a backlog) and
// passes its messages on. On a terminal it draws one line, redrawn in
// place, with a bar, the counts, the rate and the time left, and moves
// it out of the way of every message; elsewhere it prints a plain line
// every progressEvery, and the last.
type progressBar struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	last     time.Time
	drawn    string // the bar on screen, "" for none
}

// progressEvery is how often a progress line is printed off a terminal.
const progressEvery = 5 * time.Second

// newProgressBar returns a progress bar writing to w, drawn in place
// when w is a terminal.
func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, terminal: ok && isTerminal(f)}
}

// Write writes a message of the runner's, above the bar.
func (b *progressBar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn != "" {
		fmt.Fprint(b.w, "\r\033[K")
	}
	n, err := b.w.Write(p)
	if b.drawn != "" {
		fmt.Fprint(b.w, b.drawn)
	}
	return n, err
}

// show shows how far the work has gone.
func (b *progressBar) show(pr postgres.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	every := progressEvery
	if b.terminal {
		every = 100 * time.Millisecond
	}
	if !pr.Finished && time.Since(b.last) < every {
		return
	}
	b.last = time.Now()
	if !b.terminal {
		fmt.Fprintln(b.w, pr.String())
		return
	}
	if pr.Finished {
		fmt.Fprintf(b.w, "\r\033[K%s\n", pr.String())
		b.drawn = ""
		return
	}
	b.drawn = bar(pr)
	fmt.Fprintf(b.w, "\r\033[K%s", b.drawn)
}

// bar draws progress as one line: what, a bar, the share done, the
// counts, the rate and the time left.
func bar(pr postgres.Progress) string {
	const width = 24
	share := 0.0
	if pr.Total > 0 {
		share = min(float64(pr.Done)/float64(pr.Total), 1)
	}
	full := int(share * width)
	line := fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d, %.0f/s", pr.What, strings.Repeat("=", full), strings.Repeat(" ", width-full), share*100, pr.Done, pr.Total, pr.Rate)
	if left := pr.Left(); left > 0 {
		line += fmt.Sprintf(", %s left", left.Round(time.Second))
	}
	return line
}

// logOptions are the flags that say how much a long-running command
// logs and in what form.
type logOptions struct {
	verbose, quiet bool
	format         string // plain, text or json
}

// logger returns the slog logger the flags ask for, writing to w; nil
// for plain messages, which the runner writes as lines.
func (o logOptions) logger(w io.Writer) (*slog.Logger, error) {
	level := slog.LevelInfo
	switch {
	case o.verbose:
		level = slog.LevelDebug
	case o.quiet:
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	switch o.format {
	case "", "plain":
		if o.quiet || o.verbose {
			return slog.New(&plainHandler{w: w, level: level}), nil
		}
		return nil, nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format wants plain, text or json, not %q", o.format)
}

// plainHandler writes each record's message as a line, as the runner's
// messages are written without a logger, dropping those below level.
type plainHandler struct {
	mu    sync.Mutex
	w     io.Writer
	level slog.Level
}

func (h *plainHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *plainHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, r.Message)
	return err
}

func (h *plainHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *plainHandler) WithGroup(string) slog.Handler { return h }
