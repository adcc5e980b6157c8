package genrt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/gen/gogen/genrt"
	"github.com/stepping-io/stepping/types"
)

// row is a generated row type, written here by hand.
type row struct {
	K int64
	V *decimal.Decimal
}

var rowColumns = []genrt.Column{{Name: "k", Type: types.Of(types.Int8)}, {Name: "v", Type: types.Of(types.Numeric).OrNull()}}

func (r row) MarshalJSON() ([]byte, error) {
	vals, err := genrt.Values(rowColumns, r.K, r.V)
	if err != nil {
		return nil, err
	}
	return genrt.MarshalRow(rowColumns, vals)
}

func (r *row) UnmarshalJSON(data []byte) error {
	vals, err := genrt.UnmarshalRow(rowColumns, data)
	if err != nil {
		return err
	}
	return genrt.Scan(rowColumns, vals, &r.K, &r.V)
}

// TestStreamResumes serves a change stream that drops its connection
// after two events, and checks that Next reconnects with Last-Event-ID
// and goes on with the next step, none lost or repeated.
func TestStreamResumes(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		switch conns.Add(1) {
		case 1:
			if r.URL.Query().Get("mode") != "snapshot-and-follow" || r.URL.Path != "/api/views/v/changes" {
				http.Error(w, "bad request "+r.URL.String(), 400)
				return
			}
			fmt.Fprint(w, ": ping\n\nid: 1\nevent: snapshot\ndata: {\"step\": 1, \"rows\": [{\"k\": 1, \"v\": \"1.50\"}]}\n\n")
			fmt.Fprint(w, "id: 2\nevent: changes\ndata: {\"step\": 2, \"changes\": [{\"row\": {\"k\": 1, \"v\": \"1.50\"}, \"weight\": -1},\ndata: {\"row\": {\"k\": 1, \"v\": null}, \"weight\": 1}]}\n\n")
		case 2:
			if got := r.Header.Get("Last-Event-ID"); got != "2" {
				http.Error(w, "Last-Event-ID "+got, 400)
				return
			}
			fmt.Fprint(w, "id: 3\nevent: changes\ndata: {\"step\": 3, \"changes\": [{\"row\": {\"k\": 2, \"v\": \"7\"}, \"weight\": 1}]}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.Error(w, "too many connections", 500)
		}
	}))
	defer srv.Close()
	c, err := genrt.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := genrt.Subscribe[row](ctx, c, "v", genrt.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Next()
	if err != nil || snap.Type != "snapshot" || snap.Step != 1 || len(snap.Rows) != 1 || snap.Rows[0].V.String() != "1.5" {
		t.Fatalf("snapshot %+v, %v", snap, err)
	}
	ch, err := s.Next()
	if err != nil || ch.Type != "changes" || ch.Step != 2 || len(ch.Changes) != 2 || ch.Changes[1].Row.V != nil || ch.Changes[0].Weight != -1 {
		t.Fatalf("changes %+v, %v", ch, err)
	}
	ch, err = s.Next()
	if err != nil || ch.Step != 3 || ch.Changes[0].Row.K != 2 || s.LastEventID() != 3 {
		t.Fatalf("after reconnecting: %+v, %v", ch, err)
	}
	cancel()
	if _, err := s.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
}

// TestErrors checks that the server's error answers become *Error with
// their code and field, JSON or not.
func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/views/v/changes":
			w.WriteHeader(410)
			fmt.Fprint(w, `{"error": {"code": "gone", "message": "step 3 is no longer kept"}}`)
		case "/api/tables/t":
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				w.WriteHeader(401)
				fmt.Fprint(w, `{"error": {"code": "unauthorized", "message": "a token is needed"}}`)
				return
			}
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error": {"code": "bad_request", "message": "t.v: want numeric", "field": "v"}}`)
		default:
			w.WriteHeader(502)
			fmt.Fprint(w, "upstream broke")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c, _ := genrt.NewClient(srv.URL)
	authed, _ := genrt.NewClient(srv.URL+"/", genrt.WithToken("s3cret"), genrt.WithHTTPClient(srv.Client()))
	_, err := genrt.Subscribe[row](ctx, c, "v", genrt.SubscribeOptions{After: 3})
	check := func(what string, err error, status int, code, field string) {
		t.Helper()
		var e *genrt.Error
		if !errors.As(err, &e) || e.Status != status || e.Code != code || e.Field != field {
			t.Errorf("%s: %v (%#v), want %d %s field %q", what, err, e, status, code, field)
		}
	}
	check("subscribe", err, 410, "gone", "")
	_, err = c.Insert(ctx, "t", []row{{K: 1}})
	check("no token", err, 401, "unauthorized", "")
	_, err = authed.Insert(ctx, "t", []row{{K: 1}})
	check("bad value", err, 400, "bad_request", "v")
	_, err = genrt.Get[row](ctx, c, "w", nil, genrt.Page{})
	check("not JSON", err, 502, "Bad Gateway", "")
	if _, err := genrt.NewClient("ftp://x"); err == nil {
		t.Errorf("an ftp URL is taken")
	}
}

// TestGetAllPages checks that GetAll follows the cursor to the last page
// with the same filters.
func TestGetAllPages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("k") != "1" {
			http.Error(w, "no filter", 400)
			return
		}
		if q.Get("cursor") == "" {
			fmt.Fprint(w, `{"view": "v", "step": 4, "columns": [], "rows": [{"k": 1, "v": "1"}], "next": "c1"}`)
			return
		}
		fmt.Fprint(w, `{"view": "v", "step": 5, "columns": [], "rows": [{"k": 1, "v": "2.0"}], "next": null}`)
	}))
	defer srv.Close()
	c, _ := genrt.NewClient(srv.URL)
	rows, step, err := genrt.GetAll[row](context.Background(), c, "v", url.Values{"k": {"1"}})
	if err != nil || step != 5 || len(rows) != 2 || rows[1].V.String() != "2" || rows[1].V.Exponent() != -1 {
		t.Errorf("GetAll = %+v, %d, %v", rows, step, err)
	}
}

// TestSnapshotStreamEnds checks that a snapshot stream ends with io.EOF
// after its one event.
func TestSnapshotStreamEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "id: 7\nevent: snapshot\ndata: {\"step\": 7, \"rows\": []}\n\n")
	}))
	defer srv.Close()
	c, _ := genrt.NewClient(srv.URL)
	s, err := genrt.Subscribe[row](context.Background(), c, "v", genrt.SubscribeOptions{Mode: genrt.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := s.Next(); err != nil || ev.Step != 7 {
		t.Fatalf("%+v, %v", ev, err)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("after the snapshot: %v, want io.EOF", err)
	}
}

// TestText checks the text form of query parameters.
func TestText(t *testing.T) {
	for _, tc := range []struct {
		v    any
		t    types.Type
		want string
	}{
		{int64(42), types.Of(types.Int8), "42"},
		{decimal.RequireFromString("12.50"), types.Of(types.Numeric), "12.50"},
		{"a b&c", types.Of(types.Text), "a b&c"},
		{true, types.Of(types.Bool), "true"},
		{math.Inf(1), types.Of(types.Float8), "Infinity"},
		{time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), types.Of(types.Timestamptz), "2026-12-01T10:00:00Z"},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), types.Of(types.Date), "2026-12-01"},
		{[]any{int64(1), int64(2)}, types.ArrayOf(types.Of(types.Int4)), "{1,2}"},
	} {
		got, err := genrt.Text(tc.v, tc.t)
		if err != nil || got != tc.want {
			t.Errorf("Text(%v, %s) = %q, %v; want %q", tc.v, tc.t, got, err, tc.want)
		}
	}
}

// TestValuesRefuse checks the conversions that fail: NULL in a non-null
// column, an integer out of its column's range, a bad uuid.
func TestValuesRefuse(t *testing.T) {
	for _, tc := range []struct {
		field any
		t     types.Type
	}{
		{(*int64)(nil), types.Of(types.Int8)},
		{int64(1 << 40), types.Of(types.Int4)},
		{"not a uuid", types.Of(types.UUID)},
		{"1.5", types.Of(types.Numeric)},
	} {
		if v, err := genrt.Value(tc.field, tc.t); err == nil {
			t.Errorf("Value(%#v, %s) = %v, want an error", tc.field, tc.t, v)
		}
	}
	var n int16
	if err := genrt.Scan([]genrt.Column{{Name: "n", Type: types.Of(types.Int2)}}, []any{int64(1 << 20)}, &n); err == nil {
		t.Errorf("1<<20 scanned into an int16")
	}
}
