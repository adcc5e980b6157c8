package runtime

import (
	"testing"

	"github.com/stepping-io/stepping/zset"
)

// TestPairRowsRow checks the rows pairRows carves out of shared arrays,
// for a join's pairs and a select's rows: each its own columns, none
// reaching into the next (an append to one copies it), and a step's
// rows made a chunk at a time.
func TestPairRowsRow(t *testing.T) {
	p := pairRows{left: 40}
	var rows []zset.Row
	for i := range 40 {
		r := p.row(3)
		if len(r) != 3 || cap(r) != 3 {
			t.Fatalf("row %d: len %d cap %d, want 3 and 3", i, len(r), cap(r))
		}
		r[0], r[1], r[2] = i, i, i
		rows = append(rows, r)
	}
	grown := append(rows[0], "x")
	grown[0] = "changed"
	for i, r := range rows {
		if r[0] != i || r[1] != i || r[2] != i {
			t.Fatalf("row %d holds %v: another row's columns, or an append's, reached it", i, r)
		}
	}
	if got := p.concat(zset.Row{1, 2}, zset.Row{3}); len(got) != 3 || cap(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("concat gives %v (cap %d)", got, cap(got))
	}
	allocs := testing.AllocsPerRun(20, func() {
		q := pairRows{left: pairChunk}
		for range pairChunk {
			q.row(4)
		}
	})
	if allocs != 1 {
		t.Errorf("%d rows made %v allocations, want 1", pairChunk, allocs)
	}
}
