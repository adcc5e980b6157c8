package journal

import (
	"path/filepath"
	"testing"
)

// BenchmarkAppend measures appends of a one-row entry, each synced, from
// one goroutine and from many at once, where appends share syncs.
// Figures depend on the file system's sync: a tmpfs syncs for free.
func BenchmarkAppend(b *testing.B) {
	e := Entry{Table: "line_items", Op: OpInsert, Rows: rows(`{"basket_id": 1, "product_name": "tv", "qty": 2}`)}
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			j, err := Open(filepath.Join(b.TempDir(), "journal.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			if bc.parallel {
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := j.Append(e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for b.Loop() {
					if err := j.Append(e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
