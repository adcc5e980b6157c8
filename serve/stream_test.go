package serve_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/serve"
)

// TestStreamModes checks the three modes of a change stream and their
// events' ids.
func TestStreamModes(t *testing.T) {
	s := seeded(t, serve.Options{})

	snap := s.openStream(t, "/api/views/basket_totals/changes?mode=snapshot")
	e := snap.mustNext()
	if e.id != "2" || e.name != "snapshot" || e.data != `{"step":2,"rows":[{"basket_id":1,"total":"11.00","items":2},{"basket_id":2,"total":"3.00","items":1}]}` {
		t.Fatalf("snapshot event %+v", e)
	}
	if e, ok := snap.next(); ok {
		t.Fatalf("mode=snapshot went on with %+v", e)
	}

	both := s.openStream(t, "/api/views/basket_totals/changes", "Accept", "text/event-stream")
	follow := s.openStream(t, "/api/views/basket_totals/changes?mode=follow")
	if e := both.mustNext(); e.name != "snapshot" || e.id != "2" {
		t.Fatalf("snapshot-and-follow began with %+v", e)
	}
	s.must(t, 200, "PATCH", "/api/tables/products?name=radio", `{"price": "6"}`)
	s.must(t, 201, "POST", "/api/tables/products", `{"name": "hifi", "price": 1}`) // changes no basket
	s.must(t, 201, "POST", "/api/tables/line_items", `{"basket_id": 3, "product_name": "hifi", "qty": 1}`)
	for _, st := range []*stream{both, follow} {
		e := st.mustNext()
		c := decodeChanges(t, e)
		if e.id != "3" || c.Step != 3 || len(c.Changes) != 2 || c.Changes[0].Weight != -1 || c.Changes[0].Row["total"] != "11.00" ||
			c.Changes[1].Weight != 1 || c.Changes[1].Row["total"] != "12.00" {
			t.Fatalf("step 3's event %+v", e)
		}
		// Step 4 changed no basket: the next event is step 5's.
		e = st.mustNext()
		if c := decodeChanges(t, e); e.id != "5" || len(c.Changes) != 1 || c.Changes[0].Row["basket_id"] != float64(3) {
			t.Fatalf("step 5's event %+v", e)
		}
	}
	r := s.do(t, "GET", "/api/views/basket_totals/changes?mode=later", "")
	if r.code != 400 || r.apiError(t).Error.Field != "mode" {
		t.Fatalf("a bad mode: %d %s", r.code, r.body)
	}
	r = s.do(t, "GET", "/api/views/basket_totals/changes?after=x", "")
	if r.code != 400 || r.apiError(t).Error.Field != "after" {
		t.Fatalf("a bad after: %d %s", r.code, r.body)
	}
}

// TestStreamResume drives steps while a client reads, drops the
// connection, goes on writing, and resumes with Last-Event-ID (and with
// ?after=): the changes of every step come once, in order, none lost.
func TestStreamResume(t *testing.T) {
	const total = 40
	for _, how := range []string{"Last-Event-ID", "after"} {
		t.Run(how, func(t *testing.T) {
			s := start(t, shopSource(t), serve.Options{})
			s.must(t, 201, "POST", "/api/tables/products", `{"name": "tv", "price": "1"}`)
			st := s.openStream(t, "/api/views/basket_totals/changes")
			snap := st.mustNext()
			last, _ := strconv.ParseInt(snap.id, 10, 64)
			written := make(chan struct{})
			go func() {
				defer close(written)
				for i := range total {
					// Each step adds basket i.
					if r := s.do(t, "POST", "/api/tables/line_items", fmt.Sprintf(`{"basket_id": %d, "product_name": "tv", "qty": 1}`, i)); r.code != 201 {
						t.Errorf("insert %d: %d %s", i, r.code, r.body)
						return
					}
				}
			}()
			seen := map[float64]int{}
			reads := 0
			for len(seen) < total {
				e, ok := st.next()
				if !ok {
					t.Fatal("the stream ended")
				}
				id, _ := strconv.ParseInt(e.id, 10, 64)
				if id <= last {
					t.Fatalf("event %d after %d: repeated or out of order", id, last)
				}
				last = id
				for _, c := range decodeChanges(t, e).Changes {
					seen[c.Row["basket_id"].(float64)] += int(c.Weight)
				}
				reads++
				if reads == total/4 {
					// Drop the connection mid-stream, and resume.
					st.close()
					if how == "after" {
						st = s.openStream(t, fmt.Sprintf("/api/views/basket_totals/changes?after=%d", last))
					} else {
						st = s.openStream(t, "/api/views/basket_totals/changes", "Last-Event-ID", strconv.FormatInt(last, 10))
					}
				}
			}
			<-written
			for i := range total {
				if seen[float64(i)] != 1 {
					t.Fatalf("basket %d inserted %d times in the stream", i, seen[float64(i)])
				}
			}
		})
	}
}

// TestStreamGone checks that resuming from a step no longer kept is a
// 410, and that a step still kept resumes.
func TestStreamGone(t *testing.T) {
	s := start(t, shopSource(t), serve.Options{KeepSteps: 3})
	s.must(t, 201, "POST", "/api/tables/products", `{"name": "tv", "price": "1"}`)
	for i := range 6 {
		s.must(t, 201, "POST", "/api/tables/line_items", fmt.Sprintf(`{"basket_id": %d, "product_name": "tv", "qty": 1}`, i))
	}
	// Step 7 is the last: steps 5, 6 and 7 are kept, so after=4 resumes.
	r := s.do(t, "GET", "/api/views/basket_totals/changes?after=3", "")
	if r.code != 410 || r.apiError(t).Error.Code != "gone" {
		t.Fatalf("after a step no longer kept: %d %s", r.code, r.body)
	}
	r = s.do(t, "GET", "/api/views/basket_totals/changes?after=8", "")
	if r.code != 410 || !strings.Contains(r.apiError(t).Error.Message, "past the last step, 7") {
		t.Fatalf("after a step not yet taken: %d %s", r.code, r.body)
	}
	st := s.openStream(t, "/api/views/basket_totals/changes?after=4")
	for _, want := range []string{"5", "6", "7"} {
		if e := st.mustNext(); e.id != want {
			t.Fatalf("event %+v, want step %s", e, want)
		}
	}
	var c struct {
		Step int64 `json:"step"`
	}
	e := s.openStream(t, "/api/views/basket_totals/changes?mode=snapshot").mustNext()
	if err := json.Unmarshal([]byte(e.data), &c); err != nil || c.Step != 7 {
		t.Fatalf("snapshot %+v", e)
	}
}

// TestSnapshotAndFollowConsistent opens streams while steps are applied
// and checks that each one's snapshot plus its changes add up to the
// view's final rows: no change falls between a snapshot and the first
// change event, and none is counted twice.
func TestSnapshotAndFollowConsistent(t *testing.T) {
	const writes, streams = 60, 8
	s := start(t, shopSource(t), serve.Options{})
	s.must(t, 201, "POST", "/api/tables/products", `{"name": "tv", "price": "1"}`)
	opened := make(chan *stream, streams)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range writes {
			if r := s.do(t, "POST", "/api/tables/line_items", fmt.Sprintf(`{"basket_id": %d, "product_name": "tv", "qty": 1}`, i%7)+""); r.code != 201 {
				// Baskets repeat: a duplicate key is refused, and
				// a PATCH changes the row instead.
				if r := s.do(t, "PATCH", fmt.Sprintf("/api/tables/line_items?basket_id=%d&product_name=tv", i%7), fmt.Sprintf(`{"qty": %d}`, i)); r.code != 200 {
					t.Errorf("write %d: %d %s", i, r.code, r.body)
				}
			}
		}
	}()
	for range streams {
		opened <- s.openStream(t, "/api/views/basket_totals/changes")
	}
	close(opened)
	<-done
	var final struct {
		Step int64            `json:"step"`
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(s.must(t, 200, "GET", "/api/views/basket_totals", "")), &final); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, r := range final.Rows {
		want[fmt.Sprint(r)]++
	}
	for st := range opened {
		snap := st.mustNext()
		var sd struct {
			Step int64            `json:"step"`
			Rows []map[string]any `json:"rows"`
		}
		if err := json.Unmarshal([]byte(snap.data), &sd); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range sd.Rows {
			got[fmt.Sprint(r)]++
		}
		last := sd.Step
		for last < final.Step {
			e := st.mustNext()
			c := decodeChanges(t, e)
			if c.Step <= last {
				t.Fatalf("step %d after step %d", c.Step, last)
			}
			last = c.Step
			for _, ch := range c.Changes {
				got[fmt.Sprint(ch.Row)] += ch.Weight
			}
		}
		for k, n := range got {
			if n != want[k] {
				t.Fatalf("a stream from step %d adds up to %d of %s, the view holds %d", sd.Step, n, k, want[k])
			}
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("a stream from step %d adds up to %d of %s, the view holds %d", sd.Step, got[k], k, n)
			}
		}
	}
}
