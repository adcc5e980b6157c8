package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/serve/journal"
	"github.com/stepping-io/stepping/types"
)

// The operations of a write, as the journal names them.
const (
	opInsert = "insert"
	opUpdate = "update"
	opDelete = "delete"
)

// serveTable routes /api/tables/{table}.
func (s *Server) serveTable(w http.ResponseWriter, r *http.Request, name string) string {
	const route = "/api/tables/{table}"
	t, ok := s.tables[name]
	if !ok {
		writeError(w, errNotFound(fmt.Sprintf("no table %q: the tables are %s", name, strings.Join(s.prog.Tables(), ", "))))
		return route
	}
	switch r.Method {
	case http.MethodPost:
		s.serveInsert(w, r, t)
	case http.MethodPatch, http.MethodDelete:
		if len(t.key) == 0 {
			writeError(w, errMethod(fmt.Sprintf("table %s has no primary key: it takes POST only", t.name), "POST"))
			return route
		}
		if r.Method == http.MethodPatch {
			s.servePatch(w, r, t)
		} else {
			s.serveDelete(w, r, t)
		}
	default:
		allow := "POST, PATCH, DELETE"
		if len(t.key) == 0 {
			allow = "POST"
		}
		writeError(w, errMethod("a table takes "+allow, allow))
	}
	return route
}

// serveInsert answers POST /api/tables/{table}: one row (an object) or
// many (an array of objects), inserted in one step.
func (s *Server) serveInsert(w http.ResponseWriter, r *http.Request, t *relation) {
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	objs, aerr := objects(body, t)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	rows := make([]stepping.Row, 0, len(objs))
	for _, o := range objs {
		row, aerr := decodeRow(t, o, rowFull)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		rows = append(rows, row)
	}
	s.answerWrite(w, r, t, opInsert, http.StatusCreated, func(context.Context) ([]stepping.Row, error) { return rows, nil })
}

// servePatch answers PATCH /api/tables/{table}?{pk}=...: the row with
// that key gets the body's columns; it is journalled as the whole new
// row.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, t *relation) {
	key, aerr := keyOfQuery(t, r.URL.Query())
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	obj, ok := body.(map[string]any)
	if !ok {
		writeError(w, errBadRequest("", fmt.Sprintf("want a JSON object of %s's columns to change, got %s", t.name, jsonKind(body))))
		return
	}
	change, aerr := decodeRow(t, obj, rowPartial)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.answerWrite(w, r, t, opUpdate, http.StatusOK, func(ctx context.Context) ([]stepping.Row, error) {
		old, err := s.current(ctx, t, key)
		if err != nil {
			return nil, err
		}
		row := append(stepping.Row(nil), old...)
		for i := range obj {
			j := t.column(i)
			row[j] = change[j]
		}
		return []stepping.Row{row}, nil
	})
}

// serveDelete answers DELETE /api/tables/{table}?{pk}=...
func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, t *relation) {
	key, aerr := keyOfQuery(t, r.URL.Query())
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.answerWrite(w, r, t, opDelete, http.StatusOK, func(ctx context.Context) ([]stepping.Row, error) {
		if _, err := s.current(ctx, t, key); err != nil {
			return nil, err
		}
		return []stepping.Row{keyRow(t, key)}, nil
	})
}

// current returns the row of a table with the given key, or a 404.
func (s *Server) current(ctx context.Context, t *relation, key map[string]any) (stepping.Row, error) {
	rows, err := s.eng.LookupTable(ctx, t.name, key)
	if err != nil {
		return nil, err
	}
	if rows.Len() == 0 {
		var parts []string
		for _, k := range t.key {
			parts = append(parts, fmt.Sprintf("%s=%s", t.cols[k].Name, t.cols[k].FormatText(key[t.cols[k].Name])))
		}
		return nil, errNotFound(fmt.Sprintf("table %s holds no row with %s", t.name, strings.Join(parts, ", ")))
	}
	return rows.Rows[0], nil
}

// keyRow is a row holding only a key's values, which a delete needs.
func keyRow(t *relation, key map[string]any) stepping.Row {
	row := make(stepping.Row, len(t.cols))
	for _, k := range t.key {
		row[k] = key[t.cols[k].Name]
	}
	return row
}

// answerWrite applies a write and answers with the step that shows it.
func (s *Server) answerWrite(w http.ResponseWriter, r *http.Request, t *relation, op string, status int, rows func(context.Context) ([]stepping.Row, error)) {
	// A client that goes away does not abandon a write half done.
	ctx := context.WithoutCancel(r.Context())
	step, n, err := s.write(ctx, t, op, rows, true)
	if err != nil {
		writeError(w, s.failure(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Stepping-Step", fmt.Sprint(step))
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "{\"step\":%d,\"rows\":%d}\n", step, n)
}

// write applies one write as one step: rows gives its rows (reading the
// table first if it must). In memory the write and its step are the
// write's alone, under the write lock (rows is called under it too),
// and journalled when the step succeeds. On Postgres the write is one
// transaction on the source table, concurrent with other writes, and a
// step that begins after it commits applies it, with whatever else is
// pending (see stepCovering). It returns the step that shows the write,
// and how many rows it wrote.
func (s *Server) write(ctx context.Context, t *relation, op string, rows func(context.Context) ([]stepping.Row, error), journalIt bool) (int64, int, error) {
	if s.eng.OnPostgres() {
		if s.closing.Load() {
			return 0, 0, errClosing
		}
		list, err := rows(ctx)
		if err != nil {
			return 0, 0, err
		}
		if err := s.change(ctx, t, op, list); err != nil {
			return 0, 0, err
		}
		step, err := s.stepCovering(ctx, s.committed.Add(1), map[string]int{t.name: len(list)})
		return step, len(list), err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closing.Load() {
		return 0, 0, errClosing
	}
	list, err := rows(ctx)
	if err != nil {
		return 0, 0, err
	}
	if err := s.change(ctx, t, op, list); err != nil {
		return 0, 0, err
	}
	step, err := s.stepLocked(ctx, map[string]int{t.name: len(list)})
	if err != nil {
		return 0, 0, err
	}
	if journalIt && s.opts.Journal != nil {
		if err := s.opts.Journal.Append(entryOf(t, op, list)); err != nil {
			// Applied, and lost on a restart: say so loudly.
			s.log.Error("journal append failed after the step applied", "step", step, "table", t.name, "err", err)
			return 0, 0, fmt.Errorf("step %d applied but not journalled: %w", step, err)
		}
	}
	return step, len(list), nil
}

// change gives the engine a write's rows.
func (s *Server) change(ctx context.Context, t *relation, op string, list []stepping.Row) error {
	args := make([]any, len(list))
	for i, row := range list {
		args[i] = row
	}
	switch op {
	case opInsert:
		return s.eng.Insert(ctx, t.name, args...)
	case opUpdate:
		return s.eng.Update(ctx, t.name, args...)
	case opDelete:
		return s.eng.Delete(ctx, t.name, args...)
	}
	return errBadRequest("op", fmt.Sprintf("op: want insert, update or delete, got %q", op))
}

// stepCovering returns a step that shows the write numbered gen, which
// committed before gen was taken: the last step's, when a step began
// after that (concurrent writes share a step, as a group commit shares a
// flush), or else a new step's.
func (s *Server) stepCovering(ctx context.Context, gen int64, rowsIn map[string]int) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.covered >= gen {
		return s.coveredStep, nil
	}
	// Every write numbered up to upTo committed before this step begins.
	upTo := s.committed.Load()
	step, err := s.stepLocked(ctx, rowsIn)
	if err != nil {
		return 0, err
	}
	s.covered, s.coveredStep = upTo, step
	return step, nil
}

// entryOf is the journal entry of a write: whole rows, or for a delete
// their key columns.
func entryOf(t *relation, op string, rows []stepping.Row) journal.Entry {
	e := journal.Entry{Table: t.name, Op: op}
	for _, row := range rows {
		var b []byte
		if op == opDelete {
			b = append(b, '{')
			for j, k := range t.key {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, t.cols[k].Name)
				b = append(b, ':')
				b = t.cols[k].AppendJSON(b, row[k])
			}
			b = append(b, '}')
		} else {
			b = appendRow(nil, t, row)
		}
		e.Rows = append(e.Rows, json.RawMessage(b))
	}
	return e
}

// step applies what is pending, under the write lock.
func (s *Server) step(ctx context.Context, rowsIn map[string]int) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.ctx.Err() != nil {
		return 0, errClosing
	}
	return s.stepLocked(ctx, rowsIn)
}

// stepLocked applies what is pending, publishes the views' changes to
// their streams and records the steps. The caller holds writeMu.
func (s *Server) stepLocked(ctx context.Context, rowsIn map[string]int) (int64, error) {
	start := time.Now()
	batches, stepErr := s.eng.Step(ctx)
	took := time.Since(start)
	// On Postgres the steps before a failure committed: publish them.
	step, err := s.eng.Steps(ctx)
	if err != nil {
		return 0, errors.Join(stepErr, err)
	}
	for name, h := range s.hubs {
		var mine []stepping.Batch
		for _, b := range batches {
			if b.View == name {
				mine = append(mine, b)
			}
		}
		h.publish(mine, step)
	}
	if m := s.opts.Metrics; m != nil {
		out := map[int64]map[string]int{}
		var order []int64
		for _, b := range batches {
			if out[b.Step] == nil {
				out[b.Step] = map[string]int{}
				order = append(order, b.Step)
			}
			for _, c := range b.Changes {
				out[b.Step][b.View] += int(max(c.Weight, -c.Weight))
			}
		}
		if len(order) == 0 && stepErr == nil && rowsIn != nil {
			order = append(order, step)
		}
		for _, n := range order {
			m.ObserveStep(n, took/time.Duration(len(order)), rowsIn, out[n])
		}
		if !s.eng.OnPostgres() {
			s.updateStatus(ctx)
		}
	}
	if stepErr != nil {
		return 0, stepErr
	}
	return step, nil
}

// failure turns an error of the engine or of a request into the API's.
func (s *Server) failure(err error) *apiError {
	var ae *apiError
	var se *stepping.StepError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, stepping.ErrDuplicateKey):
		return &apiError{status: http.StatusConflict, code: "conflict", msg: err.Error()}
	case errors.As(err, &se):
		return &apiError{status: http.StatusUnprocessableEntity, code: "failed", msg: err.Error()}
	case errors.Is(err, errClosing), errors.Is(err, stepping.ErrClosed):
		return errUnavailable(err.Error())
	case errors.Is(err, stepping.ErrNotFound):
		return errNotFound(err.Error())
	}
	s.log.Error("request failed", "err", err)
	return &apiError{status: http.StatusInternalServerError, code: "internal", msg: err.Error()}
}

// readBody checks a request's type and size and decodes its JSON.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (any, *apiError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("the body must be application/json, not %q", r.Header.Get("Content-Type"))}
	}
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
		msg: fmt.Sprintf("the body is larger than %d bytes (see --max-body)", s.opts.MaxBodyBytes)}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, tooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, errBadRequest("", "reading the body: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errBadRequest("", "the body is not JSON: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errBadRequest("", "the body holds more than one JSON value")
	}
	return v, nil
}

// objects returns a POST body's rows: an object, or an array of them.
func objects(body any, t *relation) ([]map[string]any, *apiError) {
	switch x := body.(type) {
	case map[string]any:
		return []map[string]any{x}, nil
	case []any:
		out := make([]map[string]any, 0, len(x))
		for i, e := range x {
			o, ok := e.(map[string]any)
			if !ok {
				return nil, errBadRequest("", fmt.Sprintf("row %d: want a JSON object of %s's columns, got %s", i+1, t.name, jsonKind(e)))
			}
			out = append(out, o)
		}
		if len(out) == 0 {
			return nil, errBadRequest("", "no rows given")
		}
		return out, nil
	}
	return nil, errBadRequest("", fmt.Sprintf("want a JSON object of %s's columns, or an array of them, got %s", t.name, jsonKind(body)))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// How decodeRow treats columns a body leaves out.
const (
	rowFull    = iota // a whole row: a missing nullable column is NULL, a missing non-null one an error
	rowPartial        // the columns to change: the key may not be among them
	rowKey            // a journalled delete: the key columns only
)

// decodeRow reads a JSON object of a table's columns strictly: an
// unknown column, a value of the wrong type, a missing non-null value
// are a 400 naming the column and the type wanted.
func decodeRow(t *relation, obj map[string]any, mode int) (stepping.Row, *apiError) {
	row := make(stepping.Row, len(t.cols))
	for name := range obj {
		i := t.column(name)
		if i < 0 {
			return nil, errBadRequest(name, fmt.Sprintf("%s has no column %s (columns: %s)", t.name, name, columnNames(t)))
		}
		if mode == rowPartial && isKey(t, i) {
			return nil, errBadRequest(name, fmt.Sprintf("%s.%s is part of the primary key, which the query names: it cannot be changed", t.name, name))
		}
		if mode == rowKey && !isKey(t, i) {
			return nil, errBadRequest(name, fmt.Sprintf("%s.%s is not part of the primary key", t.name, name))
		}
	}
	for i, c := range t.cols {
		v, given := obj[c.Name]
		switch {
		case !given && mode == rowPartial, !given && mode == rowKey && !isKey(t, i):
			continue
		case !given && c.Nullable:
			continue
		case !given:
			return nil, errBadRequest(c.Name, fmt.Sprintf("%s.%s: want %s, got nothing (the column is not nullable)", t.name, c.Name, c.Type))
		}
		x, err := c.DecodeJSON(v)
		if err != nil {
			return nil, valueError(t, c, err)
		}
		row[i] = x
	}
	return row, nil
}

// valueError is the 400 of a value of the wrong type.
func valueError(t *relation, c stepping.Column, err error) *apiError {
	var je *types.JSONValueError
	if !errors.As(err, &je) {
		return errBadRequest(c.Name, fmt.Sprintf("%s.%s: %v", t.name, c.Name, err))
	}
	want := je.Want.String()
	if je.Path == "" {
		want = c.Type // the column's type as declared, without the ? of NULL
	}
	msg := fmt.Sprintf("%s.%s%s: want %s, got %s", t.name, c.Name, je.Path, want, je.Got)
	if je.Reason != "" {
		msg += " (" + je.Reason + ")"
	}
	return errBadRequest(c.Name, msg)
}

func isKey(t *relation, i int) bool {
	for _, k := range t.key {
		if k == i {
			return true
		}
	}
	return false
}

func columnNames(t *relation) string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// keyOfQuery reads a primary key from a query: every key column once,
// nothing else.
func keyOfQuery(t *relation, q url.Values) (map[string]any, *apiError) {
	var want []string
	for _, k := range t.key {
		want = append(want, t.cols[k].Name)
	}
	for name := range q {
		if i := t.column(name); i < 0 || !isKey(t, i) {
			return nil, errBadRequest(name, fmt.Sprintf("%s is not part of %s's primary key (%s)", name, t.name, strings.Join(want, ", ")))
		}
	}
	key := map[string]any{}
	for _, k := range t.key {
		c := t.cols[k]
		vals, ok := q[c.Name]
		if !ok || len(vals) != 1 {
			return nil, errBadRequest(c.Name, fmt.Sprintf("the query must give %s's whole primary key (%s) once: %s is missing", t.name, strings.Join(want, ", "), c.Name))
		}
		x, err := c.ParseText(vals[0])
		if err != nil {
			return nil, errBadRequest(c.Name, fmt.Sprintf("%s.%s: want %s, got %q", t.name, c.Name, c.Type, vals[0]))
		}
		key[c.Name] = x
	}
	return key, nil
}

// Apply applies one journal entry, an accepted write, as a step, as the
// write's request did, and returns the step; a server replays its
// journal through it before it listens. It does not journal the entry
// again.
func (s *Server) Apply(ctx context.Context, e journal.Entry) (int64, error) {
	t, ok := s.tables[e.Table]
	if !ok {
		return 0, fmt.Errorf("serve: journal entry for table %q, which the program does not declare", e.Table)
	}
	mode := rowFull
	switch e.Op {
	case opInsert, opUpdate:
	case opDelete:
		mode = rowKey
	default:
		return 0, fmt.Errorf("serve: journal entry with op %q: want insert, update or delete", e.Op)
	}
	rows := make([]stepping.Row, 0, len(e.Rows))
	for i, raw := range e.Rows {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return 0, fmt.Errorf("serve: journal entry for %s, row %d: %w", e.Table, i+1, err)
		}
		row, aerr := decodeRow(t, obj, mode)
		if aerr != nil {
			return 0, fmt.Errorf("serve: journal entry for %s, row %d: %w", e.Table, i+1, aerr)
		}
		rows = append(rows, row)
	}
	step, _, err := s.write(ctx, t, e.Op, func(context.Context) ([]stepping.Row, error) { return rows, nil }, false)
	if err != nil {
		return 0, fmt.Errorf("serve: applying a journal entry for %s: %w", e.Table, err)
	}
	return step, nil
}
