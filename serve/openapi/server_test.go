package openapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/serve"
	"github.com/stepping-io/stepping/serve/openapi"
)

// TestServerMatchesDocument sends requests to the real server (package
// serve) and validates each request and each answer against the
// program's document: the document describes what the server does, for
// the shop example and for a row of every type.
func TestServerMatchesDocument(t *testing.T) {
	shop, err := stepping.CompileFile("../../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		prog  *stepping.Program
		calls []call
	}{
		{"shop", shop, []call{
			{"POST", "/api/tables/products", `[{"name": "tv", "price": "3.0"}, {"name": "radio", "price": "5.00"}]`, 201},
			{"POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 2}`, 201},
			{"POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 2}`, 409},
			{"POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": "two"}`, 400},
			{"GET", "/api/views/basket_totals?basket_id=1", "", 200},
			{"GET", "/api/views/basket_totals?limit=1", "", 200},
			{"GET", "/api/views/receipts", "", 200},
			{"GET", "/api/views/basket_totals/changes?mode=snapshot", "", 200},
			{"GET", "/api/views/basket_totals?qty=1", "", 400},
			{"PATCH", "/api/tables/products?name=tv", `{"price": "99.00"}`, 200},
			{"PATCH", "/api/tables/products?name=lamp", `{"price": "1"}`, 404},
			{"DELETE", "/api/tables/line_items?basket_id=1&product_name=tv", "", 200},
			{"DELETE", "/api/tables/line_items?basket_id=1&product_name=tv", "", 404},
		}},
		{"every_type", compile(t, "every_type.step", everyType(t)), []call{
			{"POST", "/api/tables/every", `[{"id": 1, "b": true, "s": -3, "i": 40000, "f4": 1.5, "f8": "-Infinity", "n": "12.50",
			  "money": "3.1", "t": "hi", "u": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "j": {"a": [1, null]}, "d": "2026-12-01",
			  "ts": "2026-12-01T10:00:00.5", "tz": "2026-12-01T10:00:00+02:00", "iv": "1 day 02:00:00", "raw": "\\xdead",
			  "tags": ["x", "y"], "ns": [1, 2]},
			 {"id": 2, "b": false, "s": 0, "i": 0, "f4": "NaN", "n": "0", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
			  "d": "2026-12-01", "tz": "2026-12-01T10:00:00Z", "raw": "\\x", "ns": []}]`, 201},
			{"POST", "/api/tables/log", `{"at": "2026-01-01T00:00:00Z", "message": "a"}`, 201},
			{"GET", "/api/views/by_day", "", 200},
			{"GET", "/api/views/by_day?d=2026-12-01", "", 200},
			{"GET", "/api/views/pages?u=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "", 200},
			{"GET", "/api/views/messages", "", 200},
			{"PATCH", "/api/tables/every?id=2", `{"t": null, "money": "7.25"}`, 200},
			{"DELETE", "/api/tables/every?id=1", "", 200},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := openapi.Document(tc.prog)
			if err != nil {
				t.Fatal(err)
			}
			v := newValidator(t, doc)
			eng := tc.prog.OpenMemory()
			srv, err := serve.New(context.Background(), tc.prog, eng, serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			t.Cleanup(func() {
				_ = srv.Shutdown(context.Background())
				hs.Close()
				_ = eng.Close()
			})
			for _, c := range tc.calls {
				req, resp, body := c.do(t, hs)
				if resp.StatusCode != c.status {
					t.Errorf("%s %s: status %d, want %d: %s", c.method, c.target, resp.StatusCode, c.status, body)
					continue
				}
				if c.status < 300 {
					if ok, errs := v.ValidateHttpRequestSync(c.request(t, "http://example")); !ok {
						t.Errorf("%s %s: the document refuses the request: %v", c.method, c.target, messages(errs))
					}
				}
				resp.Body = io.NopCloser(strings.NewReader(body))
				if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
					t.Errorf("%s %s: the document refuses the answer %s: %v", c.method, c.target, body, messages(errs))
				}
			}
		})
	}
}

// call is a request and the status it should get.
type call struct {
	method, target, body string
	status               int
}

func (c call) request(t *testing.T, base string) *http.Request {
	t.Helper()
	var body io.Reader = http.NoBody
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.target, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (c call) do(t *testing.T, hs *httptest.Server) (*http.Request, *http.Response, string) {
	t.Helper()
	req := c.request(t, hs.URL)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return req, resp, b.String()
}
