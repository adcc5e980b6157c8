package main

import (
	"strings"
	"testing"

	"github.com/stepping-io/stepping/runtime/postgres"
)

// TestProgressBar draws a backlog's progress in place on a terminal,
// keeping it below the messages, and ends it with the last counts.
func TestProgressBar(t *testing.T) {
	var out strings.Builder
	b := &progressBar{w: &out, terminal: true}
	b.show(postgres.Progress{What: "backlog", Done: 250, Total: 1000, Rate: 500})
	b.Write([]byte("a message\n"))
	b.show(postgres.Progress{What: "backlog", Done: 1000, Total: 1000, Rate: 600, Finished: true})
	want := "\r\x1b[Kbacklog [======                  ]  25% 250/1000, 500/s, 2s left" +
		"\r\x1b[Ka message\nbacklog [======                  ]  25% 250/1000, 500/s, 2s left" +
		"\r\x1b[Kbacklog: 1000 changes applied, 600/s; caught up\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}

	// Off a terminal: a line now and then, and the last.
	out.Reset()
	b = &progressBar{w: &out}
	for done := int64(100); done <= 1000; done += 100 {
		b.show(postgres.Progress{What: "backfill", Done: done, Total: 1000, Rate: 100, Finished: done == 1000})
	}
	want = "backfill: 100 of 1000 rows read, 100/s, about 9s left\nbackfill: 1000 rows read, 100/s; caught up\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}
