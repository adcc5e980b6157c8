package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// BenchmarkFeedTopK measures top-k alone as the feed workload drives it:
// 500,000 timeline rows in 5 steps of 100,000, over 5,000 users (about
// 20 rows per user per step), each user's 3 newest kept. The engine
// keeps no contents, so that the time is the operator's. It reports the
// time per row.
func BenchmarkFeedTopK(b *testing.B) {
	src := "table t (user text, post_id int8, author text, at timestamp)\nview v = t | top 3 by at desc per user\n"
	prog, err := compile.Compile(context.Background(), "tk.step", src, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	var steps []*zset.ZSet // the rows of each step, made before the clock starts
	id := int64(0)
	for range 5 {
		cs := zset.New()
		for range 100_000 {
			id++
			cs.Add(zset.Row{fmt.Sprintf("t%d", r.IntN(5000)), id, "a", base.Add(-time.Duration(r.IntN(14*24)) * time.Hour)}, 1)
		}
		steps = append(steps, cs)
	}
	for b.Loop() {
		eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{NoContents: true})
		for _, cs := range steps {
			if _, err := eng.StepDelta(context.Background(), map[string]*zset.ZSet{"t": cs}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500_000), "ns/row")
}
