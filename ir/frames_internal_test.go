package ir

import "testing"

// TestFramesComeBackCleared checks that a frame given back holds no
// value of the evaluation that used it: a frame waiting in the pool
// must not keep a row's values alive.
func TestFramesComeBackCleared(t *testing.T) {
	f := newFrames(3)
	for round := range 3 {
		l := f.get()
		if len(*l) != 3 {
			t.Fatalf("round %d: a frame of %d slots, want 3", round, len(*l))
		}
		for i, v := range *l {
			if v != nil {
				t.Fatalf("round %d: slot %d holds %v from an earlier evaluation", round, i, v)
			}
		}
		for i := range *l {
			(*l)[i] = "value"
		}
		f.put(l)
	}
}
