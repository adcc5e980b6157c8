package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// graphWorkload builds examples/graph.step over components separate
// graphs of size nodes each: a random tree (every node but the root has
// an edge from an earlier node) plus a few back edges that make cycles.
// It returns the engine with every edge loaded in one step, the edges,
// and the number of rows of reach.
func graphWorkload(b *testing.B, components, size int) (*runtime.Engine, []zset.Row, int) {
	b.Helper()
	src, err := os.ReadFile("../examples/graph.step")
	if err != nil {
		b.Fatal(err)
	}
	prog, err := compile.Compile(context.Background(), "graph.step", string(src), nil)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var edges []zset.Row
	for c := range components {
		node := func(i int) string { return fmt.Sprintf("c%d_%d", c, i) }
		for i := 1; i < size; i++ {
			edges = append(edges, zset.Row{node(r.IntN(i)), node(i)})
		}
		for range 2 {
			from, to := r.IntN(size), r.IntN(size)
			if from != to {
				edges = append(edges, zset.Row{node(from), node(to)})
			}
		}
	}
	eng := prog.NewEngine(runtime.NewMemoryStore())
	seen := map[string]bool{}
	var changes []runtime.Change
	var kept []zset.Row
	for _, e := range edges {
		k := e[0].(string) + ">" + e[1].(string)
		if !seen[k] {
			seen[k] = true
			kept = append(kept, e)
			changes = append(changes, runtime.Change{Op: runtime.Insert, Row: e})
		}
	}
	if _, err := eng.Step(context.Background(), map[string][]runtime.Change{"edges": changes}); err != nil {
		b.Fatal(err)
	}
	reach, _ := eng.Contents("reach")
	return eng, kept, reach.Len()
}

// BenchmarkGraphLoad measures loading a thousand graphs of 30 nodes in
// one step: every path found by semi-naive iteration.
func BenchmarkGraphLoad(b *testing.B) {
	var rows int
	for b.Loop() {
		_, _, rows = graphWorkload(b, 1000, 30)
	}
	b.ReportMetric(float64(rows), "reach-rows")
}

// BenchmarkGraphEdgeRemoved measures removing one random edge and adding
// it back, two steps each, with a thousand graphs of 30 nodes loaded.
func BenchmarkGraphEdgeRemoved(b *testing.B) {
	eng, edges, rows := graphWorkload(b, 1000, 30)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	for b.Loop() {
		e := edges[r.IntN(len(edges))]
		if _, err := eng.Step(ctx, map[string][]runtime.Change{"edges": {{Op: runtime.Delete, Row: e}}}); err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Step(ctx, map[string][]runtime.Change{"edges": {{Op: runtime.Insert, Row: e}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "reach-rows")
}
