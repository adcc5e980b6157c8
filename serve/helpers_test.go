package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/serve"
)

// shopSource is examples/shop.step, which the tests serve.
func shopSource(t testing.TB) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "examples", "shop.step"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// server is a program served in memory over real HTTP.
type server struct {
	*httptest.Server
	srv *serve.Server
	eng *stepping.Engine
}

// start serves src in memory with opts and returns the server; it is
// shut down when the test ends.
func start(t testing.TB, src string, opts serve.Options) *server {
	t.Helper()
	prog, err := stepping.Compile("test.step", src)
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, prog, prog.OpenMemory(), opts)
}

func startOn(t testing.TB, prog *stepping.Program, eng *stepping.Engine, opts serve.Options) *server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := serve.New(context.Background(), prog, eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		hs.Close()
		_ = eng.Close()
	})
	return &server{Server: hs, srv: srv, eng: eng}
}

// reply is an answer's status, headers and body.
type reply struct {
	code   int
	header http.Header
	body   string
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (r reply) apiError(t testing.TB) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e
}

// do sends a request; a non-empty body is JSON unless headers say
// otherwise. Headers are name, value pairs.
func (s *server) do(t testing.TB, method, path, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err) // Error, not Fatal: writers in goroutines call do
		return reply{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// must sends a request that must answer code, and returns its body.
func (s *server) must(t testing.TB, code int, method, path, body string, headers ...string) string {
	t.Helper()
	r := s.do(t, method, path, body, headers...)
	if r.code != code {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.code, code, r.body)
	}
	return r.body
}

// event is one Server-Sent Event.
type event struct {
	id, name, data string
}

// stream is an open change stream.
type stream struct {
	t      testing.TB
	resp   *http.Response
	events chan event
	cancel context.CancelFunc
	// expired receives shortly before the test's deadline; nil for a
	// benchmark, which waits as long as it takes.
	expired <-chan time.Time
}

// openStream opens a change stream, which must answer 200.
func (s *server) openStream(t testing.TB, path string, headers ...string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	st := &stream{t: t, resp: resp, events: make(chan event, 100), cancel: cancel}
	if tt, ok := t.(*testing.T); ok {
		st.expired = testwait.Expired(tt)
	}
	go st.read()
	t.Cleanup(st.close)
	return st
}

func (st *stream) read() {
	defer close(st.events)
	sc := bufio.NewScanner(st.resp.Body)
	sc.Buffer(nil, 1<<24)
	var e event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if e != (event{}) {
				st.events <- e
			}
			e = event{}
		case strings.HasPrefix(line, ":"):
			e.name = "comment"
			e.data = line
		case strings.HasPrefix(line, "id: "):
			e.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			e.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			e.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// next waits for the next event that is not a comment; ok is false
// when the stream ended.
func (st *stream) next() (event, bool) {
	st.t.Helper()
	for {
		select {
		case e, ok := <-st.events:
			if !ok {
				return event{}, false
			}
			if e.name == "comment" {
				continue
			}
			return e, true
		case <-st.expired:
			st.t.Fatal("no event before the test's deadline")
		}
	}
}

// mustNext is next for an event that must come.
func (st *stream) mustNext() event {
	st.t.Helper()
	e, ok := st.next()
	if !ok {
		st.t.Fatal("the stream ended")
	}
	return e
}

func (st *stream) close() {
	st.cancel()
	st.resp.Body.Close()
}

// changes is the data of a changes event.
type changes struct {
	Step    int64 `json:"step"`
	Changes []struct {
		Row    map[string]any `json:"row"`
		Weight int64          `json:"weight"`
	} `json:"changes"`
}

func decodeChanges(t testing.TB, e event) changes {
	t.Helper()
	if e.name != "changes" {
		t.Fatalf("event %q (%s), want changes", e.name, e.data)
	}
	var c changes
	if err := json.Unmarshal([]byte(e.data), &c); err != nil {
		t.Fatalf("changes event %q: %v", e.data, err)
	}
	return c
}
