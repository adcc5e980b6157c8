package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// lazyFeed is a feed whose views but timelines are neither outputs nor
// read by the test until a given step; pairs is read by no other view
// either.
const lazyFeed = `
table follows (follower int8, followee int8, primary key (follower, followee))
table posts (id int8, author int8, at int8, primary key (id))
view timeline_items = follows | join posts on follows.followee == posts.author
  | select { user = follows.follower, post_id = posts.id, at = posts.at }
view per_user = timeline_items | group by user { n = count(), last = max(at) }
view timelines = timeline_items | top 2 by at desc per user
view busy = per_user | where n > 1 | select { user, twice = n * 2 }
view pairs = follows | join posts on follows.followee == posts.author | select { user = follows.follower, at = posts.at }
output timelines
`

// TestViewReadFirstLate reads each view that is not an output for the
// first time after some random steps, and then at about every other
// step: its contents equal the oracle's from scratch at the first read
// and ever after, as the engine keeps them from that read on (or reads
// them from an aggregate's state, per_user's and busy's, again after
// each step that changed them), and the outputs' contents equal it
// throughout.
func TestViewReadFirstLate(t *testing.T) {
	ctx := context.Background()
	prog, err := compile.Compile(ctx, "lazy.step", lazyFeed, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, outputsOnly := range []bool{false, true} {
		for _, workers := range []int{1, 3} {
			for seed := range uint64(12) {
				t.Run(fmt.Sprintf("outputsOnly=%v/workers=%d/seed=%d", outputsOnly, workers, seed), func(t *testing.T) {
					viewReadFirstLate(t, prog, seed, runtime.Options{Workers: workers, ParallelBatch: 4, OutputsOnly: outputsOnly})
				})
			}
		}
	}
}

// viewReadFirstLate is one run of TestViewReadFirstLate. With
// OutputsOnly, a step's result also holds the changes of pairs, which
// no other view reads, only once it is read: until then nothing needs
// the join behind it, which the engine does not run.
func viewReadFirstLate(t *testing.T, prog *compile.Program, seed uint64, opts runtime.Options) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 11))
	eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), opts)
	firstRead := map[string]int{"timeline_items": r.IntN(8), "per_user": r.IntN(8), "busy": r.IntN(8), "pairs": r.IntN(8)}
	follows, posts := map[[2]int64]bool{}, map[int64]zset.Row{}
	for step := range 10 {
		// One change per key in a step.
		var fc, pc []runtime.Change
		touched := map[any]bool{}
		for range 1 + r.IntN(12) {
			k := [2]int64{r.Int64N(6), r.Int64N(6)}
			if touched[k] {
				continue
			}
			touched[k] = true
			row := []any{k[0], k[1]}
			if follows[k] {
				delete(follows, k)
				fc = append(fc, runtime.Change{Op: runtime.Delete, Row: row})
			} else {
				follows[k] = true
				fc = append(fc, runtime.Change{Op: runtime.Insert, Row: row})
			}
		}
		for range 1 + r.IntN(12) {
			id := r.Int64N(30)
			if touched[id] {
				continue
			}
			touched[id] = true
			if old, ok := posts[id]; ok {
				delete(posts, id)
				pc = append(pc, runtime.Change{Op: runtime.Delete, Row: old})
			} else {
				posts[id] = zset.Row{id, r.Int64N(6), r.Int64N(100)}
				pc = append(pc, runtime.Change{Op: runtime.Insert, Row: posts[id]})
			}
		}
		res, err := eng.Step(ctx, map[string][]runtime.Change{"follows": fc, "posts": pc})
		if err != nil {
			t.Fatal(err)
		}
		if _, has := res.Changes["pairs"]; has && opts.OutputsOnly && step <= firstRead["pairs"] {
			t.Fatalf("step %d: the result holds pairs' changes before it was read", step)
		}
		tables := map[string]*zset.ZSet{}
		for _, name := range []string{"follows", "posts"} {
			z, _ := eng.Contents(name)
			tables[name] = z
		}
		want, err := oracle.Eval(prog.Checked, tables)
		if err != nil {
			t.Fatal(err)
		}
		for _, view := range []string{"timelines", "timeline_items", "per_user", "busy", "pairs"} {
			if first, lazy := firstRead[view]; lazy && (step < first || step > first && r.IntN(2) == 0) {
				continue
			}
			got, ok, err := eng.ReadContents(ctx, view)
			if err != nil || !ok {
				t.Fatalf("step %d: reading %s: %v, %v", step, view, ok, err)
			}
			if !got.Equal(want[view]) {
				t.Fatalf("step %d: %s is\n%v\nwant\n%v", step, view, got, want[view])
			}
		}
	}
}
