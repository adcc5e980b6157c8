package runtime_test

import (
	"context"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// countingStore is a memory store that counts the rows its indexes'
// lookups return.
type countingStore struct {
	*runtime.MemoryStore
	read int
}

func (s *countingStore) Index(id int) runtime.Index {
	return countingIndex{s.MemoryStore.Index(id), s}
}

type countingIndex struct {
	runtime.Index
	s *countingStore
}

func (ix countingIndex) Lookup(ctx context.Context, keys []string) ([][]zset.Entry, error) {
	out, err := ix.Index.Lookup(ctx, keys)
	for _, rows := range out {
		ix.s.read += len(rows)
	}
	return out, err
}

// TestSemiJoinReadsCounts checks the incremental cost of semi- and
// anti-joins without a condition: a change on the right reads one count
// per key, and reads the left rows of a key only when the key's count
// crosses zero.
func TestSemiJoinReadsCounts(t *testing.T) {
	prog, err := compile.Compile(context.Background(), "counts.step", `
table l (id int4, k int4, primary key (id))
table r (id int4, k int4, primary key (id))
view sj = l | semi join r on l.k == r.k
view aj = l | anti join r on l.k == r.k
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{MemoryStore: runtime.NewMemoryStore()}
	eng := prog.NewEngine(store)
	ctx := context.Background()
	const n = 1000
	var left []runtime.Change
	for i := range n {
		left = append(left, ins(i, 1))
	}
	steps := []struct {
		name            string
		changes         map[string][]runtime.Change
		maxRead         int
		semi, anti      int // the change of each view's size
		semiRows, aRows int // rows of each view afterwards
	}{
		{"left rows and one match", map[string][]runtime.Change{"l": left, "r": {ins(1, 1)}}, 2, n, 0, n, 0},
		{"a second match", map[string][]runtime.Change{"r": {ins(2, 1)}}, 2, 0, 0, n, 0},
		{"one match of two gone", map[string][]runtime.Change{"r": {del(1, nil)}}, 2, 0, 0, n, 0},
		{"the last match gone", map[string][]runtime.Change{"r": {del(2, nil)}}, 2 + 2*n, -n, n, 0, n},
		{"a match of another key", map[string][]runtime.Change{"r": {ins(3, 2)}}, 2, 0, 0, 0, n},
	}
	for _, st := range steps {
		store.read = 0
		res, err := eng.Step(ctx, st.changes)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if store.read > st.maxRead {
			t.Errorf("%s: lookups read %d rows, want at most %d", st.name, store.read, st.maxRead)
		}
		for view, want := range map[string]int{"sj": st.semiRows, "aj": st.aRows} {
			got, _ := eng.Contents(view)
			if got.Len() != want {
				t.Errorf("%s: %s holds %d rows, want %d", st.name, view, got.Len(), want)
			}
		}
		for view, want := range map[string]int{"sj": st.semi, "aj": st.anti} {
			var net int64
			if d := res.Changes[view]; d != nil {
				d.Each(func(_ zset.Row, w int64) { net += w })
			}
			if net != int64(want) {
				t.Errorf("%s: %s changed by %d rows, want %d", st.name, view, net, want)
			}
		}
	}
}
