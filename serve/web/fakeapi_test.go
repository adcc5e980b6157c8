package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
)

// fakeAPI is the part of docs/serve.md's API that the pages call (GET
// a view's change stream, POST rows), over an in-memory engine, until
// package serve's server is there to test against. Every POST is one
// step; the changes of every step are kept, so a stream resumes from
// any Last-Event-ID.
type fakeAPI struct {
	eng *stepping.Engine

	mu      sync.Mutex
	step    int64
	history []stepping.Batch
	stepped chan struct{} // closed and replaced at each step
}

func newFakeAPI(t *testing.T, prog *stepping.Program) *fakeAPI {
	eng := prog.OpenMemory()
	t.Cleanup(func() { eng.Close() })
	return &fakeAPI{eng: eng, stepped: make(chan struct{})}
}

func (f *fakeAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/views/{view}/changes", f.changes)
	mux.HandleFunc("POST /api/tables/{table}", f.insert)
}

func (f *fakeAPI) insert(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		fakeError(w, 400, err)
		return
	}
	var rows []map[string]any
	if raw[0] != '[' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil {
		fakeError(w, 400, err)
		return
	}
	args := make([]any, len(rows))
	for i, row := range rows {
		for k, v := range row {
			if n, ok := v.(json.Number); ok {
				row[k] = n.String() // the text form, which Insert reads for any type
			}
		}
		args[i] = row
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.eng.Insert(r.Context(), r.PathValue("table"), args...); err != nil {
		fakeError(w, 400, err)
		return
	}
	batches, err := f.eng.Step(r.Context())
	if err != nil {
		fakeError(w, 422, err)
		return
	}
	f.step++
	for _, b := range batches {
		b.Step = f.step
		f.history = append(f.history, b)
	}
	close(f.stepped)
	f.stepped = make(chan struct{})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"step": %d, "rows": %d}`, f.step, len(rows))
}

func (f *fakeAPI) changes(w http.ResponseWriter, r *http.Request) {
	view := r.PathValue("view")
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flush := w.(http.Flusher)
	f.mu.Lock()
	after := int64(-1)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after, _ = strconv.ParseInt(id, 10, 64)
	} else {
		rows, err := f.eng.Read(r.Context(), view)
		if err != nil {
			f.mu.Unlock()
			fakeError(w, 404, err)
			return
		}
		var out []any
		for _, row := range rows.Rows {
			out = append(out, fakeRow(rows.Columns, row))
		}
		data, _ := json.Marshal(map[string]any{"step": f.step, "rows": out})
		fmt.Fprintf(w, "id: %d\nevent: snapshot\ndata: %s\n\n", f.step, data)
		after = f.step
	}
	f.mu.Unlock()
	flush.Flush()
	for {
		f.mu.Lock()
		var events []string
		for _, b := range f.history {
			if b.View != view || b.Step <= after {
				continue
			}
			var out []any
			for _, c := range b.Changes {
				out = append(out, map[string]any{"row": fakeRow(b.Columns, c.Row), "weight": c.Weight})
			}
			data, _ := json.Marshal(map[string]any{"step": b.Step, "changes": out})
			events = append(events, fmt.Sprintf("id: %d\nevent: changes\ndata: %s\n\n", b.Step, data))
		}
		after = f.step
		stepped := f.stepped
		f.mu.Unlock()
		for _, e := range events {
			fmt.Fprint(w, e)
		}
		flush.Flush()
		select {
		case <-stepped:
		case <-r.Context().Done():
			return
		}
	}
}

// fakeRow writes a row's values as docs/serve.md's table says, for the
// types the examples use.
func fakeRow(cols []stepping.Column, row stepping.Row) map[string]any {
	out := map[string]any{}
	for i, c := range cols {
		out[c.Name] = fakeValue(row[i])
	}
	return out
}

func fakeValue(v any) any {
	switch x := v.(type) {
	case decimal.Decimal:
		if x.Exponent() < 0 {
			return x.StringFixed(-x.Exponent())
		}
		return x.String()
	case time.Time:
		return x.Format("2006-01-02T15:04:05.999999")
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fakeValue(e)
		}
		return out
	}
	return v
}

func fakeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	data, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "bad_request", "message": err.Error()}})
	w.Write(data)
}
