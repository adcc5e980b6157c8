package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/serve/web"
)

func compile(t *testing.T, name string) *stepping.Program {
	t.Helper()
	prog, err := stepping.CompileFile(filepath.Join("..", "..", "examples", name+".step"))
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// TestPages renders each page of the shop and comments examples and
// compares it with its golden file: what the server writes, before any
// script runs.
func TestPages(t *testing.T) {
	tests := []struct {
		program, path string
		status        int
		golden        string // under testdata/, "" for none
		contains      string // a piece of the body, for pages without a golden file
	}{
		{"shop", "/", 200, "shop-index.html", ""},
		{"shop", "/views/basket_totals", 200, "shop-view.html", ""},
		{"shop", "/views/receipts", 200, "", `data-meta="{&#34;view&#34;:&#34;receipts&#34;,&#34;columns&#34;:[{&#34;name&#34;:&#34;receipt&#34;,&#34;type&#34;:&#34;text&#34;,&#34;nullable&#34;:false}],&#34;key&#34;:[]}"`},
		{"shop", "/views/products", 404, "", "products is not an output of shop.step."},
		{"shop", "/views/nothing", 404, "not-found.html", ""},
		{"shop", "/pages/basket_totals?basket_id=1", 404, "", "basket_totals has no pages: a view is served per row when it has a text column named html"},
		{"shop", "/nowhere", 404, "", "There is no page /nowhere."},
		{"shop", "/static/", 404, "", ""},
		{"comments", "/", 200, "comments-index.html", ""},
		{"comments", "/views/post_pages", 200, "comments-view.html", ""},
		{"comments", "/pages/post_pages?post=10", 200, "comments-page.html", ""},
		{"comments", "/pages/post_pages", 400, "", "A page of post_pages is named by (post), as /pages/post_pages?post=..."},
		{"comments", "/pages/post_pages?post=1&post=2", 400, "", "post is given 2 times."},
		{"comments", "/pages/post_pages?title=x", 400, "", "A page of post_pages is named by (post)"},
		{"comments", "/pages/post_pages?post=1&html=x", 400, "", "A page of post_pages is named by (post)"},
		{"comments", "/pages/pages?post=10", 404, "", "pages has no pages"},
		{"comments", "/static/live.js", 200, "", "function follow(url, on)"},
		{"comments", "/static/style.css", 200, "", "tr.changed"},
	}
	handlers := map[string]http.Handler{}
	for _, tt := range tests {
		t.Run(tt.program+tt.path, func(t *testing.T) {
			h := handlers[tt.program]
			if h == nil {
				h = web.Handler(compile(t, tt.program))
				handlers[tt.program] = h
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d\n%s", rec.Code, tt.status, body)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q lets other scripts run", csp)
			}
			if tt.golden != "" {
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				golden.Check(t, filepath.Join("testdata", tt.golden), string(body))
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("the body lacks %q:\n%s", tt.contains, body)
			}
		})
	}
}

// TestMethods checks that the pages answer GET and HEAD only.
func TestMethods(t *testing.T) {
	h := web.Handler(compile(t, "shop"))
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 200},
		{"HEAD", "/views/basket_totals", 200},
		{"POST", "/", 405},
		{"POST", "/views/basket_totals", 405},
		{"DELETE", "/static/view.js", 405},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
	}
}

// TestRelativeLinks checks that every link of a page is relative to
// the page, so that the pages work under a proxy's path prefix.
func TestRelativeLinks(t *testing.T) {
	h := web.Handler(compile(t, "comments"))
	for path, root := range map[string]string{"/": "./", "/views/threads": "../", "/pages/post_pages?post=1": "../"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body := rec.Body.String()
		if strings.Contains(body, `="/`) {
			t.Errorf("%s has an absolute link:\n%s", path, body)
		}
		if !strings.Contains(body, `href="`+root+`static/style.css"`) {
			t.Errorf("%s: the style sheet is not at %sstatic/style.css:\n%s", path, root, body)
		}
	}
}

// TestOutputs checks which views the pages serve, the program's
// outputs, and which have pages, by which keys.
func TestOutputs(t *testing.T) {
	tests := []struct {
		name, src string
		path      string
		status    int
		contains  string
	}{
		{"no output declared: every view is served", "table t (a int4, html text, primary key (a))\nview v = t\nview w = t", "/views/w", 200, `data-meta="{&#34;view&#34;:&#34;w&#34;`},
		{"no output declared: no keys, no pages", "table t (a int4, html text, primary key (a))\nview v = t", "/pages/v?a=1", 404, "v has no pages"},
		{"an output declared: the other views are not served", "table t (a int4, primary key (a))\nview v = t\nview w = t\noutput v", "/views/w", 404, "w is not an output of p.step."},
		{"no view: the index says so", "table t (a int4, primary key (a))", "/", 200, "The program has no view."},
		{"a page keyed by an index", "table t (a int4, b int4, html text)\nview v = t\noutput v index (a, b)", "/pages/v?b=1&a=2", 200, "v a=2 b=1"},
		{"a page keyed by the primary key or an index", "table t (a int4, b int4, html text)\nview v = t\noutput v index (a) primary key (b)", "/pages/v?a=1", 200, "v a=1"},
		{"a page keyed by part of an index", "table t (a int4, b int4, html text)\nview v = t\noutput v index (a, b)", "/pages/v?a=2", 400, "A page of v is named by (a, b), as /pages/v?a=...&amp;b=..."},
		{"no key: no page", "table t (a int4, html text)\nview v = t\noutput v", "/pages/v?a=1", 404, "v has no pages"},
		{"html not text: no page", "table t (a int4, html int4)\nview v = t\noutput v index (a)", "/pages/v?a=1", 404, "v has no pages"},
		{"the table's primary key in its form", "table t (a int4, b text, primary key (b, a))\nview v = t\noutput v", "/", 200, "<h3>t <span class=\"type\">primary key (b, a)</span></h3>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := stepping.Compile("p.step", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			web.Handler(prog).ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("GET %s: %d, want %d with %q:\n%s", tt.path, rec.Code, tt.status, tt.contains, rec.Body)
			}
		})
	}
}
