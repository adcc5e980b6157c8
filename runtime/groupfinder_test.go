package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestGroupFinder checks that a batch's keys are found again as the
// groups they were first given, whether the finder scans (few groups) or
// hashes them (many), and with every hash the same; with the keys in
// random order, and in runs of one key, as a batch in primary-key order
// has its groups' (which the finder finds again without hashing); and
// that keys gives each group its own key.
func TestGroupFinder(t *testing.T) {
	for _, collide := range []bool{false, true} {
		for _, distinct := range []int{1, 3, groupScan, groupScan + 1, 100} {
			for _, run := range []int{1, 4} {
				t.Run(fmt.Sprintf("collide=%v/keys=%d/run=%d", collide, distinct, run), func(t *testing.T) {
					testGroupFinder(t, collide, distinct, run)
				})
			}
		}
	}
}

// testGroupFinder finds a batch's keys, drawn from distinct keys, each
// drawn repeated run times (up to a few more or less), and checks the
// groups found.
func testGroupFinder(t *testing.T, collide bool, distinct, run int) {
	collideHashes = collide
	t.Cleanup(func() { collideHashes = false })
	r := rand.New(rand.NewPCG(uint64(distinct), uint64(run)))
	f := groupFinder{rows: 5 * distinct * run}
	want := map[string]int32{}
	var k string
	for i := range f.rows {
		// Keys of different lengths, some prefixes of others.
		if i%run == 0 || r.IntN(4) == 0 {
			k = fmt.Sprintf("k%d", r.IntN(distinct))
		}
		g, found := f.find([]byte(k))
		w, seen := want[k]
		switch {
		case found != seen:
			t.Fatalf("find(%q) reports found=%v; it was given before: %v", k, found, seen)
		case seen && g != w:
			t.Fatalf("find(%q) = group %d, first given %d", k, g, w)
		case !seen && g != int32(len(want)):
			t.Fatalf("find(%q) made group %d, want %d", k, g, len(want))
		}
		want[k] = g
	}
	keys := f.keys()
	if len(keys) != len(want) {
		t.Fatalf("%d keys, want %d", len(keys), len(want))
	}
	for k, g := range want {
		if keys[g] != k {
			t.Errorf("group %d's key is %q, want %q", g, keys[g], k)
		}
	}
}

// TestMemGroupsPutKeepsNoBatchString checks that memory groups filed
// under keys cut from one batch string, as an aggregate's are, are kept
// under keys of their own, whether new or changed in place, so that the
// batch's string is not kept alive by them.
func TestMemGroupsPutKeepsNoBatchString(t *testing.T) {
	g := newMemGroups()
	within := func(k, batch string) bool {
		p, b := uintptr(unsafe.Pointer(unsafe.StringData(k))), uintptr(unsafe.Pointer(unsafe.StringData(batch)))
		return p >= b && p < b+uintptr(len(batch))
	}
	states := []*GroupState{{Count: 1}, {Count: 2}}
	for round := range 3 {
		batch := strings.Repeat("x", round) + "ab" // a new string each round
		keys := []string{batch[round : round+1], batch[round+1:]}
		if err := g.Put(context.Background(), keys, states); err != nil {
			t.Fatal(err)
		}
		for k := range g.m {
			if within(k, batch) {
				t.Fatalf("round %d: key %q is filed as a part of the batch's string", round, k)
			}
		}
		if len(g.m) != 2 || g.m["a"] != states[0] || g.m["b"] != states[1] {
			t.Fatalf("round %d: groups %v", round, g.m)
		}
	}
}
