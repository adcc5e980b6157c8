package runtime_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// bigGroup is a table s of rows in one group (u = 0), and a view over
// it, loaded in memory.
type bigGroup struct {
	eng   *runtime.Engine
	rows  []zset.Row // by id
	r     *rand.Rand
	hi    int64 // the greatest score given so far
	lo    int64 // the least
	top   int   // the id of the row last raised to the top
	ticks int
}

func newBigGroup(b *testing.B, view string, n int) *bigGroup {
	b.Helper()
	src := "table s (id int8, u int8, score int8, primary key (id))\n" + view + "\n"
	prog, err := compile.Compile(context.Background(), "big.step", src, nil)
	if err != nil {
		b.Fatal(err)
	}
	g := &bigGroup{eng: prog.NewEngine(runtime.NewMemoryStore()), r: rand.New(rand.NewPCG(5, 6))}
	var changes []runtime.Change
	for id := range n {
		row := zset.Row{int64(id), int64(0), int64(g.r.IntN(n))}
		g.rows = append(g.rows, row)
		changes = append(changes, runtime.Change{Op: runtime.Insert, Row: row})
	}
	g.hi, g.lo = int64(n), 0
	g.step(b, changes)
	return g
}

func (g *bigGroup) step(b *testing.B, changes []runtime.Change) {
	if _, err := g.eng.Step(context.Background(), map[string][]runtime.Change{"s": changes}); err != nil {
		b.Fatal(err)
	}
}

// change makes one change that moves the group's extremes and returns
// its time: every other step raises a random row above every other (a
// new first row, the old third one leaving the top), the steps between
// lower that row below every other (the greatest value retracted).
func (g *bigGroup) change(b *testing.B) time.Duration {
	g.ticks++
	var id int
	var score int64
	if g.ticks%2 == 1 {
		id = g.r.IntN(len(g.rows))
		g.hi++
		score = g.hi
		g.top = id
	} else {
		id = g.top
		g.lo--
		score = g.lo
	}
	row := zset.Row{int64(id), int64(0), score}
	g.rows[id] = row
	start := time.Now()
	g.step(b, []runtime.Change{{Op: runtime.Update, Row: row}})
	return time.Since(start)
}

// BenchmarkBigGroup measures a change to the extremes of one group of
// 1,000 rows and of one of 100,000, in the same run: a top 3 of the
// whole table, a top 3 per group, and min and max per group. It reports
// the time per change of each and their ratio, which stays near 1 when
// a change costs O(log n) whatever the group's size.
func BenchmarkBigGroup(b *testing.B) {
	for _, tc := range []struct{ name, view string }{
		{"top", "view v = s | top 3 by score desc"},
		{"top_per", "view v = s | top 3 by score desc per u"},
		{"minmax", "view v = s | group by u { lo = min(score), hi = max(score) }"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			small := newBigGroup(b, tc.view, 1_000)
			big := newBigGroup(b, tc.view, 100_000)
			var ts, tb time.Duration
			for b.Loop() {
				ts += small.change(b)
				tb += big.change(b)
			}
			b.ReportMetric(float64(ts.Nanoseconds())/float64(b.N), "ns/change-1k")
			b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "ns/change-100k")
			b.ReportMetric(float64(tb)/float64(ts), "big/small")
		})
	}
}
