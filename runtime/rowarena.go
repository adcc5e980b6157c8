package runtime

import (
	"sync"

	"github.com/stepping-io/stepping/zset"
)

// rowArena holds what a step makes and drops by its end, in room that
// the engine's next steps reuse rather than leaving it to the collector:
// the rows a join makes for an aggregate, in chunks (an aggregate reads
// its input rows' values and keeps none of the rows), and one batch of
// changes, a join's or another whose array lives only as long as the
// step (stepOnly, stepBatch, Engine.stepRoom). In a shop's load, the
// rows of its line items joined with their products were the most
// bytes a step allocated.
type rowArena struct {
	chunks [][]any
	at     int   // the chunk rows are taken from
	used   int   // the slots of chunks[at] taken
	filled []int // the slots taken of each chunk before at
	// entries is the room of the arena's batch, and given how much of
	// it was given to fill.
	entries batch
	given   int
}

// arenaChunk is the slots of an arena's chunk: a few thousand rows.
const arenaChunk = 1 << 14

// arenaKept is the most slots an arena kept for later steps holds (2
// MB): a step that needed more leaves its arena to the collector.
const arenaKept = 1 << 17

// arenasKept is the most slots, all arenas together, an engine keeps
// for later steps (16 MB). A budget of slots rather than a count of
// arenas: a step on more workers takes more arenas (one for each
// partition's join rows, table changes and split), each holding a
// smaller share, and what an idle engine holds stays the same whatever
// the number of workers.
const arenasKept = 8 * arenaKept

// row returns a row of n columns, all nil.
func (a *rowArena) row(n int) zset.Row {
	for {
		if a.at < len(a.chunks) {
			if c := a.chunks[a.at]; a.used+n <= len(c) {
				r := c[a.used : a.used+n : a.used+n]
				a.used += n
				return r
			}
			a.filled = append(a.filled, a.used)
			a.at, a.used = a.at+1, 0
			continue
		}
		a.chunks = append(a.chunks, make([]any, max(arenaChunk, n)))
	}
}

// batch returns an empty batch with room for n entries: an arena serves
// one batch in a step.
func (a *rowArena) batch(n int) batch {
	if cap(a.entries) < n {
		a.entries = make(batch, 0, n)
	}
	a.given = n
	return a.entries[:0:n]
}

// size is the slots the arena holds, its entries counting as two.
func (a *rowArena) size() int {
	n := 2 * cap(a.entries)
	for _, c := range a.chunks {
		n += len(c)
	}
	return n
}

// reset empties the arena for another step: its rows' values are
// dropped, so that it keeps nothing of this step alive.
func (a *rowArena) reset() {
	for i, n := range a.filled {
		clear(a.chunks[i][:n])
	}
	if a.at < len(a.chunks) {
		clear(a.chunks[a.at][:a.used])
	}
	clear(a.entries[:a.given])
	a.at, a.used, a.filled, a.given = 0, 0, a.filled[:0], 0
}

// stepArenas are the arenas a step took, given back to the engine when
// the step commits. The workers' operators take theirs side by side.
type stepArenas struct {
	mu    sync.Mutex
	taken []*rowArena
}

// arenaStock is the arenas an engine keeps between steps.
type arenaStock struct {
	mu    sync.Mutex
	free  []*rowArena
	slots int // the free arenas' sizes, added up
}

// takeArena returns an arena for this step.
func (s *stepRun) takeArena() *rowArena { return s.engine.takeArena(s.arenas) }

// takeArena returns an arena for the step whose arenas sa holds.
func (e *Engine) takeArena(sa *stepArenas) *rowArena {
	st := &e.arenas
	st.mu.Lock()
	var a *rowArena
	if n := len(st.free); n > 0 {
		a, st.free[n-1] = st.free[n-1], nil
		st.free = st.free[:n-1]
		st.slots -= a.size()
	} else {
		a = &rowArena{}
	}
	st.mu.Unlock()
	sa.mu.Lock()
	sa.taken = append(sa.taken, a)
	sa.mu.Unlock()
	return a
}

// stepRoom returns room for n changes of a table in this step that only
// joins, aggregates and integrals read (stepOnly), in an arena.
func (e *Engine) stepRoom(n int) batch { return e.takeArena(&e.stepArenas).batch(n) }

// dropArenas leaves the arenas of a step that failed to the collector:
// the error may tell of a row in them.
func (e *Engine) dropArenas() {
	clear(e.stepArenas.taken)
	e.stepArenas.taken = e.stepArenas.taken[:0]
}

// giveArenas gives the engine back the arenas of a step that committed,
// emptied, but those grown too big to keep and those past arenasKept.
func (e *Engine) giveArenas(sa *stepArenas) {
	st := &e.arenas
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, a := range sa.taken {
		if n := a.size(); n <= arenaKept && st.slots+n <= arenasKept {
			a.reset()
			st.free = append(st.free, a)
			st.slots += n
		}
	}
	clear(sa.taken)
	sa.taken = sa.taken[:0]
}
