package genrt

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The modes of a change stream (docs/serve.md, Change streams).
const (
	SnapshotAndFollow = "snapshot-and-follow" // the rows at a step, then every later step's changes
	Snapshot          = "snapshot"            // the rows alone; the stream then ends
	Follow            = "follow"              // the changes of the steps after the current one
)

// SubscribeOptions say where a change stream starts.
type SubscribeOptions struct {
	// Mode is SnapshotAndFollow (the default when empty), Snapshot or
	// Follow.
	Mode string
	// After, when not zero, resumes after that step: no snapshot, and
	// the changes of every later step, none lost or repeated, while the
	// server keeps them (an *Error with Code "gone" when it does not).
	After int64
}

// Event is one event of a change stream: a snapshot (Rows) or a step's
// changes (Changes), with its step.
type Event[T any] struct {
	Type    string // "snapshot" or "changes"
	Step    int64
	Rows    []T         // a snapshot's rows
	Changes []Change[T] // a changes event's changes
}

// Stream is a view's change stream. Next returns its events in order;
// when the connection drops, Next reconnects once with Last-Event-ID set
// to the last step received, so no step is lost or repeated.
type Stream[T any] struct {
	ctx  context.Context
	c    *Client
	path string
	mode string

	last    int64 // the id of the last event received
	hasLast bool
	body    io.ReadCloser
	r       *bufio.Reader
}

// Subscribe opens the change stream of a view. It ends when ctx ends or
// Close is called.
func Subscribe[T any](ctx context.Context, c *Client, view string, opts SubscribeOptions) (*Stream[T], error) {
	mode := opts.Mode
	if mode == "" {
		mode = SnapshotAndFollow
	}
	s := &Stream[T]{ctx: ctx, c: c, path: "/api/views/" + view + "/changes", mode: mode}
	if opts.After != 0 {
		s.last, s.hasLast = opts.After, true
	}
	if err := s.connect(); err != nil {
		return nil, err
	}
	return s, nil
}

// connect opens the stream: from the start, or after the last event.
func (s *Stream[T]) connect() error {
	q := url.Values{}
	if !s.hasLast {
		q.Set("mode", s.mode)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, s.c.url(s.path, q), nil)
	if err != nil {
		return fmt.Errorf("stepping client: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if s.hasLast {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(s.last, 10))
	}
	s.c.authorize(req)
	resp, err := s.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("stepping client: subscribing to %s: %w", s.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return readError(resp)
	}
	s.body, s.r = resp.Body, bufio.NewReader(resp.Body)
	return nil
}

// LastEventID returns the step of the last event received, 0 before any:
// what a later Subscribe with After resumes from.
func (s *Stream[T]) LastEventID() int64 { return s.last }

// Close ends the stream.
func (s *Stream[T]) Close() error {
	if s.body == nil {
		return nil
	}
	err := s.body.Close()
	s.body = nil
	return err
}

// Next returns the next event. It returns io.EOF after the snapshot of
// a Snapshot stream, and ctx's error once ctx ends.
func (s *Stream[T]) Next() (Event[T], error) {
	reconnected := false
	for {
		if s.body == nil {
			return Event[T]{}, fmt.Errorf("stepping client: the stream is closed")
		}
		ev, err := s.read()
		if err == nil {
			return ev, nil
		}
		if s.ctx.Err() != nil {
			return Event[T]{}, s.ctx.Err()
		}
		var bad *badEvent
		if errors.As(err, &bad) {
			return Event[T]{}, err
		}
		if s.mode == Snapshot && errors.Is(err, io.EOF) {
			return Event[T]{}, io.EOF // the snapshot came; the stream is done
		}
		if reconnected {
			return Event[T]{}, fmt.Errorf("stepping client: %s: %w", s.path, err)
		}
		s.body.Close()
		if err := s.connect(); err != nil {
			s.body = nil
			return Event[T]{}, err
		}
		reconnected = true
	}
}

// badEvent is an event whose data does not decode: reconnecting would
// not help.
type badEvent struct{ err error }

func (e *badEvent) Error() string { return e.err.Error() }
func (e *badEvent) Unwrap() error { return e.err }

// read reads lines up to the end of the next event and decodes it;
// comments (: ping) and events of other names are skipped.
func (s *Stream[T]) read() (Event[T], error) {
	var id, name string
	var data strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return Event[T]{}, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Event[T]{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if name == "" && data.Len() == 0 {
				continue
			}
			ev, ok, err := s.decode(id, name, data.String())
			if err != nil || ok {
				return ev, err
			}
			id, name = "", ""
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "event":
			name = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
}

// decode turns an event's fields into an Event; ok is false for an
// event of a name the stream does not know, which is skipped.
func (s *Stream[T]) decode(id, name, data string) (Event[T], bool, error) {
	var payload struct {
		Step    int64       `json:"step"`
		Rows    []T         `json:"rows"`
		Changes []Change[T] `json:"changes"`
	}
	switch name {
	case "snapshot", "changes":
	default:
		return Event[T]{}, false, nil
	}
	if err := json.Unmarshal([]byte(data), &payload); err != nil {
		return Event[T]{}, false, &badEvent{fmt.Errorf("stepping client: a %s event of %s: %w", name, s.path, err)}
	}
	step := payload.Step
	if id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return Event[T]{}, false, &badEvent{fmt.Errorf("stepping client: event id %q of %s is not a step", id, s.path)}
		}
		step = n
	}
	s.last, s.hasLast = step, true
	return Event[T]{Type: name, Step: payload.Step, Rows: payload.Rows, Changes: payload.Changes}, true, nil
}
