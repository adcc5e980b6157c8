package runtime

import (
	"fmt"
	"testing"
)

// TestViewGoroutines checks how many goroutines a step deals its views'
// changes to: one on one worker, for one view, and for the few hundred
// changes of a price change, which waking a second worker made slower;
// at most one for each worker and each view otherwise; and as few
// changes as Options.ParallelBatch says when it is set, as the tests of
// the parallel paths set it.
func TestViewGoroutines(t *testing.T) {
	tests := []struct {
		workers, parallelBatch, size, views int
		want                                int
	}{
		{workers: 1, size: 100_000, views: 4, want: 1},
		{workers: 2, size: 400, views: 2, want: 1},
		{workers: 2, size: parallelWork - 1, views: 2, want: 1},
		{workers: 2, size: parallelWork, views: 2, want: 2},
		{workers: 2, size: 100_000, views: 5, want: 2},
		{workers: 4, size: 100_000, views: 3, want: 3},
		{workers: 4, size: 100_000, views: 1, want: 1},
		{workers: 4, parallelBatch: 1, size: 2, views: 2, want: 2},
		{workers: 4, parallelBatch: 16, size: 15, views: 2, want: 1},
	}
	c := lower(t, `
table kv (k int8, v int8, primary key (k))
view s = kv | group by v { n = count() }
output s
`)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt), func(t *testing.T) {
			e := NewWithOptions(c, NewMemoryStore(), Options{Workers: tt.workers, ParallelBatch: tt.parallelBatch})
			if got := e.viewGoroutines(tt.size, tt.views); got != tt.want {
				t.Errorf("viewGoroutines(%d, %d) = %d, want %d", tt.size, tt.views, got, tt.want)
			}
		})
	}
}
