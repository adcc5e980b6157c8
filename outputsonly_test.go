package stepping_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stepping-io/stepping"
)

// TestOpenMemoryOutputsOnly runs the feed on an engine computing only
// what is read beside one computing every view, on a random stream of
// follows and posts coming and going. Its steps must return the
// outputs' changes alone until a view is subscribed to or read, then
// that view's as well; and whatever it returns, and every view read,
// must equal the other engine's.
func TestOpenMemoryOutputsOnly(t *testing.T) {
	prog, err := stepping.CompileFile("examples/feed.step")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	all := prog.OpenMemory()
	defer all.Close()
	some := prog.OpenMemoryWith(stepping.MemoryOptions{OutputsOnly: true})
	defer some.Close()

	r := rand.New(rand.NewPCG(1, 2))
	users := []string{"ann", "bob", "cy", "di", "ed"}
	follows := map[[2]string]bool{}
	posts := map[int64]bool{}
	// step writes the same random changes to both engines, steps both,
	// and returns their batches by view.
	step := func(i int) (allViews, someViews map[string]string) {
		t.Helper()
		var ins, del []any
		var insPosts, delPosts []any
		// A row is changed at most once a step.
		seenFollows, seenPosts := map[[2]string]bool{}, map[int64]bool{}
		for range 1 + r.IntN(6) {
			f := [2]string{users[r.IntN(len(users))], users[r.IntN(len(users))]}
			if seenFollows[f] {
				continue
			}
			seenFollows[f] = true
			if follows[f] {
				del = append(del, []any{f[0], f[1]})
			} else {
				ins = append(ins, []any{f[0], f[1]})
			}
			follows[f] = !follows[f]
		}
		for range 1 + r.IntN(6) {
			id := int64(r.IntN(40))
			if seenPosts[id] {
				continue
			}
			seenPosts[id] = true
			if posts[id] {
				delPosts = append(delPosts, map[string]any{"id": id})
			} else {
				insPosts = append(insPosts, []any{id, users[r.IntN(len(users))], fmt.Sprintf("2026-01-%02d 10:00:00", 1+r.IntN(28)), "hi"})
			}
			posts[id] = !posts[id]
		}
		byView := func(eng *stepping.Engine) map[string]string {
			for _, w := range []struct {
				table string
				rows  []any
				del   bool
			}{{"follows", del, true}, {"follows", ins, false}, {"posts", delPosts, true}, {"posts", insPosts, false}} {
				if len(w.rows) == 0 {
					continue
				}
				write := eng.Insert
				if w.del {
					write = eng.Delete
				}
				if err := write(ctx, w.table, w.rows...); err != nil {
					t.Fatalf("step %d: %s: %v", i, w.table, err)
				}
			}
			batches, err := eng.Step(ctx)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			out := map[string]string{}
			for _, b := range batches {
				out[b.View] = changesOf(b)
			}
			return out
		}
		return byView(all), byView(some)
	}
	read := func(eng *stepping.Engine, view string) []string {
		t.Helper()
		rows, err := eng.Read(ctx, view)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, row := range rows.Rows {
			out = append(out, fmt.Sprint(row...))
		}
		slices.Sort(out)
		return out
	}
	outputs := prog.Outputs()
	var sub *stepping.Subscription
	for i := range 60 {
		if i == 20 {
			// Subscribing makes the steps after compute the view.
			if sub, err = some.Subscribe(ctx, "timeline_items"); err != nil {
				t.Fatal(err)
			}
		}
		if i == 40 {
			// Reading a view nothing needed computes it from the tables.
			if got, want := read(some, "timeline_items"), read(all, "timeline_items"); !slices.Equal(got, want) {
				t.Fatalf("step %d: timeline_items read %v, want %v", i, got, want)
			}
		}
		allViews, someViews := step(i)
		for view, got := range someViews {
			if want := allViews[view]; got != want {
				t.Fatalf("step %d: %s changed by %s, want %s", i, view, got, want)
			}
		}
		for view, want := range allViews {
			_, got := someViews[view]
			needed := slices.Contains(outputs, view) || i >= 20 && view == "timeline_items"
			if got != needed {
				t.Fatalf("step %d: %s's changes returned: %v, want %v", i, view, got, needed)
			}
			if view == "timeline_items" && i >= 20 {
				b := <-sub.C
				if got := changesOf(b); got != want {
					t.Fatalf("step %d: subscription to %s sent %s, want %s", i, view, got, want)
				}
			}
		}
	}
	for _, view := range prog.Views() {
		if got, want := read(some, view), read(all, view); !slices.Equal(got, want) {
			t.Fatalf("%s reads %v, want %v", view, got, want)
		}
	}
}

// changesOf is a batch's changes as one string, in a stable order.
func changesOf(b stepping.Batch) string {
	var out []string
	for _, c := range b.Changes {
		out = append(out, fmt.Sprint(c.Weight, c.Row))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
