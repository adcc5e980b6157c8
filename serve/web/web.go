package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/stepping-io/stepping"
)

//go:embed static
var staticFiles embed.FS

//go:embed templates/*.html
var templateFiles embed.FS

// pages are the page templates, each parsed with the layout.
var pages = parsePages("index", "view", "page", "error")

func parsePages(names ...string) map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range names {
		out[name] = template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// csp allows scripts, styles and connections to this server only: a
// value that reached a page as markup by mistake can't run script. The
// html of a /pages/ page may style itself inline and show images.
const csp = "default-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// column is a column as the pages' scripts read it.
type column struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// output is an output view and what its pages need to know of it.
type output struct {
	Name    string
	Columns []column
	// Key is the columns that name a row, so that a step's retraction
	// and insertion of the same key update its row in place: the
	// output's primary key, else its first index, else none.
	Key []string
	// Keys are the column sets a /pages/ query may name: the primary
	// key and every index.
	Keys [][]string
	// HTML says the view has a text column named html: it has a page
	// per row when it also has a key.
	HTML bool
}

// Paged says whether the view is served per row at /pages/.
func (o *output) Paged() bool { return o.HTML && len(o.Keys) > 0 }

// table is an input table and its columns, for the index's forms.
type table struct {
	Name       string
	Columns    []column
	PrimaryKey []string
}

// site is what the pages show of one program, worked out once.
type site struct {
	program string
	outputs []*output
	byName  map[string]*output
	tables  []*table
}

// Handler serves the live pages of prog (docs/serve.md): / lists its
// outputs and tables, /views/{view} shows an output's rows as they
// change, /pages/{view}?{key}={value} one row's html, and /static/ the
// pages' scripts and style. It answers GET and HEAD (another method is
// a 405), and a path it does not serve with a 404 page. The views are
// the program's outputs (Program.Outputs). The pages call the API
// under /api/ of the same server, by paths relative to their own.
func Handler(prog *stepping.Program) http.Handler {
	s, err := newSite(prog)
	if err != nil {
		// A compiled program names only columns it has; an error here is
		// a bug in this package or the root's, not in the program.
		panic(fmt.Sprintf("web: %v", err))
	}
	static, _ := fs.Sub(staticFiles, "static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /views/{view}", s.view)
	mux.HandleFunc("GET /pages/{view}", s.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", noDirs(http.FileServerFS(static))))
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "Not found", fmt.Sprintf("There is no page %s.", r.URL.Path))
	})
	return headers(mux)
}

// headers sets what every page and file is sent with.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// noDirs refuses directory listings of the static files.
func noDirs(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func newSite(prog *stepping.Program) (*site, error) {
	s := &site{program: path.Base(prog.Filename()), byName: map[string]*output{}}
	// The views served are the API's: Program.Outputs, which is every
	// view of a program that declares no output. Their keys and indexes
	// come from the output declarations.
	decls := map[string]stepping.GraphOutput{}
	for _, gout := range prog.Graph().Outputs {
		decls[gout.View] = gout
	}
	for _, name := range prog.Outputs() {
		cols, err := columns(prog, name)
		if err != nil {
			return nil, err
		}
		o := &output{Name: name, Columns: cols}
		for _, c := range cols {
			if c.Name == "html" && c.Type == "text" {
				o.HTML = true
			}
		}
		if d, ok := decls[name]; ok {
			if len(d.PrimaryKey) > 0 {
				o.Keys = append(o.Keys, d.PrimaryKey)
			}
			o.Keys = append(o.Keys, d.Indexes...)
		}
		if len(o.Keys) > 0 {
			o.Key = o.Keys[0]
		}
		s.outputs = append(s.outputs, o)
		s.byName[name] = o
	}
	for _, name := range prog.Tables() {
		cols, err := columns(prog, name)
		if err != nil {
			return nil, err
		}
		pk, err := prog.PrimaryKey(name)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", name, err)
		}
		s.tables = append(s.tables, &table{Name: name, Columns: cols, PrimaryKey: pk})
	}
	return s, nil
}

func columns(prog *stepping.Program, name string) ([]column, error) {
	cols, err := prog.Columns(name)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", name, err)
	}
	out := make([]column, len(cols))
	for i, c := range cols {
		out[i] = column{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
	}
	return out, nil
}

// render writes a page, or a 500 when the template fails (which only a
// bug in a template can make it do).
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	data["Program"] = s.program
	data["Root"] = root(r.URL.Path)
	data["Outputs"] = s.outputs
	var b strings.Builder
	if err := pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail answers with an HTML page saying what went wrong.
func (s *site) fail(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	s.render(w, r, status, "error", map[string]any{"Title": title, "Message": message})
}

func (s *site) index(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "index", map[string]any{
		"Title":  s.program,
		"Tables": s.tables,
	})
}

// meta is what a page's script reads from its data-meta attribute.
type meta struct {
	View    string            `json:"view"`
	Columns []column          `json:"columns"`
	Key     []string          `json:"key"`
	Page    []string          `json:"page,omitempty"` // the key a row's /pages/ link names
	Params  map[string]string `json:"params,omitempty"`
}

// root is the relative path from a page to the root the handler is
// mounted at, so that its links and the API's URLs hold behind a proxy
// that serves the whole server under a prefix.
func root(p string) string {
	if n := strings.Count(p, "/") - 1; n > 0 {
		return strings.Repeat("../", n)
	}
	return "./"
}

func metaJSON(m meta) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings, bools and slices of them always marshal
	}
	return string(b)
}

// output returns the output view a request names, or answers 404.
func (s *site) output(w http.ResponseWriter, r *http.Request) *output {
	name := r.PathValue("view")
	o := s.byName[name]
	if o == nil {
		s.fail(w, r, http.StatusNotFound, "No such view", fmt.Sprintf("%s is not an output of %s.", name, s.program))
	}
	return o
}

func (s *site) view(w http.ResponseWriter, r *http.Request) {
	o := s.output(w, r)
	if o == nil {
		return
	}
	m := meta{View: o.Name, Columns: o.Columns, Key: o.Key}
	if m.Key == nil {
		m.Key = []string{}
	}
	if o.Paged() {
		m.Page = o.Keys[0]
	}
	s.render(w, r, http.StatusOK, "view", map[string]any{"Title": o.Name, "Output": o, "Meta": metaJSON(m)})
}

func (s *site) page(w http.ResponseWriter, r *http.Request) {
	o := s.output(w, r)
	if o == nil {
		return
	}
	if !o.Paged() {
		s.fail(w, r, http.StatusNotFound, "Not a page", fmt.Sprintf(
			"%s has no pages: a view is served per row when it has a text column named html and an output primary key or index.", o.Name))
		return
	}
	params := map[string]string{}
	var names []string
	for k, vs := range r.URL.Query() {
		if k == "access_token" {
			continue // the reader's token (see docs/serve.md, Safety), not part of the key
		}
		if len(vs) != 1 {
			s.fail(w, r, http.StatusBadRequest, "Bad query", fmt.Sprintf("%s is given %d times.", k, len(vs)))
			return
		}
		params[k] = vs[0]
		names = append(names, k)
	}
	sort.Strings(names)
	if !s.names(o, names) {
		s.fail(w, r, http.StatusBadRequest, "Which row?", fmt.Sprintf(
			"A page of %s is named by %s, as /pages/%s?%s=...", o.Name, keyList(o.Keys), o.Name, strings.Join(o.Keys[0], "=...&")))
		return
	}
	s.render(w, r, http.StatusOK, "page", map[string]any{
		"Title":  o.Name + " " + query(names, params),
		"Output": o,
		"Meta":   metaJSON(meta{View: o.Name, Columns: o.Columns, Key: o.Key, Params: params}),
	})
}

// names says whether the sorted query names are exactly one of the
// output's keys.
func (s *site) names(o *output, names []string) bool {
	for _, k := range o.Keys {
		k = slices.Sorted(slices.Values(k))
		if slices.Equal(k, names) {
			return true
		}
	}
	return false
}

func keyList(keys [][]string) string {
	var out []string
	for _, k := range keys {
		out = append(out, "("+strings.Join(k, ", ")+")")
	}
	return strings.Join(out, " or ")
}

func query(names []string, params map[string]string) string {
	var out []string
	for _, n := range names {
		out = append(out, n+"="+params[n])
	}
	return strings.Join(out, " ")
}
