package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/stepping-io/stepping"
)

// hub keeps an output's changes of the last steps, for its change
// streams: every step after floor that changed the view has its batch
// here, in step order, up to last, the last step published.
type hub struct {
	mu      sync.Mutex
	floor   int64
	last    int64
	keep    int64
	batches []stepping.Batch
	wake    chan struct{} // closed and replaced when a step is published
}

func newHub(step int64, keep int) *hub {
	return &hub{floor: step, last: step, keep: int64(keep), wake: make(chan struct{})}
}

// publish adds the view's batches of the steps up to step (some of
// which may not have changed the view), forgets the steps beyond what it
// keeps, and wakes the streams.
func (h *hub) publish(batches []stepping.Batch, step int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range batches {
		if b.Step > h.last {
			h.batches = append(h.batches, b)
		}
	}
	if step <= h.last {
		return
	}
	h.last = step
	if cut := h.last - h.keep; cut > h.floor {
		h.floor = cut
		i := 0
		for i < len(h.batches) && h.batches[i].Step <= cut {
			i++
		}
		h.batches = h.batches[i:]
	}
	close(h.wake)
	h.wake = make(chan struct{})
}

// since returns the batches of the steps after `after`, the last step
// they cover, and a channel closed at the next publication; ok is false
// when steps after `after` are no longer kept.
func (h *hub) since(after int64) (out []stepping.Batch, last int64, wake <-chan struct{}, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if after < h.floor {
		return nil, 0, nil, false
	}
	for i := len(h.batches) - 1; i >= 0 && h.batches[i].Step > after; i-- {
		out = append(out, h.batches[i])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, max(h.last, after), h.wake, true
}

// The change stream's modes.
const (
	modeSnapshotAndFollow = "snapshot-and-follow"
	modeSnapshot          = "snapshot"
	modeFollow            = "follow"
)

// serveChanges answers GET /api/views/{view}/changes: a stream of the
// view's changes as Server-Sent Events whose ids are steps.
func (s *Server) serveChanges(w http.ResponseWriter, r *http.Request, v *relation) {
	q := r.URL.Query()
	mode := q.Get("mode")
	if mode == "" {
		mode = modeSnapshotAndFollow
	}
	if mode != modeSnapshotAndFollow && mode != modeSnapshot && mode != modeFollow {
		writeError(w, errBadRequest("mode", fmt.Sprintf("mode: want %s, %s or %s, got %q", modeSnapshotAndFollow, modeSnapshot, modeFollow, mode)))
		return
	}
	for name := range q {
		if name != "mode" && name != "after" && name != accessTokenParam {
			writeError(w, errBadRequest(name, fmt.Sprintf("a change stream takes mode and after, not %s", name)))
			return
		}
	}
	resume := r.Header.Get("Last-Event-ID")
	field := "Last-Event-ID"
	if a := q.Get("after"); a != "" {
		resume, field = a, "after"
	}
	ctx := r.Context()
	var after int64
	var snapshot *stepping.Rows
	switch {
	case resume != "":
		n, err := strconv.ParseInt(resume, 10, 64)
		if err != nil || n < 0 {
			writeError(w, errBadRequest(field, fmt.Sprintf("%s: want a step number, got %q", field, resume)))
			return
		}
		now, err := s.eng.Steps(ctx)
		if err != nil {
			writeError(w, s.failure(err))
			return
		}
		if n > now {
			// Not a step of this server's program: it restarted
			// without its journal, say, and counts from scratch.
			writeError(w, &apiError{status: http.StatusGone, code: "gone",
				msg: fmt.Sprintf("step %d is past the last step, %d: the server's history was lost; start again with a snapshot", n, now)})
			return
		}
		after = n
	case mode == modeFollow:
		n, err := s.eng.Steps(ctx)
		if err != nil {
			writeError(w, s.failure(err))
			return
		}
		after = n
	default:
		rows, n, err := s.eng.Snapshot(ctx, v.name, nil)
		if err != nil {
			writeError(w, s.failure(err))
			return
		}
		snapshot, after = rows, n
	}
	h := s.hubs[v.name]
	var past []stepping.Batch
	if _, _, _, ok := h.since(after); !ok && (mode != modeSnapshot || snapshot == nil) {
		var err error
		if past, after, err = s.history(ctx, v.name, after); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				writeError(w, ae)
			} else {
				writeError(w, s.failure(err))
			}
			return
		}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	hdr.Set("X-Stepping-Step", strconv.FormatInt(after, 10))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if snapshot != nil {
		b := appendEvent(nil, after, "snapshot", func(b []byte) []byte {
			b = append(b, `{"step":`...)
			b = strconv.AppendInt(b, after, 10)
			b = append(b, `,"rows":`...)
			b = appendRows(b, v, snapshot.Rows)
			return append(b, '}')
		})
		if _, err := w.Write(b); err != nil {
			return
		}
	}
	for _, b := range past {
		if _, err := w.Write(appendChanges(nil, v, b)); err != nil {
			return
		}
	}
	_ = rc.Flush()
	if mode == modeSnapshot && resume == "" {
		return
	}
	s.followHub(ctx, w, rc, v, h, after)
}

// history reads a view's changes after a step before what the hub
// keeps: on Postgres from the program's history, which the server keeps
// published while it runs, up to the last step, which the hub then
// follows from; in memory, or beyond that history, it is a 410.
func (s *Server) history(ctx context.Context, view string, after int64) ([]stepping.Batch, int64, error) {
	gone := &apiError{status: http.StatusGone, code: "gone",
		msg: fmt.Sprintf("the changes after step %d are no longer kept: start again with a snapshot", after)}
	if !s.eng.OnPostgres() {
		return nil, 0, gone
	}
	// No step comes between the history's last step and the hub's.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	batches, upTo, err := s.eng.History(ctx, view, after)
	if errors.Is(err, stepping.ErrNotKept) {
		return nil, 0, gone
	}
	return batches, upTo, err
}

// followHub streams the hub's batches after `after` until the client,
// or the server, goes.
func (s *Server) followHub(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, v *relation, h *hub, after int64) {
	ping := time.NewTicker(s.ping)
	defer ping.Stop()
	for {
		batches, last, wake, ok := h.since(after)
		if !ok {
			// Fell further behind than the steps kept: say so, and end.
			_, _ = fmt.Fprintf(w, "event: gone\ndata: {\"step\":%d}\n\n", after)
			_ = rc.Flush()
			return
		}
		for _, b := range batches {
			if _, err := w.Write(appendChanges(nil, v, b)); err != nil {
				return
			}
		}
		if len(batches) > 0 {
			if err := rc.Flush(); err != nil {
				return
			}
		}
		after = last
		select {
		case <-wake:
		case <-ping.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// appendEvent appends one event whose data, one line of JSON, data
// appends.
func appendEvent(b []byte, id int64, event string, data func([]byte) []byte) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, "\nevent: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = data(b)
	return append(b, "\n\n"...)
}

// appendChanges appends a step's changes event.
func appendChanges(b []byte, v *relation, batch stepping.Batch) []byte {
	return appendEvent(b, batch.Step, "changes", func(b []byte) []byte {
		b = append(b, `{"step":`...)
		b = strconv.AppendInt(b, batch.Step, 10)
		b = append(b, `,"changes":[`...)
		for i, c := range batch.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"row":`...)
			b = appendRow(b, v, c.Row)
			b = append(b, `,"weight":`...)
			b = strconv.AppendInt(b, c.Weight, 10)
			b = append(b, '}')
		}
		return append(b, "]}"...)
	})
}
