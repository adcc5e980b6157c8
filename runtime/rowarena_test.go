package runtime

import (
	"testing"

	"github.com/stepping-io/stepping/zset"
)

// TestRowArena checks that an arena's rows never share a slot, a row
// bigger than a chunk included, that a reset arena hands out rows of nil
// values again and holds none of the old ones, and that a step's
// arenas go back to the engine when it commits, but for one grown too
// big to keep.
func TestRowArena(t *testing.T) {
	a := &rowArena{}
	var rows [][]any
	for i, n := range []int{3, arenaChunk - 4, 5, arenaChunk + 7, 1, 2} {
		r := a.row(n)
		if len(r) != n || cap(r) != n {
			t.Fatalf("row %d: len %d cap %d, want %d", i, len(r), cap(r), n)
		}
		for j := range r {
			if r[j] != nil {
				t.Fatalf("row %d: column %d is %v, want nil", i, j, r[j])
			}
			r[j] = i
		}
		rows = append(rows, r)
	}
	for i, r := range rows {
		for j, v := range r {
			if v != i {
				t.Fatalf("row %d column %d is %v: another row wrote over it", i, j, v)
			}
		}
	}
	b := a.batch(4)
	if len(b) != 0 || cap(b) != 4 {
		t.Fatalf("batch: len %d cap %d, want 0 and 4", len(b), cap(b))
	}
	b = append(b, zset.Entry{Row: rows[0], Weight: 1})
	a.reset()
	if a.entries[:1][0].Row != nil {
		t.Errorf("after reset, the batch still holds a row")
	}
	for i, c := range a.chunks {
		for j, v := range c {
			if v != nil {
				t.Fatalf("after reset, chunk %d slot %d holds %v", i, j, v)
			}
		}
	}
	if r := a.row(2); &r[0] != &a.chunks[0][0] {
		t.Errorf("after reset, the first row is not at the arena's start")
	}

	e := &Engine{}
	s := &stepRun{engine: e, arenas: &e.stepArenas}
	small, big := s.takeArena(), s.takeArena()
	small.row(10)
	big.row(arenaKept + 1)
	e.giveArenas(&e.stepArenas)
	if len(e.stepArenas.taken) != 0 {
		t.Errorf("the step still lists %d arenas", len(e.stepArenas.taken))
	}
	if len(e.arenas.free) != 1 || e.arenas.free[0] != small || small.used != 0 {
		t.Errorf("the engine kept %v, want the small arena %p alone, emptied (used %d)", e.arenas.free, small, small.used)
	}
	// Arenas of a quarter of arenaKept each: the engine keeps as many
	// as its budget holds, and takes their room off the budget when
	// they are taken again.
	e = &Engine{}
	for range 4*arenasKept/arenaKept + 3 {
		e.stepArenas.taken = append(e.stepArenas.taken, &rowArena{chunks: [][]any{make([]any, arenaKept/4)}})
	}
	e.giveArenas(&e.stepArenas)
	if want := 4 * arenasKept / arenaKept; len(e.arenas.free) != want || e.arenas.slots != arenasKept {
		t.Errorf("the engine kept %d arenas of %d slots, want %d of %d", len(e.arenas.free), e.arenas.slots, want, arenasKept)
	}
	s = &stepRun{engine: e, arenas: &e.stepArenas}
	for range len(e.arenas.free) {
		s.takeArena()
	}
	if e.arenas.slots != 0 {
		t.Errorf("with every arena taken, the engine counts %d slots kept", e.arenas.slots)
	}
}
