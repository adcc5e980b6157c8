package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stepping-io/stepping/internal/testwait"
)

// serving is a stepq serve process.
type serving struct {
	cmd  *exec.Cmd
	base string // http://host:port
	done chan error
}

var readyLine = regexp.MustCompile(`^stepq: serving \S+ (in memory|on Postgres) at (http://\S+)/$`)

// startServe starts stepq serve with args on a free port and waits for
// its ready line.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	cmd := exec.Command(stepq, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = repoRoot
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serving{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case line, ok := <-lines:
		m := readyLine.FindStringSubmatch(line)
		if !ok || m == nil {
			t.Fatalf("stepq serve printed %q, not its ready line; stderr:\n%s", line, stderr.String())
		}
		s.base = m[2]
	case <-testwait.Expired(t):
		t.Fatalf("stepq serve never said it was ready; stderr:\n%s", stderr.String())
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// curl sends a request as the README's curl commands do, and returns
// the status and body.
func (s *serving) curl(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *serving) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("stepq serve exited with %v after SIGTERM", err)
		}
	case <-testwait.Expired(t):
		t.Fatal("stepq serve did not exit after SIGTERM")
	}
}

// follow opens a change stream as curl -N does and returns its lines.
func (s *serving) follow(t *testing.T, path string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitLine waits for a line of the stream that contains want.
func waitLine(t *testing.T, lines <-chan string, want string) string {
	t.Helper()
	var seen []string
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before a line with %q; it sent:\n%s", want, strings.Join(seen, "\n"))
			}
			if strings.Contains(line, want) {
				return line
			}
			seen = append(seen, line)
		case <-testwait.Expired(t):
			t.Fatalf("no line with %q; the stream sent:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

// TestServeReadme does what the README's walkthrough does with curl,
// against stepq serve examples/shop.step in memory: insert products and
// line items, read basket_totals by basket_id, and see a price change
// on the change stream; SIGTERM then stops it cleanly.
func TestServeReadme(t *testing.T) {
	s := startServe(t, "examples/shop.step")
	walkthrough(t, s)
	s.stop(t)
}

// TestServeDirectory serves a program kept in a directory of .step
// files as it serves the same program in one file.
func TestServeDirectory(t *testing.T) {
	s := startServe(t, "cmd/stepq/testdata/shop_dir")
	walkthrough(t, s)
	s.stop(t)
}

// TestServeReadmeDB is the walkthrough with --db against the README's
// Postgres tables, where a plain SQL UPDATE by another client appears on
// the stream too.
func TestServeReadmeDB(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	sql("DELETE FROM line_items; DELETE FROM products")
	s := startServe(t, "--db", dsn, "--schema", prog, "examples/shop.step")
	walkthrough(t, s)
	lines := s.follow(t, "/api/views/basket_totals/changes?mode=follow")
	sql("UPDATE products SET price = 2.50 WHERE name = 'radio'")
	waitLine(t, lines, `{"row":{"basket_id":1,"total":"14.00","items":2},"weight":1}`)
	s.stop(t)
}

func walkthrough(t *testing.T, s *serving) {
	t.Helper()
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/tables/products", `[{"name": "tv", "price": "3.00"}, {"name": "radio", "price": "5.00"}]`, 201, `"rows":2}`},
		{"POST", "/api/tables/line_items", `[{"basket_id": 1, "product_name": "radio", "qty": 4}, {"basket_id": 1, "product_name": "tv", "qty": 1}]`, 201, `"rows":2}`},
		{"GET", "/api/views/basket_totals?basket_id=1", "", 200, `"rows":[{"basket_id":1,"total":"23.00","items":2}]`},
	} {
		code, body := s.curl(t, c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Fatalf("%s %s: %d %s, want %d and %s", c.method, c.path, code, body, c.code, c.want)
		}
	}
	lines := s.follow(t, "/api/views/basket_totals/changes")
	waitLine(t, lines, "event: snapshot")
	if code, body := s.curl(t, "PATCH", "/api/tables/products?name=tv", `{"price": "4.00"}`); code != 200 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	waitLine(t, lines, `data: {"step":`)
}

// TestServeJournal writes through a server with --journal, stops it,
// and starts another on the same journal: it serves the same rows.
func TestServeJournal(t *testing.T) {
	journal := t.TempDir() + "/shop.journal"
	s := startServe(t, "--journal", journal, "examples/shop.step")
	walkthrough(t, s)
	_, want := s.curl(t, "GET", "/api/views/basket_totals", "")
	s.stop(t)
	again := startServe(t, "--journal", journal, "examples/shop.step")
	if _, got := again.curl(t, "GET", "/api/views/basket_totals", ""); got != want {
		t.Fatalf("after a restart:\n%s\nwant\n%s", got, want)
	}
	again.stop(t)
	r := runStepq(t, repoRoot, "serve", "--db", "postgres://nowhere", "--journal", journal, "examples/shop.step")
	r.want(t, 2)
	if !strings.Contains(r.stderr, "--journal is for in memory") {
		t.Fatalf("--journal with --db: %s", r.stderr)
	}
}

// kill SIGKILLs the server, as a crash would end it, and waits for it to
// exit.
func (s *serving) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err == nil {
			t.Fatal("stepq serve exited cleanly after SIGKILL")
		}
	case <-testwait.Expired(t):
		t.Fatal("stepq serve did not exit after SIGKILL")
	}
}

// TestServeJournalKill writes through a server with --journal, SIGKILLs
// it right after its last answer, and starts another on the same
// journal: every write answered is there. The second server is written
// to and killed in turn, so the journal also goes on after a replay.
func TestServeJournalKill(t *testing.T) {
	journal := t.TempDir() + "/shop.journal"
	rounds := [][]struct{ method, path, body string }{
		{
			{"POST", "/api/tables/products", `[{"name": "tv", "price": "3.00"}, {"name": "radio", "price": "5.00"}, {"name": "lamp", "price": "1.25"}]`},
			{"POST", "/api/tables/line_items", `[{"basket_id": 1, "product_name": "radio", "qty": 4}, {"basket_id": 1, "product_name": "tv", "qty": 1}]`},
			{"POST", "/api/tables/line_items", `{"basket_id": 2, "product_name": "lamp", "qty": 2}`},
			{"PATCH", "/api/tables/products?name=tv", `{"price": "4.00"}`},
			{"DELETE", "/api/tables/line_items?basket_id=1&product_name=radio", ""},
		},
		{
			{"POST", "/api/tables/line_items", `{"basket_id": 3, "product_name": "tv", "qty": 5}`},
			{"PATCH", "/api/tables/line_items?basket_id=2&product_name=lamp", `{"qty": 3}`},
			{"DELETE", "/api/tables/products?name=radio", ""},
		},
	}
	var want []string // what the views answer after each round
	for i, round := range rounds {
		s := startServe(t, "--journal", journal, "examples/shop.step")
		if i > 0 {
			assertViews(t, s, want, "after a restart")
		}
		for _, w := range round {
			if code, body := s.curl(t, w.method, w.path, w.body); code/100 != 2 {
				t.Fatalf("%s %s: %d %s", w.method, w.path, code, body)
			}
		}
		want = want[:0]
		for _, view := range []string{"basket_totals", "receipts"} {
			_, body := s.curl(t, "GET", "/api/views/"+view, "")
			want = append(want, body)
		}
		s.kill(t)
	}
	s := startServe(t, "--journal", journal, "examples/shop.step")
	assertViews(t, s, want, "after the last restart")
	if !strings.Contains(want[0], `{"basket_id":3,"total":"20.00","items":1}`) {
		t.Errorf("basket 3 is not as written: %s", want[0])
	}
	s.stop(t)
}

// assertViews checks that the server answers the views basket_totals and
// receipts as want holds them.
func assertViews(t *testing.T, s *serving, want []string, when string) {
	t.Helper()
	for i, view := range []string{"basket_totals", "receipts"} {
		if _, got := s.curl(t, "GET", "/api/views/"+view, ""); got != want[i] {
			t.Errorf("%s %s:\n%s\nwant\n%s", view, when, got, want[i])
		}
	}
}
