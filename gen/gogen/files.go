package gogen

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// file writes a file's package clause and imports before its body.
func (g *generator) file(b *bytes.Buffer, doc string, body *bytes.Buffer) {
	if doc != "" {
		b.WriteString(doc)
	}
	fmt.Fprintf(b, "package %s\n\n", g.pkg)
	imports(b, body.String())
	b.Write(body.Bytes())
}

func (g *generator) models(b *bytes.Buffer) {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	for _, r := range g.tables {
		g.rowType(&w, r, "table")
	}
	for _, r := range g.views {
		g.rowType(&w, r, "view")
		if len(r.filters) > 0 {
			p("// %sFilter selects rows of view %s: each field not nil must equal the\n// row's column.\n", r.base, r.name)
			p("type %sFilter struct {\n", r.base)
			for _, i := range r.filters {
				f := r.cols[i]
				p("%s *%s\n", f.name, strings.TrimPrefix(f.goType, "*"))
			}
			p("}\n\n")
		}
	}
	for _, rec := range g.records {
		p("// %s is a record of %s.\ntype %s struct {\n", rec.name, rec.what, rec.name)
		for _, f := range rec.fields {
			p("%s %s `json:%q` // %s\n", f.name, f.goType, f.col.Name, written(f))
		}
		p("}\n\n")
	}
	g.file(b, fmt.Sprintf("// Package %s is the typed code of %s: its rows, a client of the HTTP\n// API stepq serve serves for it, and wrappers over the embedding API.\n", g.pkg, filepath.Base(g.prog.Filename())), &w)
}

func written(f field) string {
	if f.col.Nullable {
		return f.col.Type + "?"
	}
	return f.col.Type
}

func (g *generator) rowType(w *bytes.Buffer, r *relation, kind string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("// %s is a row of %s %s.\ntype %s struct {\n", r.typ, kind, r.name, r.typ)
	for _, f := range r.cols {
		p("%s %s `json:%q` // %s\n", f.name, f.goType, f.col.Name, written(f))
	}
	p("}\n\n")
	p("// %s are the columns of %s %s, in order. Read only.\n", r.colsVar, kind, r.name)
	p("var %s = []genrt.Column{\n", r.colsVar)
	for _, f := range r.cols {
		p("{Name: %q, Type: %s},\n", f.col.Name, typeExpr(f.col))
	}
	p("}\n\n")
	p("// values returns the row's values as the embedding API takes them.\n")
	p("func (r *%s) values() ([]any, error) {\nreturn genrt.Values(%s, %s)\n}\n\n", r.typ, r.colsVar, r.fieldList("r.", nil))
	p("// scan stores a row of values, as the embedding API gives them.\n")
	p("func (r *%s) scan(row []any) error {\nreturn genrt.Scan(%s, row, %s)\n}\n\n", r.typ, r.colsVar, r.fieldList("&r.", nil))
	p("// MarshalJSON writes the row as the server reads and writes it.\n")
	p("func (r %s) MarshalJSON() ([]byte, error) {\nrow, err := r.values()\nif err != nil {\nreturn nil, fmt.Errorf(\"%s: %%w\", err)\n}\nreturn genrt.MarshalRow(%s, row)\n}\n\n", r.typ, r.name, r.colsVar)
	p("// UnmarshalJSON reads the row as the server writes it.\n")
	p("func (r *%s) UnmarshalJSON(data []byte) error {\nrow, err := genrt.UnmarshalRow(%s, data)\nif err != nil {\nreturn fmt.Errorf(\"%s: %%w\", err)\n}\nreturn r.scan(row)\n}\n\n", r.typ, r.colsVar, r.name)
}

func (g *generator) client(b *bytes.Buffer) {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p(`// The types of the client, from package genrt.
type (
	// Option sets up a Client.
	Option = genrt.Option
	// Error is an error the server answered with (errors.As it).
	Error = genrt.Error
	// Written is the answer to a write: the step at which it is visible.
	Written = genrt.Written
	// Page asks for a part of a view's rows.
	Page = genrt.Page
	// Rows is a page of a view's rows.
	Rows[T any] = genrt.Rows[T]
	// Change is a row with its weight in a step's changes.
	Change[T any] = genrt.Change[T]
	// Changes is one step's changes to a view.
	Changes[T any] = genrt.Changes[T]
	// Event is an event of a change stream: a snapshot or a step's changes.
	Event[T any] = genrt.Event[T]
	// Stream is a view's change stream, resumed after a dropped connection.
	Stream[T any] = genrt.Stream[T]
	// SubscribeOptions say where a change stream starts.
	SubscribeOptions = genrt.SubscribeOptions
)

// WithToken sends a bearer token with every request.
func WithToken(token string) Option { return genrt.WithToken(token) }

// WithHTTPClient makes requests through hc rather than http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return genrt.WithHTTPClient(hc) }

// Client calls the API stepq serve serves for %[1]s.
type Client struct {
	rt *genrt.Client
}

// NewClient returns a client of the server at baseURL (http://127.0.0.1:8080).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	rt, err := genrt.NewClient(baseURL, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{rt: rt}, nil
}

`, filepath.Base(g.prog.Filename()))
	for _, r := range g.tables {
		p("// Insert%s inserts rows into table %s, in one step.\n", r.base, r.name)
		p("func (c *Client) Insert%s(ctx context.Context, rows ...%s) (Written, error) {\nreturn c.rt.Insert(ctx, %q, rows)\n}\n\n", r.base, r.typ, r.name)
		if len(r.pk) == 0 {
			continue
		}
		if rest := r.nonKey(); len(rest) > 0 {
			p("// Update%s sets the columns of the row of table %s with row's key\n// (%s) to row's, in one step.\n", r.base, r.name, colList(r, r.pk))
			p(`func (c *Client) Update%s(ctx context.Context, row %s) (Written, error) {
	values, err := row.values()
	if err != nil {
		return Written{}, fmt.Errorf("update %s: %%w", err)
	}
	key, err := genrt.KeyOf(%s, %s, values)
	if err != nil {
		return Written{}, fmt.Errorf("update %s: %%w", err)
	}
	patch, err := genrt.MarshalSome(%s, values, %s)
	if err != nil {
		return Written{}, fmt.Errorf("update %s: %%w", err)
	}
	return c.rt.Update(ctx, %q, key, patch)
}

`, r.base, r.typ, r.name, r.colsVar, intList(r.pk), r.name, r.colsVar, intList(rest), r.name, r.name)
		}
		params, args := r.keyParams(r.pk)
		p("// Delete%s deletes the row of table %s with this key, in one step.\n", r.base, r.name)
		p(`func (c *Client) Delete%s(ctx context.Context, %s) (Written, error) {
	key, err := genrt.Key(%s, %s, %s)
	if err != nil {
		return Written{}, fmt.Errorf("delete from %s: %%w", err)
	}
	return c.rt.Delete(ctx, %q, key)
}

`, r.base, params, r.colsVar, intList(r.pk), args, r.name, r.name)
	}
	for _, r := range g.views {
		if len(r.filters) > 0 {
			p("// Get%s returns a page of the rows of view %s that pass the filter.\n", r.base, r.name)
			p(`func (c *Client) Get%s(ctx context.Context, filter %sFilter, page Page) (Rows[%s], error) {
	q, err := genrt.Filters(%s, %s, %s)
	if err != nil {
		return Rows[%s]{}, fmt.Errorf("get %s: %%w", err)
	}
	return genrt.Get[%s](ctx, c.rt, %q, q, page)
}

`, r.base, r.base, r.typ, r.colsVar, intList(r.filters), r.fieldList("filter.", r.filters), r.typ, r.name, r.typ, r.name)
		} else {
			p("// Get%s returns a page of the rows of view %s.\n", r.base, r.name)
			p("func (c *Client) Get%s(ctx context.Context, page Page) (Rows[%s], error) {\nreturn genrt.Get[%s](ctx, c.rt, %q, nil, page)\n}\n\n", r.base, r.typ, r.typ, r.name)
		}
		for _, ix := range r.lookups() {
			params, args := r.keyParams(ix)
			if slices.Equal(ix, r.pk) {
				p("// Lookup%s%s returns the row of view %s with this primary key;\n// found is false when there is none.\n", r.base, r.byName(ix), r.name)
				p(`func (c *Client) Lookup%s%s(ctx context.Context, %s) (row %s, found bool, err error) {
	q, err := genrt.Key(%s, %s, %s)
	if err != nil {
		return row, false, fmt.Errorf("lookup in %s: %%w", err)
	}
	rows, _, err := genrt.GetAll[%s](ctx, c.rt, %q, q)
	if err != nil || len(rows) == 0 {
		return row, false, err
	}
	return rows[0], true, nil
}

`, r.base, r.byName(ix), params, r.typ, r.colsVar, intList(ix), args, r.name, r.typ, r.name)
				continue
			}
			p("// Lookup%s%s returns every row of view %s with these values of\n// its index (%s).\n", r.base, r.byName(ix), r.name, colList(r, ix))
			p(`func (c *Client) Lookup%s%s(ctx context.Context, %s) ([]%s, error) {
	q, err := genrt.Key(%s, %s, %s)
	if err != nil {
		return nil, fmt.Errorf("lookup in %s: %%w", err)
	}
	rows, _, err := genrt.GetAll[%s](ctx, c.rt, %q, q)
	return rows, err
}

`, r.base, r.byName(ix), params, r.typ, r.colsVar, intList(ix), args, r.name, r.typ, r.name)
		}
		p("// Subscribe%s opens the change stream of view %s.\n", r.base, r.name)
		p("func (c *Client) Subscribe%s(ctx context.Context, opts SubscribeOptions) (*Stream[%s], error) {\nreturn genrt.Subscribe[%s](ctx, c.rt, %q, opts)\n}\n\n", r.base, r.typ, r.typ, r.name)
	}
	g.file(b, "", &w)
}

func (g *generator) engine(b *bytes.Buffer) {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p(`// Engine wraps a *stepping.Engine running %[1]s with typed calls.
type Engine struct {
	eng *stepping.Engine
}

// NewEngine wraps an engine running the program.
func NewEngine(eng *stepping.Engine) *Engine { return &Engine{eng: eng} }

// Unwrap returns the engine wrapped.
func (e *Engine) Unwrap() *stepping.Engine { return e.eng }

// Step applies the changes given since the last step (see
// stepping.Engine.Step).
func (e *Engine) Step(ctx context.Context) ([]stepping.Batch, error) { return e.eng.Step(ctx) }

// valuesOf converts typed rows to the rows the embedding API takes.
func valuesOf[T any](rows []T, values func(*T) ([]any, error)) ([]any, error) {
	out := make([]any, len(rows))
	for i := range rows {
		v, err := values(&rows[i])
		if err != nil {
			return nil, fmt.Errorf("row %%d: %%w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// scanAll converts the rows the embedding API gives to typed rows.
func scanAll[T any](rows *stepping.Rows, scan func(*T, []any) error) ([]T, error) {
	out := make([]T, len(rows.Rows))
	for i, row := range rows.Rows {
		if err := scan(&out[i], row); err != nil {
			return nil, fmt.Errorf("row %%d: %%w", i+1, err)
		}
	}
	return out, nil
}

// Subscription is a typed stream of a view's changes (see
// stepping.Engine.Subscribe): a Changes on C for every later step that
// changes the view.
type Subscription[T any] struct {
	// C receives the view's changes, and is closed when the subscription
	// ends.
	C <-chan Changes[T]

	sub *stepping.Subscription
	mu  sync.Mutex
	err error
}

// Close ends the subscription; C is closed soon after.
func (s *Subscription[T]) Close() { s.sub.Close() }

// Err reports why the subscription ended, once C is closed.
func (s *Subscription[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func subscribe[T any](ctx context.Context, eng *stepping.Engine, view string, scan func(*T, []any) error) (*Subscription[T], error) {
	sub, err := eng.Subscribe(ctx, view)
	if err != nil {
		return nil, err
	}
	out := make(chan Changes[T])
	s := &Subscription[T]{C: out, sub: sub}
	go func() {
		defer close(out)
		for b := range sub.C {
			ch := Changes[T]{Step: b.Step, Changes: make([]Change[T], len(b.Changes))}
			for i, w := range b.Changes {
				ch.Changes[i].Weight = w.Weight
				if err := scan(&ch.Changes[i].Row, w.Row); err != nil {
					s.mu.Lock()
					s.err = fmt.Errorf("%%s, step %%d: %%w", view, b.Step, err)
					s.mu.Unlock()
					sub.Close()
					return
				}
			}
			select {
			case out <- ch:
			case <-ctx.Done():
				sub.Close()
				return
			}
		}
		s.mu.Lock()
		s.err = sub.Err()
		s.mu.Unlock()
	}()
	return s, nil
}

`, filepath.Base(g.prog.Filename()))
	for _, r := range g.tables {
		for _, op := range []string{"Insert", "Update"} {
			if op == "Update" && len(r.pk) == 0 {
				continue
			}
			what := map[string]string{
				"Insert": "adds rows to table %s (see stepping.Engine.Insert).",
				"Update": "replaces the rows of table %s that have the given rows' keys\n// (see stepping.Engine.Update).",
			}[op]
			p("// %s%s "+what+"\n", op, r.base, r.name)
			p(`func (e *Engine) %s%s(ctx context.Context, rows ...%s) error {
	values, err := valuesOf(rows, (*%s).values)
	if err != nil {
		return fmt.Errorf("%s: %%w", err)
	}
	return e.eng.%s(ctx, %q, values...)
}

`, op, r.base, r.typ, r.typ, r.name, op, r.name)
		}
		if len(r.pk) == 0 {
			p("// Delete%s removes one copy of each row from table %s (see\n// stepping.Engine.Delete).\n", r.base, r.name)
			p(`func (e *Engine) Delete%s(ctx context.Context, rows ...%s) error {
	values, err := valuesOf(rows, (*%s).values)
	if err != nil {
		return fmt.Errorf("%s: %%w", err)
	}
	return e.eng.Delete(ctx, %q, values...)
}

`, r.base, r.typ, r.typ, r.name, r.name)
			continue
		}
		params, _ := r.keyParams(r.pk)
		var cells []string
		for i, f := range r.cols {
			if slices.Contains(r.pk, i) {
				cells = append(cells, f.param)
			} else {
				cells = append(cells, "nil")
			}
		}
		p("// Delete%s removes the row of table %s with this key (see\n// stepping.Engine.Delete).\n", r.base, r.name)
		p("func (e *Engine) Delete%s(ctx context.Context, %s) error {\nreturn e.eng.Delete(ctx, %q, []any{%s})\n}\n\n", r.base, params, r.name, strings.Join(cells, ", "))
	}
	for _, r := range g.views {
		p("// Read%s returns the rows of view %s.\n", r.base, r.name)
		p(`func (e *Engine) Read%s(ctx context.Context) ([]%s, error) {
	rows, err := e.eng.Read(ctx, %q)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, (*%s).scan)
}

`, r.base, r.typ, r.name, r.typ)
		for _, ix := range r.lookups() {
			params, _ := r.keyParams(ix)
			var entries []string
			for _, i := range ix {
				entries = append(entries, fmt.Sprintf("%q: %s", r.cols[i].col.Name, r.cols[i].param))
			}
			lookup := fmt.Sprintf(`rows, err := e.eng.Lookup(ctx, %q, map[string]any{%s})
	if err != nil {
		return nil, err
	}
	return scanAll(rows, (*%s).scan)`, r.name, strings.Join(entries, ", "), r.typ)
			if slices.Equal(ix, r.pk) {
				p("// Lookup%s%s returns the row of view %s with this primary key;\n// found is false when there is none.\n", r.base, r.byName(ix), r.name)
				p(`func (e *Engine) Lookup%s%s(ctx context.Context, %s) (row %s, found bool, err error) {
	rows, err := e.lookup%s%s(ctx, %s)
	if err != nil || len(rows) == 0 {
		return row, false, err
	}
	return rows[0], true, nil
}

func (e *Engine) lookup%s%s(ctx context.Context, %s) ([]%s, error) {
	%s
}

`, r.base, r.byName(ix), params, r.typ, r.base, r.byName(ix), argsOf(r, ix), r.base, r.byName(ix), params, r.typ, lookup)
				continue
			}
			p("// Lookup%s%s returns the rows of view %s with these values of its\n// index (%s).\n", r.base, r.byName(ix), r.name, colList(r, ix))
			p("func (e *Engine) Lookup%s%s(ctx context.Context, %s) ([]%s, error) {\n%s\n}\n\n", r.base, r.byName(ix), params, r.typ, lookup)
		}
		p("// Subscribe%s subscribes to the changes of view %s (see\n// stepping.Engine.Subscribe).\n", r.base, r.name)
		p("func (e *Engine) Subscribe%s(ctx context.Context) (*Subscription[%s], error) {\nreturn subscribe(ctx, e.eng, %q, (*%s).scan)\n}\n\n", r.base, r.typ, r.name, r.typ)
	}
	g.file(b, "", &w)
}

func argsOf(r *relation, ix []int) string {
	_, args := r.keyParams(ix)
	return args
}
