package runtime

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stepping-io/stepping/zset"
)

// BenchmarkRankingAdd measures a ranking's inserts as the feed workload
// makes them: rows by a timestamp, descending, arriving in steps of 20
// per group, the group's state copied (lazily) at each step and its first
// 3 rows read before and after. It reports the time per insert.
func BenchmarkRankingAdd(b *testing.B) {
	const groups, perStep, steps = 1000, 20, 5
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	var rows []RankedRow
	for i := range groups * perStep * steps {
		at := base.Add(-time.Duration(r.IntN(14*24)) * time.Hour)
		row := zset.Row{"u", int64(i), "a", at}
		sort := []any{at}
		rr := RankedRow{Sort: sort, Row: row}
		rr.lead, rr.hasLead = leadOf(at, true)
		rows = append(rows, rr)
	}
	var buf []RankedRow
	for b.Loop() {
		states := make([]*Ranking, groups)
		next := 0
		for range steps {
			for g := range states {
				old := states[g]
				st := NewRanking([]bool{true})
				if old != nil {
					st = &Ranking{Desc: old.Desc, Rows: old.Rows.Clone()}
					buf = old.top(3, buf[:0])
				}
				for range perStep {
					if err := st.add(rows[next], 1); err != nil {
						b.Fatal(err)
					}
					next++
				}
				buf = st.top(3, buf[:0])
				states[g] = st
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/insert")
}
