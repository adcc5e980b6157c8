package genrt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client calls a stepq serve server's API.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
}

// Option sets up a Client.
type Option func(*Client)

// WithToken sends a bearer token with every request (a server run with
// --token or --read-token asks for one).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient makes requests through hc rather than
// http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// NewClient returns a client of the server at baseURL
// (http://127.0.0.1:8080, say; a path prefix is kept).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("stepping client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("stepping client: base URL %q: want http or https", baseURL)
	}
	c := &Client{base: u, http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the URL of the server the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// Error is an error the server answered with: its HTTP status and the
// code, message and field of its JSON body (docs/serve.md, Errors).
type Error struct {
	Status  int
	Code    string // bad_request, not_found, conflict, gone, ...
	Message string
	Field   string // the field or parameter at fault, when one is
}

func (e *Error) Error() string {
	s := fmt.Sprintf("stepping server: %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// Written is the answer to a write: the step at which its change is
// visible, in it and every later one, and the rows written.
type Written struct {
	Step int64 `json:"step"`
	Rows int64 `json:"rows"`
}

// Page asks for a part of a view's rows: at most Limit rows (0: the
// server's default, 1000), after Cursor (the Next of an earlier page;
// empty for the first).
type Page struct {
	Limit  int
	Cursor string
}

// Rows is a page of a view's rows: the step whose state they show, the
// rows, and the cursor of the rows after them (empty at the end).
type Rows[T any] struct {
	Step int64
	Rows []T
	Next string
}

// Change is a row of a view with its weight in a step's changes: +1
// inserted, -1 deleted; an update is its old row at -1 and its new at +1.
type Change[T any] struct {
	Row    T     `json:"row"`
	Weight int64 `json:"weight"`
}

// Changes is one step's changes to a view.
type Changes[T any] struct {
	Step    int64
	Changes []Change[T]
}

func (c *Client) url(path string, query url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	return u.String()
}

// do sends a request and decodes a 2xx answer's JSON into out (when not
// nil); any other answer is an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, query), r)
	if err != nil {
		return fmt.Errorf("stepping client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("stepping client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return readError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("stepping client: %s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// readError reads an error answer: the JSON error when there is one,
// else the status and the start of the body.
func readError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field}
	}
	return &Error{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(body))}
}

// Insert posts rows to a table: one step.
func (c *Client) Insert(ctx context.Context, table string, rows any) (Written, error) {
	body, err := json.Marshal(rows)
	if err != nil {
		return Written{}, fmt.Errorf("stepping client: insert into %s: %w", table, err)
	}
	var w Written
	err = c.do(ctx, http.MethodPost, "/api/tables/"+table, nil, body, &w)
	return w, err
}

// Update patches the row of a table with the key given in query with
// the members of patch: one step.
func (c *Client) Update(ctx context.Context, table string, key url.Values, patch []byte) (Written, error) {
	var w Written
	err := c.do(ctx, http.MethodPatch, "/api/tables/"+table, key, patch, &w)
	return w, err
}

// Delete deletes the row of a table with the key given in query: one
// step.
func (c *Client) Delete(ctx context.Context, table string, key url.Values) (Written, error) {
	var w Written
	err := c.do(ctx, http.MethodDelete, "/api/tables/"+table, key, nil, &w)
	return w, err
}

// Get reads a page of a view's rows that pass the filters in query.
func Get[T any](ctx context.Context, c *Client, view string, query url.Values, page Page) (Rows[T], error) {
	if query == nil {
		query = url.Values{}
	}
	if page.Limit > 0 {
		query.Set("limit", fmt.Sprint(page.Limit))
	}
	if page.Cursor != "" {
		query.Set("cursor", page.Cursor)
	}
	var answer struct {
		View string  `json:"view"`
		Step int64   `json:"step"`
		Rows []T     `json:"rows"`
		Next *string `json:"next"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/views/"+view, query, nil, &answer); err != nil {
		return Rows[T]{}, err
	}
	out := Rows[T]{Step: answer.Step, Rows: answer.Rows}
	if answer.Next != nil {
		out.Next = *answer.Next
	}
	return out, nil
}

// GetAll reads every row of a view that passes the filters in query,
// page after page. The pages may show different steps when the view
// changes between them; the last page's step is returned.
func GetAll[T any](ctx context.Context, c *Client, view string, query url.Values) ([]T, int64, error) {
	var all []T
	page := Page{}
	for {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		rows, err := Get[T](ctx, c, view, q, page)
		if err != nil {
			return nil, 0, err
		}
		all = append(all, rows.Rows...)
		if rows.Next == "" {
			return all, rows.Step, nil
		}
		page.Cursor = rows.Next
	}
}
