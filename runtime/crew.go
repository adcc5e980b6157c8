package runtime

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// A crew runs the parallel regions of a partitioned store's steps (the
// exchange of an operator, the split of a table's changes, the commit of
// the partitions' writes) on helper goroutines that wait for the next
// region by spinning for a while rather than by sleeping.
//
// A step on several workers runs ten or so regions of a few hundred
// microseconds each. Starting a goroutine for each, as parallel does,
// wakes an idle processor's thread every time, which on a virtual
// machine took 60 to 600 microseconds: two workers then loaded the
// reference workloads 1.2 to 1.4 times slower than one. A helper that
// has just finished a region is still running when the next one comes,
// and takes it in 20 to 40. One that waits longer than the crew's spin
// (between steps, or when the engine is idle) ends; the next region
// starts it again. So a crew needs no closing, and holds no goroutine
// while its engine is not stepping.
type crew struct {
	spin    time.Duration
	busy    atomic.Bool // a region is running: one nested in it runs serially
	helpers []*helper   // helpers[i] runs f(i+1) of a region
	errs    []error     // the running region's, by index
	left    atomic.Int32
	done    chan struct{} // the last helper of a region to finish sends on it
}

// crewSpin is how long a crew's helper, or its caller waiting on the
// helpers, spins before sleeping. Loading the reference workloads in
// steps of 1,000 rows on two workers, spins of 50 and 200 microseconds
// measured alike, and none 10 to 20% slower (ledger, meters, scooters);
// a helper spinning between a big step's long serial stretches keeps
// the garbage collector from marking on its idle processor, so the
// spin is kept short.
const crewSpin = 100 * time.Microsecond

// newCrew returns a crew that runs regions of up to n functions, n-1 of
// them on its helpers.
func newCrew(n int) *crew {
	c := &crew{spin: crewSpin, done: make(chan struct{}, 1)}
	for range n - 1 {
		c.helpers = append(c.helpers, &helper{crew: c, tasks: make(chan task, 1)})
	}
	return c
}

// run runs f(0), ..., f(n-1) side by side, as parallel does, f(0) on the
// calling goroutine and the others on the crew's helpers, and returns
// the error of the lowest i that failed. A nil crew runs them as
// parallel does; a region started within another runs serially, the
// crew's helpers being taken.
func (c *crew) run(n int, f func(i int) error) error {
	switch {
	case n <= 1 || c == nil || n-1 > len(c.helpers):
		return parallel(n, f)
	case !c.busy.CompareAndSwap(false, true):
		return serially(n, f)
	}
	defer c.busy.Store(false)
	if cap(c.errs) < n {
		c.errs = make([]error, n)
	}
	c.errs = c.errs[:n] // all nil: run clears them
	c.left.Store(int32(n - 1))
	for i := 1; i < n; i++ {
		c.helpers[i-1].give(task{f: f, i: i})
	}
	c.errs[0] = protected(f, 0)
	c.wait()
	for i, err := range c.errs {
		c.errs[i] = nil // the region's errors are not kept till the next
		if err != nil {
			clear(c.errs[i:])
			return err
		}
	}
	return nil
}

// wait returns once every helper has finished the region: it spins for
// the crew's spin, as the helpers, given even shares, finish about when
// the caller does, then sleeps.
func (c *crew) wait() {
	deadline := time.Now().Add(c.spin)
	for {
		select {
		case <-c.done:
			return
		default:
		}
		if time.Now().After(deadline) {
			<-c.done
			return
		}
		runtime.Gosched()
	}
}

// finished records that a helper finished its part of the region.
func (c *crew) finished() {
	if c.left.Add(-1) == 0 {
		c.done <- struct{}{}
	}
}

// task is a helper's part of a region: f(i).
type task struct {
	f func(int) error
	i int
}

// A helper's states: gone (no goroutine, as at first), waiting (its
// goroutine spinning for a task) or given (a task is on its way or
// running).
const (
	helperGone int32 = iota
	helperWaiting
	helperGiven
)

// helper is one of a crew's goroutines, started when it is first given
// a task and ended when it has waited the crew's spin for the next.
type helper struct {
	crew  *crew
	state atomic.Int32
	tasks chan task
}

// give hands t to the helper's goroutine: the waiting one, or a new one
// when it has ended.
func (h *helper) give(t task) {
	if !h.state.CompareAndSwap(helperWaiting, helperGiven) {
		// Gone: the goroutine returned without reading tasks again.
		h.state.Store(helperGiven)
		go h.work()
	}
	h.tasks <- t
}

// work runs the tasks given to the helper until it waits too long for
// one.
func (h *helper) work() {
	for {
		t := <-h.tasks
		h.crew.errs[t.i] = protected(t.f, t.i)
		// Waiting before finished: the next region, which starts once
		// the caller sees this one finished, finds it so.
		h.state.Store(helperWaiting)
		h.crew.finished()
		if !h.await() {
			return
		}
	}
}

// await spins until the helper is given a task, reporting true, or,
// after the crew's spin, marks it gone and reports false.
func (h *helper) await() bool {
	deadline := time.Now().Add(h.crew.spin)
	for h.state.Load() == helperWaiting {
		if time.Now().After(deadline) && h.state.CompareAndSwap(helperWaiting, helperGone) {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// protected returns f(i)'s error, or a panic in f as an error with the
// value it panicked with: the step fails, as a panic on the step's own
// goroutine makes it.
func protected(f func(int) error, i int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return f(i)
}
