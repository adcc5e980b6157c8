package runtime

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrewRun checks that a crew's region runs every f(i) once and
// reports the error of the lowest i that failed, a panic as an error,
// whatever the region's size against the crew's, and region after
// region with the same helpers.
func TestCrewRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		crew, n int
		fail    map[int]error // f(i) fails with this
		panics  int           // f(panics) panics, when not 0
		want    string        // the error's text; empty for none
	}{
		{name: "none", crew: 2, n: 0},
		{name: "one", crew: 2, n: 1},
		{name: "two", crew: 2, n: 2},
		{name: "fewer than the crew", crew: 4, n: 3},
		{name: "more than the crew", crew: 2, n: 5},
		{name: "caller fails", crew: 2, n: 2, fail: map[int]error{0: boom}, want: "boom"},
		{name: "helper fails", crew: 4, n: 4, fail: map[int]error{2: boom}, want: "boom"},
		{name: "lowest wins", crew: 4, n: 4, fail: map[int]error{1: errors.New("first"), 3: errors.New("third")}, want: "first"},
		{name: "helper panics", crew: 2, n: 2, panics: 1, want: "internal error: oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCrew(tt.crew)
			for region := range 3 {
				ran := make([]atomic.Int32, max(tt.n, 0))
				err := c.run(tt.n, func(i int) error {
					ran[i].Add(1)
					if tt.panics != 0 && i == tt.panics {
						panic("oops")
					}
					return tt.fail[i]
				})
				got := ""
				if err != nil {
					got = err.Error()
				}
				if got != tt.want {
					t.Fatalf("region %d: error %q, want %q", region, got, tt.want)
				}
				for i := range ran {
					if n := ran[i].Load(); n != 1 {
						t.Fatalf("region %d: f(%d) ran %d times", region, i, n)
					}
				}
			}
		})
	}
}

// TestCrewNested checks that a region started within another, on the
// caller or on a helper, runs serially on its goroutine rather than
// waiting for the crew's helpers, which the outer region holds.
func TestCrewNested(t *testing.T) {
	c := newCrew(2)
	var inner [2][3]atomic.Int32
	err := c.run(2, func(i int) error {
		return c.run(3, func(j int) error {
			inner[i][j].Add(1)
			if i == 1 && j == 2 {
				return fmt.Errorf("inner %d.%d", i, j)
			}
			return nil
		})
	})
	if err == nil || err.Error() != "inner 1.2" {
		t.Fatalf("error %v, want inner 1.2", err)
	}
	for i := range inner {
		for j := range inner[i] {
			if n := inner[i][j].Load(); n != 1 {
				t.Errorf("inner f(%d) of outer f(%d) ran %d times", j, i, n)
			}
		}
	}
}

// TestCrewHelpersEnd checks that a helper left waiting longer than the
// crew's spin ends, and that the next region starts it again.
func TestCrewHelpersEnd(t *testing.T) {
	c := newCrew(3)
	c.spin = time.Microsecond
	for region := range 3 {
		var sum atomic.Int64
		if err := c.run(3, func(i int) error { sum.Add(int64(i + 1)); return nil }); err != nil {
			t.Fatal(err)
		}
		if got := sum.Load(); got != 6 {
			t.Fatalf("region %d: sum %d, want 6", region, got)
		}
		for _, h := range c.helpers {
			for h.state.Load() != helperGone {
				runtime.Gosched() // the helper ends a microsecond after its task
			}
		}
	}
}

// TestCrewPanicOnCaller checks that a panic in the caller's own f(0) is
// returned as an error too, once the helpers have finished.
func TestCrewPanicOnCaller(t *testing.T) {
	c := newCrew(2)
	var helped atomic.Bool
	err := c.run(2, func(i int) error {
		if i == 0 {
			panic("caller")
		}
		helped.Store(true)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "internal error: caller") {
		t.Fatalf("error %v, want the caller's panic", err)
	}
	if !helped.Load() {
		t.Fatal("run returned before its helper finished")
	}
	if err := c.run(2, func(int) error { return nil }); err != nil {
		t.Fatalf("the next region: %v", err)
	}
}
