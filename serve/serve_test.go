package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/serve"
	"github.com/stepping-io/stepping/serve/journal"
	"github.com/stepping-io/stepping/serve/metrics"
)

// seeded serves the shop with two products and three line items.
func seeded(t *testing.T, opts serve.Options) *server {
	t.Helper()
	s := start(t, shopSource(t), opts)
	s.must(t, 201, "POST", "/api/tables/products", `[{"name": "tv", "price": "3.00"}, {"name": "radio", "price": 5}]`, "Authorization", "Bearer "+opts.WriteToken)
	s.must(t, 201, "POST", "/api/tables/line_items", `[{"basket_id": 1, "product_name": "tv", "qty": 2},
		{"basket_id": 1, "product_name": "radio", "qty": 1}, {"basket_id": 2, "product_name": "tv", "qty": 1}]`, "Authorization", "Bearer "+opts.WriteToken)
	return s
}

// TestReadView checks GET /api/views/{view}: filters, the step, the
// columns, CSV, and the errors of bad requests.
func TestReadView(t *testing.T) {
	s := seeded(t, serve.Options{})
	tests := []struct {
		name   string
		path   string
		accept string
		code   int
		want   string // the body, or for an error a part of its message
		field  string
	}{
		{"all rows", "/api/views/basket_totals", "", 200,
			`{"view":"basket_totals","step":2,"columns":[{"name":"basket_id","type":"int8","nullable":false},{"name":"total","type":"numeric","nullable":false},{"name":"items","type":"int8","nullable":false}],` +
				`"rows":[{"basket_id":1,"total":"11.00","items":2},{"basket_id":2,"total":"3.00","items":1}],"next":null}` + "\n", ""},
		{"by basket_id", "/api/views/basket_totals?basket_id=2", "", 200,
			`"rows":[{"basket_id":2,"total":"3.00","items":1}]`, ""},
		{"no such basket", "/api/views/basket_totals?basket_id=9", "", 200, `"rows":[]`, ""},
		{"csv", "/api/views/basket_totals", "text/csv", 200, "basket_id,total,items\n1,11.00,2\n2,3.00,1\n", ""},
		{"csv of text", "/api/views/receipts", "text/csv", 200, "receipt\nBasket id: 1 total: $11.00\nBasket id: 2 total: $3.00\n", ""},
		{"filter on another column", "/api/views/basket_totals?total=3", "", 400, "basket_totals cannot be filtered on total: filter on basket_id", "total"},
		{"filter of the wrong type", "/api/views/basket_totals?basket_id=x", "", 400, `basket_totals.basket_id: want int8, got "x"`, "basket_id"},
		{"no filter on a view without keys", "/api/views/receipts?receipt=x", "", 400, "filter on nothing", "receipt"},
		{"bad limit", "/api/views/basket_totals?limit=0", "", 400, "limit: want a number from 1 to 100000", "limit"},
		{"bad cursor", "/api/views/basket_totals?cursor=%21", "", 400, "cursor: not one this server gave", "cursor"},
		{"not an output", "/api/views/line_items", "", 404, `no view "line_items"`, ""},
		{"no such path", "/api/nothing", "", 404, "no such path", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "GET", tt.path, "", "Accept", tt.accept)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d: %s", r.code, tt.code, r.body)
			}
			if tt.code != 200 {
				e := r.apiError(t)
				if !strings.Contains(e.Error.Message, tt.want) || e.Error.Field != tt.field {
					t.Fatalf("error %+v, want a message containing %q and field %q", e.Error, tt.want, tt.field)
				}
				return
			}
			if got := r.header.Get("X-Stepping-Step"); got != "2" {
				t.Errorf("X-Stepping-Step %q, want 2", got)
			}
			if !strings.Contains(r.body, tt.want) || (strings.HasPrefix(tt.want, "{") && r.body != tt.want) {
				t.Fatalf("body\n%s\nwant\n%s", r.body, tt.want)
			}
		})
	}
	r := s.do(t, "POST", "/api/views/basket_totals", `{}`)
	if r.code != 405 || r.apiError(t).Error.Code != "method_not_allowed" || r.header.Get("Allow") != "GET" {
		t.Fatalf("POST to a view: %d %s (Allow %q)", r.code, r.body, r.header.Get("Allow"))
	}
}

// TestPagination walks a view with a cursor, a page at a time, while
// rows are written between pages: every row there from the start is
// seen exactly once, in order.
func TestPagination(t *testing.T) {
	for _, tc := range []struct {
		name, src, view string
		rows            int
	}{
		{"by primary key", "table t (id int8, v text, primary key (id))\nview all_t = t | select { id, v }\noutput all_t to table all_t primary key (id)", "all_t", 23},
		{"by all columns, with equal rows", "table t (id int8, v text)\nview all_t = t | select { v }\noutput all_t", "all_t", 23},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.src, serve.Options{})
			var rows []string
			for i := range tc.rows {
				rows = append(rows, fmt.Sprintf(`{"id": %d, "v": "v%02d"}`, i, i/2))
			}
			s.must(t, 201, "POST", "/api/tables/t", "["+strings.Join(rows, ",")+"]")
			var seen []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > tc.rows {
					t.Fatal("the walk does not end")
				}
				path := "/api/views/" + tc.view + "?limit=4"
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				var page struct {
					Rows []map[string]any `json:"rows"`
					Next *string          `json:"next"`
				}
				if err := json.Unmarshal([]byte(s.must(t, 200, "GET", path, "")), &page); err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Rows {
					seen = append(seen, fmt.Sprint(r["id"], r["v"]))
				}
				// A write between pages moves no row already passed.
				s.must(t, 201, "POST", "/api/tables/t", fmt.Sprintf(`{"id": %d, "v": "zz"}`, 1000+pages))
				if page.Next == nil {
					break
				}
				cursor = *page.Next
			}
			// Rows written during the walk sort last (id >= 1000, v
			// "zz"); some of them are seen, and the original rows all
			// are, once each.
			count := map[string]int{}
			for _, r := range seen {
				count[r]++
			}
			orig := 0
			for i := range tc.rows {
				k := fmt.Sprint(float64(i), fmt.Sprintf("v%02d", i/2))
				if tc.view == "all_t" && strings.Contains(tc.src, "select { v }") {
					k = fmt.Sprint(nil, fmt.Sprintf("v%02d", i/2))
				}
				orig += count[k]
			}
			if want := tc.rows; orig != want && !strings.Contains(tc.src, "select { v }") {
				t.Fatalf("saw %d of the %d rows: %v", orig, want, seen)
			}
			if strings.Contains(tc.src, "select { v }") {
				// Equal rows: each v of the first rows appears twice
				// (ids 2k and 2k+1), the last once.
				for i := 0; i < tc.rows; i += 2 {
					k := fmt.Sprint(nil, fmt.Sprintf("v%02d", i/2))
					want := 2
					if i+1 == tc.rows {
						want = 1
					}
					if count[k] != want {
						t.Fatalf("%s seen %d times, want %d: %v", k, count[k], want, seen)
					}
				}
				return
			}
			for k, n := range count {
				if n != 1 {
					t.Fatalf("%s seen %d times: %v", k, n, seen)
				}
			}
		})
	}
}

// TestWrites checks POST, PATCH and DELETE and every way a write is
// refused: each refused write leaves the tables as they were.
func TestWrites(t *testing.T) {
	const src = `
table products (name text, price numeric, primary key (name))
table line_items (basket_id int8, product_name text, qty int4, note text?, primary key (basket_id, product_name))
table log (msg text)
view per_item = line_items | select { basket_id, product_name, unit = 10 / qty }
view logged = log | select { msg }
output per_item to table per_item primary key (basket_id, product_name)
output logged`
	tests := []struct {
		name         string
		method, path string
		body         string
		ctype        string
		code         int
		errCode      string
		field        string
		msg          string // a part of the message, or of the body on success
	}{
		{"insert one", "POST", "/api/tables/line_items", `{"basket_id": 3, "product_name": "tv", "qty": 1}`, "", 201, "", "", `{"step":2,"rows":1}`},
		{"insert many, numbers as text", "POST", "/api/tables/line_items", `[{"basket_id": "3", "product_name": "tv", "qty": 1}, {"basket_id": 3, "product_name": "radio", "qty": "2", "note": null}]`, "", 201, "", "", `"rows":2`},
		{"unknown field", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 1, "colour": "red"}`, "", 400, "bad_request", "colour", "line_items has no column colour"},
		{"wrong type", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": "two"}`, "", 400, "bad_request", "qty", `line_items.qty: want int4, got "two"`},
		{"text for a number", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": 7, "qty": 1}`, "", 400, "bad_request", "product_name", `line_items.product_name: want text, got 7`},
		{"out of range", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 3000000000}`, "", 400, "bad_request", "qty", "integer out of range"},
		{"missing non-null", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv"}`, "", 400, "bad_request", "qty", "line_items.qty: want int4, got nothing"},
		{"null for non-null", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": null}`, "", 400, "bad_request", "qty", "want int4, got null"},
		{"second row bad: nothing applied", "POST", "/api/tables/line_items", `[{"basket_id": 9, "product_name": "tv", "qty": 1}, {"basket_id": 9}]`, "", 400, "bad_request", "product_name", "want text, got nothing"},
		{"not an object", "POST", "/api/tables/line_items", `[1]`, "", 400, "bad_request", "", "row 1: want a JSON object"},
		{"not JSON", "POST", "/api/tables/line_items", `{"basket_id": `, "", 400, "bad_request", "", "not JSON"},
		{"two values", "POST", "/api/tables/line_items", `{} {}`, "", 400, "bad_request", "", "more than one JSON value"},
		{"empty array", "POST", "/api/tables/line_items", `[]`, "", 400, "bad_request", "", "no rows given"},
		{"duplicate key", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 5}`, "", 409, "conflict", "", "duplicate primary key"},
		{"duplicate within the body: nothing applied", "POST", "/api/tables/line_items", `[{"basket_id": 8, "product_name": "tv", "qty": 1}, {"basket_id": 8, "product_name": "tv", "qty": 2}]`, "", 409, "conflict", "", "duplicate primary key"},
		{"step fails: nothing applied", "POST", "/api/tables/line_items", `{"basket_id": 7, "product_name": "tv", "qty": 0}`, "", 422, "failed", "", "division by zero"},
		{"wrong content type", "POST", "/api/tables/line_items", `{}`, "text/plain", 415, "unsupported_media_type", "", "application/json"},
		{"too large", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "` + strings.Repeat("x", 300) + `", "qty": 1}`, "", 413, "too_large", "", "larger than 256 bytes"},
		{"unknown table", "POST", "/api/tables/nope", `{}`, "", 404, "not_found", "", `no table "nope"`},
		{"patch", "PATCH", "/api/tables/line_items?basket_id=1&product_name=tv", `{"qty": 5}`, "", 200, "", "", `"rows":1`},
		{"patch to null", "PATCH", "/api/tables/line_items?basket_id=1&product_name=tv", `{"note": null}`, "", 200, "", "", `"rows":1`},
		{"patch the key", "PATCH", "/api/tables/line_items?basket_id=1&product_name=tv", `{"basket_id": 2}`, "", 400, "bad_request", "basket_id", "part of the primary key"},
		{"patch unknown field", "PATCH", "/api/tables/line_items?basket_id=1&product_name=tv", `{"colour": 2}`, "", 400, "bad_request", "colour", "no column colour"},
		{"patch wrong type", "PATCH", "/api/tables/products?name=tv", `{"price": true}`, "", 400, "bad_request", "price", "products.price: want numeric, got true"},
		{"patch partial key", "PATCH", "/api/tables/line_items?basket_id=1", `{"qty": 5}`, "", 400, "bad_request", "product_name", "whole primary key"},
		{"patch by another column", "PATCH", "/api/tables/line_items?basket_id=1&product_name=tv&qty=2", `{"qty": 5}`, "", 400, "bad_request", "qty", "not part of line_items's primary key"},
		{"patch bad key value", "PATCH", "/api/tables/line_items?basket_id=x&product_name=tv", `{"qty": 5}`, "", 400, "bad_request", "basket_id", `line_items.basket_id: want int8, got "x"`},
		{"patch absent key", "PATCH", "/api/tables/line_items?basket_id=99&product_name=tv", `{"qty": 5}`, "", 404, "not_found", "", "holds no row with basket_id=99, product_name=tv"},
		{"patch failing step", "PATCH", "/api/tables/line_items?basket_id=1&product_name=tv", `{"qty": 0}`, "", 422, "failed", "", "division by zero"},
		{"delete absent key", "DELETE", "/api/tables/line_items?basket_id=99&product_name=tv", ``, "", 404, "not_found", "", "holds no row"},
		{"delete", "DELETE", "/api/tables/line_items?basket_id=2&product_name=radio", ``, "", 200, "", "", `"rows":1`},
		{"table without a key: patch", "PATCH", "/api/tables/log?msg=x", `{}`, "", 405, "method_not_allowed", "", "log has no primary key: it takes POST only"},
		{"table without a key: delete", "DELETE", "/api/tables/log?msg=x", ``, "", 405, "method_not_allowed", "", "POST only"},
		{"table without a key: insert twice", "POST", "/api/tables/log", `[{"msg": "x"}, {"msg": "x"}]`, "", 201, "", "", `"rows":2`},
		{"get a table", "GET", "/api/tables/line_items", ``, "", 405, "method_not_allowed", "", "a table takes POST, PATCH, DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, src, serve.Options{MaxBodyBytes: 256})
			s.must(t, 201, "POST", "/api/tables/line_items", `[{"basket_id": 1, "product_name": "tv", "qty": 2}, {"basket_id": 2, "product_name": "radio", "qty": 1}]`)
			before := s.must(t, 200, "GET", "/api/views/per_item", "")
			var headers []string
			if tt.ctype != "" {
				headers = []string{"Content-Type", tt.ctype}
			}
			r := s.do(t, tt.method, tt.path, tt.body, headers...)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d: %s", r.code, tt.code, r.body)
			}
			if tt.errCode == "" {
				if !strings.Contains(r.body, tt.msg) {
					t.Fatalf("body %s, want it to contain %s", r.body, tt.msg)
				}
				return
			}
			e := r.apiError(t)
			if e.Error.Code != tt.errCode || e.Error.Field != tt.field || !strings.Contains(e.Error.Message, tt.msg) {
				t.Fatalf("error %+v, want code %s, field %q, a message containing %q", e.Error, tt.errCode, tt.field, tt.msg)
			}
			after := s.must(t, 200, "GET", "/api/views/per_item", "")
			if after != before {
				t.Fatalf("a refused write changed the view:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestWriteSteps checks that each write is one step, that its answer's
// step shows it, and that PATCH and DELETE change what they name.
func TestWriteSteps(t *testing.T) {
	s := seeded(t, serve.Options{})
	body := s.must(t, 200, "PATCH", "/api/tables/products?name=tv", `{"price": "4.00"}`)
	if body != `{"step":3,"rows":1}`+"\n" {
		t.Fatalf("PATCH answered %s", body)
	}
	got := s.must(t, 200, "GET", "/api/views/basket_totals?basket_id=1", "")
	if !strings.Contains(got, `"step":3`) || !strings.Contains(got, `"total":"13.00"`) {
		t.Fatalf("after the PATCH: %s", got)
	}
	s.must(t, 200, "DELETE", "/api/tables/line_items?basket_id=1&product_name=radio", "")
	got = s.must(t, 200, "GET", "/api/views/basket_totals?basket_id=1", "")
	if !strings.Contains(got, `"step":4`) || !strings.Contains(got, `{"basket_id":1,"total":"8.00","items":1}`) {
		t.Fatalf("after the DELETE: %s", got)
	}
}

// TestSafety checks tokens, CORS and the paths open without a token.
func TestSafety(t *testing.T) {
	s := seeded(t, serve.Options{WriteToken: "w", ReadToken: "r", CORSOrigins: []string{"https://app.example"}})
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		code    int
		errCode string
	}{
		{"healthz needs no token", "GET", "/healthz", "", nil, 200, ""},
		{"readyz needs no token", "GET", "/readyz", "", nil, 200, ""},
		{"no token", "GET", "/api/views/basket_totals", "", nil, 401, "unauthorized"},
		{"wrong token", "GET", "/api/views/basket_totals", "", []string{"Authorization", "Bearer x"}, 401, "unauthorized"},
		{"not bearer", "GET", "/api/views/basket_totals", "", []string{"Authorization", "Basic r"}, 401, "unauthorized"},
		{"read token reads", "GET", "/api/views/basket_totals", "", []string{"Authorization", "Bearer r"}, 200, ""},
		{"read token may not write", "POST", "/api/tables/products", `{"name": "hifi", "price": 1}`, []string{"Authorization", "Bearer r"}, 403, "forbidden"},
		{"write token reads", "GET", "/api/views/basket_totals", "", []string{"Authorization", "Bearer w"}, 200, ""},
		{"write token writes", "POST", "/api/tables/products", `{"name": "hifi", "price": 1}`, []string{"Authorization", "Bearer w"}, 201, ""},
		{"index needs a token", "GET", "/", "", nil, 401, "unauthorized"},
		{"preflight of an allowed origin", "OPTIONS", "/api/tables/products", "", []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST"}, 204, ""},
		{"preflight of another origin", "OPTIONS", "/api/tables/products", "", []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}, 403, "forbidden"},
		{"no metrics", "GET", "/metrics", "", []string{"Authorization", "Bearer r"}, 404, "not_found"},
		{"no OpenAPI document", "GET", "/openapi.json", "", []string{"Authorization", "Bearer r"}, 404, "not_found"},
		{"no docs", "GET", "/docs", "", []string{"Authorization", "Bearer r"}, 404, "not_found"},
		// A browser's links and EventSource send no header: reading
		// takes the token in the query, writing never does.
		{"read token in the query reads", "GET", "/api/views/basket_totals?access_token=r", "", nil, 200, ""},
		{"a stream takes the token in the query", "GET", "/api/views/basket_totals/changes?mode=snapshot&access_token=r", "", nil, 200, ""},
		{"wrong token in the query", "GET", "/api/views/basket_totals?access_token=x", "", nil, 401, "unauthorized"},
		{"no write by a token in the query", "POST", "/api/tables/products?access_token=w", `{"name": "amp", "price": 1}`, nil, 401, "unauthorized"},
		{"the pages' static files need no token", "GET", "/static/live.js", "", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.body, tt.headers...)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d: %s", r.code, tt.code, r.body)
			}
			if tt.errCode != "" && r.apiError(t).Error.Code != tt.errCode {
				t.Fatalf("error %s, want code %s", r.body, tt.errCode)
			}
		})
	}
	r := s.do(t, "GET", "/api/views/basket_totals", "", "Authorization", "Bearer r", "Origin", "https://app.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("an allowed origin gets Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	r = s.do(t, "GET", "/api/views/basket_totals", "", "Authorization", "Bearer r", "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin gets Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	if r := s.do(t, "GET", "/api/views/basket_totals", ""); r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("a 401 without WWW-Authenticate")
	}
}

// TestIndex checks the JSON index served at / without pages, and that
// pages are mounted where docs/serve.md says when given.
func TestIndex(t *testing.T) {
	s := seeded(t, serve.Options{})
	var idx struct {
		Tables []struct {
			Name       string   `json:"name"`
			PrimaryKey []string `json:"primary_key"`
		} `json:"tables"`
		Views []struct {
			Name    string   `json:"name"`
			Filters []string `json:"filters"`
		} `json:"views"`
	}
	if err := json.Unmarshal([]byte(s.must(t, 200, "GET", "/", "")), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Tables) != 2 || idx.Tables[1].Name != "line_items" || strings.Join(idx.Tables[1].PrimaryKey, ",") != "basket_id,product_name" ||
		len(idx.Views) != 2 || idx.Views[0].Name != "basket_totals" || strings.Join(idx.Views[0].Filters, ",") != "basket_id" {
		t.Fatalf("index %+v", idx)
	}
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page "+r.URL.Path) })
	p := start(t, shopSource(t), serve.Options{Pages: pages, OpenAPI: []byte(`{"openapi":"3.1.0"}`), Docs: []byte("<html>docs</html>"), Metrics: metrics.New()})
	p.must(t, 201, "POST", "/api/tables/products", `{"name": "tv", "price": 1}`) // a step, observed
	p.must(t, 200, "GET", "/metrics", "")
	for _, path := range []string{"/", "/views/basket_totals", "/pages/x", "/static/app.js"} {
		if got := p.must(t, 200, "GET", path, ""); got != "page "+path {
			t.Errorf("GET %s: %q", path, got)
		}
	}
	if r := p.do(t, "GET", "/openapi.json", ""); r.body != `{"openapi":"3.1.0"}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("openapi.json: %q %q", r.body, r.header.Get("Content-Type"))
	}
	if r := p.do(t, "GET", "/docs", ""); r.body != "<html>docs</html>" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("docs: %q %q", r.body, r.header.Get("Content-Type"))
	}
}

// TestJournalReplay writes through a server with a journal, then
// replays the journal into a fresh engine through Apply: the views come
// out the same, PATCH and DELETE included.
func TestJournalReplay(t *testing.T) {
	path := t.TempDir() + "/journal"
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s := seeded(t, serve.Options{Journal: j})
	s.must(t, 200, "PATCH", "/api/tables/products?name=tv", `{"price": "4.50"}`)
	s.must(t, 200, "DELETE", "/api/tables/line_items?basket_id=1&product_name=radio", "")
	s.do(t, "POST", "/api/tables/products", `{"name": "tv", "price": 1}`) // refused: not journalled
	want := s.must(t, 200, "GET", "/api/views/basket_totals", "")

	prog, err := stepping.Compile("test.step", shopSource(t))
	if err != nil {
		t.Fatal(err)
	}
	replayed := startOn(t, prog, prog.OpenMemory(), serve.Options{})
	n := 0
	if err := j.Replay(func(e journal.Entry) error {
		n++
		_, err := replayed.srv.Apply(context.Background(), e)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d entries, want 4", n)
	}
	if got := replayed.must(t, 200, "GET", "/api/views/basket_totals", ""); got != want {
		t.Fatalf("replayed:\n%s\nwant\n%s", got, want)
	}
	if _, err := replayed.srv.Apply(context.Background(), journal.Entry{Table: "nope", Op: "insert"}); err == nil {
		t.Error("an entry for an unknown table applied")
	}
}

// TestShutdown checks that shutting down ends the streams and refuses
// writes, and that readiness says so.
func TestShutdown(t *testing.T) {
	s := seeded(t, serve.Options{})
	st := s.openStream(t, "/api/views/basket_totals/changes")
	if e := st.mustNext(); e.name != "snapshot" {
		t.Fatalf("first event %+v", e)
	}
	if err := s.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e, ok := st.next(); ok {
		t.Fatalf("after shutdown the stream sent %+v", e)
	}
	r := s.do(t, "POST", "/api/tables/products", `{"name": "hifi", "price": 1}`)
	if r.code != 503 || r.apiError(t).Error.Code != "unavailable" {
		t.Fatalf("a write after shutdown: %d %s", r.code, r.body)
	}
	if r := s.do(t, "GET", "/readyz", ""); r.code != 503 {
		t.Fatalf("readyz after shutdown: %d", r.code)
	}
}

// A program without output declarations outputs every view: each is
// served whole, and filters are refused, as no key or index names them.
func TestServeWithoutOutputDeclarations(t *testing.T) {
	s := start(t, "table t (id int4, g text, primary key (id))\nview counts = t | group by t.g { n = count() }\n", serve.Options{})
	s.must(t, 201, "POST", "/api/tables/t", `[{"id": 1, "g": "a"}, {"id": 2, "g": "a"}, {"id": 3, "g": "b"}]`)
	got := s.must(t, 200, "GET", "/api/views/counts", "")
	for _, want := range []string{`{"g":"a","n":2}`, `{"g":"b","n":1}`} {
		if !strings.Contains(got, want) {
			t.Errorf("GET /api/views/counts = %s, want it to hold %s", got, want)
		}
	}
	if r := s.do(t, "GET", "/api/views/counts?g=a", ""); r.code != 400 {
		t.Errorf("a filter without a key or index: %d %s, want 400", r.code, r.body)
	}
}
