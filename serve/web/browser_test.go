package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/serve"
	"github.com/stepping-io/stepping/serve/web"
)

// The browser tests open the pages in headless Chromium (Debian's
// package, /usr/bin/chromium) and change the program's tables through
// the API while a page is open, as a person would watch it.

var screenshot = flag.String("screenshot", "", "write a screenshot of the shop's live basket_totals page to this PNG file (docs/serve-live.png)")

const chromium = "/usr/bin/chromium"

// live is how long a change may take from the API's answer to the open
// page.
const live = time.Second

// browser starts a headless Chromium for the test, or skips the test
// when there is none; under CI=true a missing Chromium is a failure, as
// a missing Postgres is.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s (CI installs it through .ci/run): %v", chromium, err)
		}
		t.Skipf("no Chromium at %s: apt-get install chromium to run the browser tests", chromium)
	}
	// The background-networking flags keep Chromium from dialling out,
	// which this machine's closed network refuses.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 700),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// site is a program served in memory by package serve with its pages,
// over loopback, and the change stream requests the browser made.
type site struct {
	t   *testing.T
	srv *httptest.Server
	// streams receives the Last-Event-ID of each change stream request
	// ("" for none).
	streams chan string
	// gate, while held, keeps change stream requests from reaching the
	// server, so that steps can pass while a page is disconnected.
	gate sync.RWMutex
	// client makes a connection per request: the tests cut the
	// server's connections, and a request on a connection cut under it
	// would fail.
	client *http.Client
	// token, when set, is sent as the bearer token of every request.
	token string
}

func start(t *testing.T, program string, opts serve.Options) *site {
	prog := compile(t, program)
	eng := prog.OpenMemory()
	opts.Pages = web.Handler(prog)
	opts.Logger = slog.New(slog.DiscardHandler)
	api, err := serve.New(context.Background(), prog, eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, streams: make(chan string, 100), client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/changes") {
			s.streams <- r.Header.Get("Last-Event-ID")
			s.gate.RLock()
			s.gate.RUnlock()
		}
		api.ServeHTTP(w, r)
	}))
	// Cleanups run last first: the streams end, then the listener, then
	// the engine.
	t.Cleanup(func() { eng.Close() })
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		if err := api.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// send makes a request of the API and returns the step its answer
// names.
func (s *site) send(method, path, body string, want int) int64 {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s %s: %s %s", method, path, body, resp.Status, answer)
	}
	var step struct{ Step int64 }
	if err := json.Unmarshal(answer, &step); err != nil {
		s.t.Fatalf("%s %s: %v in %s", method, path, err, answer)
	}
	return step.Step
}

// post inserts rows through the API and returns the step that made them
// visible.
func (s *site) post(table, rows string) int64 {
	s.t.Helper()
	return s.send("POST", "/api/tables/"+table, rows, http.StatusCreated)
}

// stream waits for the browser's next change stream request and returns
// its Last-Event-ID.
func (s *site) stream() string {
	s.t.Helper()
	select {
	case id := <-s.streams:
		return id
	case <-testwait.Expired(s.t):
		s.t.Fatal("the page opened no change stream")
		return ""
	}
}

// run runs browser actions, failing the test with what it was doing.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs a browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// within runs actions that wait for a change made at start to show, and
// fails the test when they took longer than live.
func within(t *testing.T, ctx context.Context, start time.Time, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, actions...)
	took := time.Since(start)
	t.Logf("%s took %v", what, took)
	if took > live {
		t.Errorf("%s took %v, want at most %v", what, took, live)
	}
}

// visible waits for an element that matches the CSS selector sel.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// cells reads the text of each cell of the rows' table.
func cells(t *testing.T, ctx context.Context) [][]string {
	t.Helper()
	return get(t, ctx, "reading the rows", chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#rows tr")].map(tr => [...tr.children].map(td => td.textContent))`))
}

// text reads the text of the first element that matches sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "reading "+sel, chromedp.TextContent(chromedp.CSS(sel)))
}

func TestBrowserViewPage(t *testing.T) {
	s := start(t, "shop", serve.Options{})
	s.post("products", `[{"name": "tv", "price": "3.0"}, {"name": "radio", "price": 5.0}, {"name": "phone", "price": "120.00"}]`)
	s.post("line_items", `[{"basket_id": 1, "product_name": "radio", "qty": 4}, {"basket_id": 1, "product_name": "tv", "qty": 1}]`)
	ctx := browser(t)

	run(t, ctx, "opening /views/basket_totals",
		chromedp.Navigate(s.srv.URL+"/views/basket_totals"),
		visible(`#status.live`),
		visible(`#rows tr[data-key="[1]"]`),
	)
	if id := s.stream(); id != "" {
		t.Errorf("the first stream request has Last-Event-ID %q", id)
	}
	checkRows(t, "the snapshot", cells(t, ctx), [][]string{{"1", "23.0", "2"}})

	start := time.Now()
	step := s.post("line_items", `{"basket_id": 2, "product_name": "phone", "qty": 1}`)
	within(t, ctx, start, "a new basket's row appearing",
		visible(fmt.Sprintf(`#rows tr.changed[data-key="[2]"][data-step="%d"]`, step)))
	checkRows(t, "after a new basket", cells(t, ctx), [][]string{{"1", "23.0", "2"}, {"2", "120.00", "1"}})

	// A basket's new total replaces its row in place: the same element,
	// marked as changed.
	get(t, ctx, "marking basket 1's row", chromedp.Evaluate[string](`document.querySelector('#rows tr[data-key="[1]"]').dataset.mark = "kept"`))
	start = time.Now()
	step = s.post("line_items", `{"basket_id": 1, "product_name": "phone", "qty": 2}`)
	within(t, ctx, start, "basket 1's row updating",
		visible(fmt.Sprintf(`#rows tr.changed[data-key="[1]"][data-step="%d"][data-mark="kept"]`, step)))
	checkRows(t, "after basket 1 changed", cells(t, ctx), [][]string{{"1", "263.00", "3"}, {"2", "120.00", "1"}})
	if count := text(t, ctx, "#count"); count != "2 rows" {
		t.Errorf("the page counts %q, want 2 rows", count)
	}

	// A basket emptied: its row goes.
	step = s.send("DELETE", "/api/tables/line_items?basket_id=2&product_name=phone", "", http.StatusOK)
	run(t, ctx, "basket 2's row going", chromedp.WaitNotPresent(chromedp.CSS(`#rows tr[data-key="[2]"]`)))
	checkRows(t, "after basket 2 emptied", cells(t, ctx), [][]string{{"1", "263.00", "3"}})
	// A dropped connection: the browser reconnects by itself, asks for
	// the changes after the last step it has, and gets no second copy.
	s.srv.CloseClientConnections()
	if id := s.stream(); id != fmt.Sprint(step) {
		t.Errorf("the page resumed with Last-Event-ID %q, want %d", id, step)
	}
	// Basket 10 goes after basket 2: rows are in the key's order, by
	// value, not by text.
	step = s.post("line_items", `{"basket_id": 10, "product_name": "tv", "qty": 5}`)
	run(t, ctx, "basket 10 appearing after the reconnection",
		visible(fmt.Sprintf(`#rows tr[data-key="[10]"][data-step="%d"]`, step)),
		visible(`#status.live`))
	checkRows(t, "after reconnecting", cells(t, ctx), [][]string{{"1", "263.00", "3"}, {"10", "15.0", "1"}})

	if *screenshot != "" {
		// The README's picture: a page opened anew (no row marked), then
		// one basket changing.
		s.post("line_items", `[{"basket_id": 4, "product_name": "radio", "qty": 2}, {"basket_id": 4, "product_name": "tv", "qty": 3},
			{"basket_id": 2, "product_name": "tv", "qty": 2}]`)
		run(t, ctx, "opening the page again",
			chromedp.EmulateViewport(640, 330),
			chromedp.Navigate(s.srv.URL+"/views/basket_totals"),
			visible(`#status.live`),
			visible(`#rows tr[data-key="[4]"]`))
		step = s.send("PATCH", "/api/tables/line_items?basket_id=2&product_name=tv", `{"qty": 3}`, http.StatusOK)
		run(t, ctx, "basket 2 changing", visible(fmt.Sprintf(`#rows tr.changed[data-key="[2]"][data-step="%d"]`, step)))
		png := get(t, ctx, "taking a screenshot", chromedp.FullScreenshot(100))
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrowserPages(t *testing.T) {
	s := start(t, "comments", serve.Options{})
	s.post("users", `[{"id": 1, "name": "ann"}, {"id": 2, "name": "Bobby"}, {"id": 3, "name": "cy"}]`)
	s.post("posts", `[{"id": 10, "title": "Hello"}, {"id": 30, "title": "Tips & <tricks>"}]`)
	s.post("comments", `[{"id": 2, "post_id": 10, "author_id": 2, "body": "Welcome, ann", "at": "2024-03-01 10:05:00"},
		{"id": 4, "post_id": 10, "author_id": 3, "body": "Agreed", "at": "2024-03-01 10:03:00"},
		{"id": 6, "post_id": 30, "author_id": 3, "body": "Hmm", "at": "2024-03-03 12:00:00"}]`)
	ctx := browser(t)

	// page reads the page's title and its comments.
	page := func() (string, string) {
		items := get(t, ctx, "reading the comments", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#page li")].map(li => li.textContent)`))
		return text(t, ctx, "#page h1"), strings.Join(items, "|")
	}
	run(t, ctx, "opening post 10's page",
		chromedp.Navigate(s.srv.URL+"/pages/post_pages?post=10"),
		visible(`#page article h1`))
	if title, items := page(); title != "Hello" || items != "cy: Agreed|Bobby: Welcome, ann" {
		t.Errorf("post 10's page shows %q %q", title, items)
	}

	// A comment full of markup: the page is replaced with the new html,
	// where the comment is text.
	const body = `<img src="x" onerror="document.body.dataset.ran = 1"> & <script>document.body.dataset.ran = 2</script>`
	data, _ := json.Marshal(map[string]any{"id": 7, "post_id": 10, "author_id": 1, "body": body, "at": "2024-03-04 08:00:00"})
	began := time.Now()
	step := s.post("comments", string(data))
	within(t, ctx, began, "the new comment appearing on post 10's page",
		visible(fmt.Sprintf(`#page[data-step="%d"] article`, step)))
	if _, items := page(); items != "cy: Agreed|Bobby: Welcome, ann|ann: "+body {
		t.Errorf("post 10's page shows %q, want the new comment as text", items)
	}
	if get(t, ctx, "looking for markup", chromedp.Evaluate[bool](`document.querySelector("#page img, #page script") !== null || "ran" in document.body.dataset`)) {
		t.Error("a comment's markup became elements of the page")
	}
	if title := get(t, ctx, "reading the title", chromedp.Title()); title != "Hello · stepping" {
		t.Errorf("the page's title is %q", title)
	}

	// Steps that leave post 10's row as it is leave its page alone.
	s.post("users", `{"id": 4, "name": "dee"}`)
	s.post("comments", `{"id": 8, "post_id": 30, "author_id": 1, "body": "Thanks", "at": "2024-03-04 09:00:00"}`)
	if shown := get(t, ctx, "reading the page's step", chromedp.AttributeValue(chromedp.CSS(`#page`), "data-step")); shown.Value != fmt.Sprint(step) {
		t.Errorf("post 10's page shows step %s, want %d: it was rendered again for a change of another row", shown.Value, step)
	}

	// A commenter renames themselves: the page follows.
	began = time.Now()
	step = s.send("PATCH", "/api/tables/users?id=3", `{"name": "cyril"}`, http.StatusOK)
	within(t, ctx, began, "a rename reaching post 10's page",
		visible(fmt.Sprintf(`#page[data-step="%d"] article`, step)))
	if _, items := page(); items != "cyril: Agreed|Bobby: Welcome, ann|ann: "+body {
		t.Errorf("after the rename post 10's page shows %q", items)
	}

	run(t, ctx, "opening post 30's page",
		chromedp.Navigate(s.srv.URL+"/pages/post_pages?post=30"),
		visible(`#page article h1`))
	if title, items := page(); title != "Tips & <tricks>" || items != "cyril: Hmm|ann: Thanks" {
		t.Errorf("post 30's page shows %q %q", title, items)
	}

	// Its comments deleted, post 30 has no row and no page.
	s.send("DELETE", "/api/tables/comments?id=6", "", http.StatusOK)
	s.send("DELETE", "/api/tables/comments?id=8", "", http.StatusOK)
	run(t, ctx, "post 30's page emptying", visible(`#page p.missing`))

	run(t, ctx, "opening a page of no post",
		chromedp.Navigate(s.srv.URL+"/pages/post_pages?post=99"),
		visible(`#page p.missing`))
	if missing := text(t, ctx, "#page p.missing"); missing != "post_pages has no row where post = 99." {
		t.Errorf("a page of no post says %q", missing)
	}
}

// TestBrowserEscapes checks that the table pages show users' text as
// text: a comment with markup in the threads view.
func TestBrowserEscapes(t *testing.T) {
	s := start(t, "comments", serve.Options{})
	s.post("users", `{"id": 1, "name": "<b>ann</b>"}`)
	s.post("posts", `{"id": 10, "title": "Hello"}`)
	ctx := browser(t)
	run(t, ctx, "opening /views/threads",
		chromedp.Navigate(s.srv.URL+"/views/threads"),
		visible(`#status.live`))
	const body = `<img src="x" onerror="document.body.dataset.ran = 1">`
	data, _ := json.Marshal(map[string]any{"id": 1, "post_id": 10, "author_id": 1, "body": body, "at": "2024-03-04 08:00:00"})
	step := s.post("comments", string(data))
	run(t, ctx, "the comment appearing", visible(fmt.Sprintf(`#rows tr[data-step="%d"]`, step)))
	if rows := cells(t, ctx); len(rows) != 1 || rows[0][4] != "<b>ann</b>: "+body || rows[0][3] != "<b>ann</b>" {
		t.Errorf("the threads page shows %q", rows)
	}
	if get(t, ctx, "looking for markup", chromedp.Evaluate[bool](`document.querySelector("#rows img, #rows b") !== null || "ran" in document.body.dataset`)) {
		t.Error("a value's markup became elements of the page")
	}
}

func checkRows(t *testing.T, when string, got, want [][]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s the page shows %q, want %q", when, got, want)
	}
}

// TestBrowserIndexForm inserts rows with the index's forms.
func TestBrowserIndexForm(t *testing.T) {
	s := start(t, "shop", serve.Options{})
	ctx := browser(t)
	form := `form[data-table="products"] `
	run(t, ctx, "opening the index and inserting a product",
		chromedp.Navigate(s.srv.URL+"/"),
		visible(form+`input[name="name"]`),
		chromedp.SetValue(chromedp.CSS(form+`input[name="name"]`), "tv <b>"),
		chromedp.SetValue(chromedp.CSS(form+`input[name="price"]`), "3.50"),
		chromedp.Click(chromedp.CSS(form+`button`)),
		visible(form+`output.ok`))
	if got := text(t, ctx, form+"output"); got != "inserted 1 row, visible from step 1" {
		t.Errorf("the form says %q", got)
	}
	// The same key again: the API refuses it, and the form says why.
	run(t, ctx, "inserting the product again",
		chromedp.Click(chromedp.CSS(form+`button`)),
		visible(form+`output.error`))
	if got := text(t, ctx, form+"output"); !strings.Contains(got, "tv <b>") {
		t.Errorf("the form says %q, want the API's message naming the key", got)
	}
}

// TestBrowserStartsAgain checks that a page whose missed steps are no
// longer kept (410 to its resumption) starts again from a snapshot.
func TestBrowserStartsAgain(t *testing.T) {
	s := start(t, "shop", serve.Options{KeepSteps: 2})
	s.post("products", `[{"name": "tv", "price": "3.0"}]`)
	opened := s.post("line_items", `{"basket_id": 1, "product_name": "tv", "qty": 1}`)
	ctx := browser(t)
	run(t, ctx, "opening /views/basket_totals",
		chromedp.Navigate(s.srv.URL+"/views/basket_totals"),
		visible(`#rows tr[data-key="[1]"]`))
	s.stream()

	// The page is cut off while four steps pass, more than are kept.
	s.gate.Lock()
	s.srv.CloseClientConnections()
	var step int64
	for basket := 2; basket <= 5; basket++ {
		step = s.post("line_items", fmt.Sprintf(`{"basket_id": %d, "product_name": "tv", "qty": %d}`, basket, basket))
	}
	s.gate.Unlock()
	if id := s.stream(); id != fmt.Sprint(opened) {
		t.Errorf("the page resumed with Last-Event-ID %q, want %d", id, opened)
	}
	if id := s.stream(); id != "" {
		t.Errorf("after a 410 the page asked again with Last-Event-ID %q, want a snapshot", id)
	}
	run(t, ctx, "the page's snapshot", visible(fmt.Sprintf(`#live[data-step="%d"] #status.live`, step)))
	checkRows(t, "after starting again", cells(t, ctx), [][]string{
		{"1", "3.0", "1"}, {"2", "6.0", "1"}, {"3", "9.0", "1"}, {"4", "12.0", "1"}, {"5", "15.0", "1"}})
}

// With tokens, a page opened with the read token in its query follows
// its change stream (EventSource sends no header) and its links carry
// the token on.
func TestBrowserWithTokens(t *testing.T) {
	s := start(t, "shop", serve.Options{WriteToken: "w", ReadToken: "r"})
	s.token = "w"
	s.post("products", `[{"name": "tv", "price": "3.0"}]`)
	ctx := browser(t)

	run(t, ctx, "opening the index with the read token",
		chromedp.Navigate(s.srv.URL+"/?access_token=r"),
		visible(`a[href*="basket_totals"][href*="access_token=r"]`),
	)
	run(t, ctx, "opening /views/basket_totals with the read token",
		chromedp.Navigate(s.srv.URL+"/views/basket_totals?access_token=r"),
		visible(`#status.live`),
	)
	start := time.Now()
	step := s.post("line_items", `{"basket_id": 7, "product_name": "tv", "qty": 1}`)
	within(t, ctx, start, "a new basket's row appearing",
		visible(fmt.Sprintf(`#rows tr.changed[data-key="[7]"][data-step="%d"]`, step)))
}
