// Package serve serves a stepping program over HTTP, as stepq serve does:
// an API generated from the program's declarations and types (its
// outputs' rows, filtered and paged, as JSON or CSV; inserts, updates and
// deletes of its tables, each one step), change streams as Server-Sent
// Events, health, metrics and the pages and documents other packages
// make. docs/serve.md is its reference.
//
// A Server runs the program's steps: in memory each write is one step,
// applied under a lock that serialises writes; on Postgres each write is
// one transaction on the source table, after which the server applies
// what is pending, and it applies as well what other clients write,
// as stepq run --db does. It owns no listener: mount it on an
// http.Server.
//
// It does not own the OpenAPI document (package serve/openapi), the
// pages (serve/web), the metrics' registry (serve/metrics) or the
// journal's file format (serve/journal): it is given them in Options.
package serve

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/serve/journal"
	"github.com/stepping-io/stepping/serve/metrics"
)

// Options configure a Server; the zero value serves without tokens,
// CORS, pages, documents, metrics or journal.
type Options struct {
	// WriteToken may read and write; ReadToken only read (GET). With
	// either set, every request but /healthz, /readyz and the pages'
	// /static/ files needs one as
	// "Authorization: Bearer T"; with neither, everyone is answered.
	WriteToken, ReadToken string
	// CORSOrigins are the origins a browser may call the API from; "*"
	// allows any.
	CORSOrigins []string
	// MaxBodyBytes bounds a request's body; 0 means 1 MiB.
	MaxBodyBytes int64
	// KeepSteps is how many of the last steps' changes a change stream
	// can resume from, in memory; 0 means 10000.
	KeepSteps int
	// Logger receives a line per request and what the runner does; nil
	// means slog.Default().
	Logger *slog.Logger
	// Pages is mounted at "/", "/views/", "/pages/" and "/static/"; nil
	// serves a JSON index of the program at "/".
	Pages http.Handler
	// OpenAPI is served at /openapi.json; nil: 404.
	OpenAPI []byte
	// Docs is served at /docs as text/html; nil: 404.
	Docs []byte
	// Metrics records steps and requests and is served at /metrics; nil:
	// /metrics is 404.
	Metrics *metrics.Metrics
	// Journal receives every accepted write before it is answered; nil:
	// none.
	Journal *journal.Journal
}

// pingEvery is how often a change stream sends a comment to keep its
// connection open.
const pingEvery = 15 * time.Second

// Server serves one program running on one engine. It is an
// http.Handler.
type Server struct {
	prog *stepping.Program
	eng  *stepping.Engine
	opts Options
	log  *slog.Logger

	views  map[string]*relation // the outputs
	tables map[string]*relation
	hubs   map[string]*hub // by output

	// writeMu serialises writes and steps: in memory a write and its
	// step are one; on Postgres the runner's steps take it too.
	writeMu sync.Mutex
	closing atomic.Bool
	// On Postgres, writes are numbered as they commit (committed), and
	// covered is the last number a finished step is known to include,
	// coveredStep that step; both under writeMu.
	committed   atomic.Int64
	covered     int64
	coveredStep int64

	ctx    context.Context // ends when Shutdown begins: streams end
	cancel context.CancelFunc
	wg     sync.WaitGroup // the runner and status goroutines

	ping time.Duration
}

// relation is a table or output as the API serves it.
type relation struct {
	name    string
	cols    []stepping.Column
	key     []int        // primary key columns, in key order; nil for none
	filters map[int]bool // an output's columns a GET may filter on
	table   bool
}

// column returns the index of the named column, or -1.
func (r *relation) column(name string) int {
	for i, c := range r.cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// New returns a server of prog running on eng (which prog must be the
// program of), ready to serve. On Postgres it starts applying what other
// clients write, until Shutdown. ctx bounds what New reads.
func New(ctx context.Context, prog *stepping.Program, eng *stepping.Engine, opts Options) (*Server, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.KeepSteps <= 0 {
		opts.KeepSteps = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{prog: prog, eng: eng, opts: opts, log: opts.Logger,
		views: map[string]*relation{}, tables: map[string]*relation{}, hubs: map[string]*hub{}, ping: pingEvery}
	g := prog.Graph()
	for _, o := range g.Outputs {
		r, err := newRelation(prog, o.View, o.PrimaryKey)
		if err != nil {
			return nil, err
		}
		r.filters = map[int]bool{}
		for _, ix := range append([][]string{o.PrimaryKey}, o.Indexes...) {
			for _, c := range ix {
				r.filters[r.column(c)] = true
			}
		}
		s.views[o.View] = r
	}
	// A program without output declarations outputs every view, keyed
	// by nothing: served whole, without filters.
	for _, name := range prog.Outputs() {
		if _, ok := s.views[name]; ok {
			continue
		}
		r, err := newRelation(prog, name, nil)
		if err != nil {
			return nil, err
		}
		r.filters = map[int]bool{}
		s.views[name] = r
	}
	for _, in := range g.Inputs {
		r, err := newRelation(prog, in.Name, in.PrimaryKey)
		if err != nil {
			return nil, err
		}
		r.table = true
		s.tables[in.Name] = r
	}
	st, err := eng.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve: reading the engine's step: %w", err)
	}
	for name := range s.views {
		s.hubs[name] = newHub(st.Steps, opts.KeepSteps)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if eng.OnPostgres() {
		if err := s.startRunner(ctx); err != nil {
			s.cancel()
			return nil, err
		}
	}
	return s, nil
}

func newRelation(prog *stepping.Program, name string, key []string) (*relation, error) {
	cols, err := prog.Columns(name)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	r := &relation{name: name, cols: cols}
	for _, k := range key {
		r.key = append(r.key, r.column(k))
	}
	return r, nil
}

// startRunner makes the server the program's runner on Postgres: it
// applies what other clients write as it is captured, and keeps a
// watcher registered so that every step publishes its changes to the
// program's history, from which streams resume.
func (s *Server) startRunner(ctx context.Context) error {
	release, err := s.eng.KeepHistory(ctx)
	if err != nil {
		return fmt.Errorf("serve: registering as a watcher of the program's history: %w", err)
	}
	captured := s.eng.Captured(s.ctx, time.Second)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer release()
		for range captured {
			if _, err := s.step(s.ctx, nil); err != nil && s.ctx.Err() == nil {
				s.log.Error("applying captured changes", "err", err)
			}
		}
	}()
	// Apply what waits now, before the first request is answered.
	if _, err := s.step(ctx, nil); err != nil {
		return fmt.Errorf("serve: applying pending changes: %w", err)
	}
	s.wg.Add(1)
	go s.watchStatus()
	return nil
}

// watchStatus keeps the metrics' pending count and lag up to date on
// Postgres, where other clients add to them.
func (s *Server) watchStatus() {
	defer s.wg.Done()
	if s.opts.Metrics == nil {
		return
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.updateStatus(s.ctx)
		}
	}
}

func (s *Server) updateStatus(ctx context.Context) {
	if s.opts.Metrics == nil {
		return
	}
	st, err := s.eng.Status(ctx)
	if err != nil {
		return
	}
	s.opts.Metrics.SetPending(st.Pending)
	var lag time.Duration
	if !st.OldestPending.IsZero() {
		lag = time.Since(st.OldestPending)
	}
	s.opts.Metrics.SetLag(lag)
	for _, w := range st.Watermarks {
		s.opts.Metrics.SetWatermark(w.Table, w.At, w.Set, w.Late)
	}
}

// Shutdown stops accepting writes, waits for the step under way, ends
// the change streams and the runner. Requests in flight other than
// streams finish; the caller then shuts its http.Server down.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	done := make(chan struct{})
	go func() {
		// Taking the lock waits for the write or step under way.
		s.writeMu.Lock()
		s.cancel()
		s.writeMu.Unlock()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancel()
		return fmt.Errorf("serve: shutting down: %w", ctx.Err())
	}
}

// ServeHTTP routes a request: the API under /api/, health, metrics and
// documents, and the pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	route := s.serve(rec, r)
	took := time.Since(start)
	if s.opts.Metrics != nil {
		s.opts.Metrics.ObserveRequest(route, r.Method, rec.code, took)
	}
	s.log.Info("request", "method", r.Method, "path", r.URL.Path, "route", route, "status", rec.code, "bytes", rec.n, "took", took)
}

// serve answers a request and returns its route, for metrics.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) string {
	path := r.URL.Path
	switch path {
	case "/healthz":
		writeText(w, "ok\n")
		return path
	case "/readyz":
		if s.closing.Load() {
			writeError(w, errUnavailable("shutting down"))
		} else {
			writeText(w, "ready\n")
		}
		return path
	}
	if !s.cors(w, r) {
		return "preflight"
	}
	// The pages' scripts and styles hold no data, and a <script> tag
	// sends no token.
	public := strings.HasPrefix(path, "/static/") && (r.Method == http.MethodGet || r.Method == http.MethodHead)
	if !public && !s.authorized(w, r) {
		return "auth"
	}
	switch {
	case path == "/metrics":
		if s.opts.Metrics == nil {
			writeError(w, errNotFound("no metrics are kept"))
		} else {
			s.opts.Metrics.Handler().ServeHTTP(w, r)
		}
		return path
	case path == "/openapi.json":
		serveBytes(w, s.opts.OpenAPI, "application/json", "no OpenAPI document is served")
		return path
	case path == "/docs":
		serveBytes(w, s.opts.Docs, "text/html; charset=utf-8", "no documentation page is served")
		return path
	case strings.HasPrefix(path, "/api/views/"):
		return s.serveView(w, r, strings.TrimPrefix(path, "/api/views/"))
	case strings.HasPrefix(path, "/api/tables/"):
		return s.serveTable(w, r, strings.TrimPrefix(path, "/api/tables/"))
	case path == "/" || strings.HasPrefix(path, "/views/") || strings.HasPrefix(path, "/pages/") || strings.HasPrefix(path, "/static/"):
		if s.opts.Pages != nil {
			s.opts.Pages.ServeHTTP(w, r)
			return "pages"
		}
		if path == "/" {
			s.serveIndex(w, r)
			return path
		}
	}
	writeError(w, errNotFound("no such path: "+path))
	return "unknown"
}

func serveBytes(w http.ResponseWriter, b []byte, contentType, missing string) {
	if b == nil {
		writeError(w, errNotFound(missing))
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}

func writeText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(text))
}

// cors answers a preflight request, and marks an allowed origin's
// requests as such; it reports whether the request goes on.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" {
		if preflight {
			writeError(w, errForbidden("a preflight request without an Origin"))
			return false
		}
		return true
	}
	allowed := slices.Contains(s.opts.CORSOrigins, origin) || slices.Contains(s.opts.CORSOrigins, "*")
	h := w.Header()
	h.Add("Vary", "Origin")
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Stepping-Step")
	}
	if !preflight {
		return true
	}
	if !allowed {
		writeError(w, errForbidden("origin "+origin+" is not allowed (see --cors)"))
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return false
}

// authorized checks the bearer token when tokens are set: the write
// token may do anything, the read token only GET (and HEAD).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.WriteToken == "" && s.opts.ReadToken == "" {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// A page's links and its EventSource cannot send a header: a
		// reading request may carry the token in the query instead
		// (RFC 6750, section 2.3). Writes still need the header, and
		// the log records paths, never queries.
		q := r.URL.Query()
		token, ok = q.Get(accessTokenParam), q.Has(accessTokenParam)
	}
	switch {
	case ok && matches(token, s.opts.WriteToken):
		return true
	case ok && matches(token, s.opts.ReadToken):
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return true
		}
		writeError(w, errForbidden("the read token may only read (GET)"))
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="stepping"`)
	writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "a bearer token is needed: Authorization: Bearer TOKEN (or, to read, ?access_token=TOKEN)"})
	return false
}

// accessTokenParam is the query parameter a reading request may carry
// its token in, for browsers' links and EventSource.
const accessTokenParam = "access_token"

// matches compares a token given with one configured, in constant time;
// an empty configured token matches nothing.
func matches(given, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

// recorder remembers a response's status and size for the log and
// metrics, and passes flushes on, which streams need.
type recorder struct {
	http.ResponseWriter
	code    int
	n       int64
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.code, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

// Flush sends what is buffered to the client.
func (r *recorder) Flush() {
	r.written = true
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// errClosing is a write refused because the server is shutting down.
var errClosing = errors.New("the server is shutting down")
