package shopbench

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// BenchmarkLoad measures bulk loading line items through the shop view,
// in steps of 10,000 rows, on one worker and on two.
func BenchmarkLoad(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchmarkLoad(b, workers) })
	}
}

func benchmarkLoad(b *testing.B, workers int) {
	w := Workload{Products: 10_000, LineItems: 200_000, Baskets: 20_000, Seed: 1}
	d := w.Generate()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		s, err := NewSteppingWorkers(workers)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Load(ctx, d, 10_000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(d.LineItems)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPriceChange measures one product price change, one step each,
// with 1,000,000 line items loaded, on one worker and on two.
func BenchmarkPriceChange(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchmarkPriceChange(b, workers) })
	}
}

func benchmarkPriceChange(b *testing.B, workers int) {
	ctx := context.Background()
	s, d := loaded(b, workers)
	i := 0
	for b.Loop() {
		p := d.Products[i%len(d.Products)]
		i++
		if err := s.SetPrice(ctx, p.Name, p.Price.Add(decimal.New(int64(i), -2))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddItem measures one line item insert, one step each, with
// 1,000,000 line items loaded, on one worker and on two.
func BenchmarkAddItem(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchmarkAddItem(b, workers) })
	}
}

func benchmarkAddItem(b *testing.B, workers int) {
	ctx := context.Background()
	s, d := loaded(b, workers)
	i := 0
	defer reportCPU(b)()
	for b.Loop() {
		l := LineItem{Basket: int64(1_000_000 + i), Product: d.Products[i%len(d.Products)].Name, Qty: 1}
		i++
		if err := s.AddItem(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// loaded returns an engine on workers with the reference workload
// loaded, and its data.
func loaded(b *testing.B, workers int) (*Stepping, *Data) {
	b.Helper()
	d := Default.Generate()
	s, err := NewSteppingWorkers(workers)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Load(context.Background(), d, 50_000); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	return s, d
}

// BenchmarkSmallStep measures a step's fixed cost on a small loaded shop:
// a step with no changes, and one adding a line item to a basket that
// exists (its group changes; no group is made). Its allocations per
// step are what a single change costs the garbage collector.
func BenchmarkSmallStep(b *testing.B) {
	ctx := context.Background()
	s, err := NewStepping()
	if err != nil {
		b.Fatal(err)
	}
	d := Workload{Products: 1000, LineItems: 10_000, Baskets: 1000, Seed: 1}.Generate()
	if err := s.Load(ctx, d, 1000); err != nil {
		b.Fatal(err)
	}
	b.Run("empty", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := s.Engine.Step(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	i := 0
	b.Run("add", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			// Baskets from 1,000 on hold no loaded item: each key is new.
			// Past 1,000 items for each product, the baskets move on by
			// 1,000, so that a long run never inserts a key twice.
			round := i / (1000 * len(d.Products))
			l := LineItem{Basket: int64(1000 + i%1000 + 1000*round), Product: d.Products[(i/1000)%len(d.Products)].Name, Qty: 1}
			i++
			if err := s.AddItem(ctx, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVsHandWritten runs what cmd/stepbench prints, smaller (200,000
// line items), on one worker and on two, and reports stepping beside the
// hand-written cache measured in the same iteration: each "-vs-hand" is
// the hand-written code's time over stepping's (1 would be as fast), with
// stepping's heap per input row and garbage collection's share of CPU
// during its load. Issue 13's targets: load 0.7, single changes 0.5, 120
// B/row, GC under 10%.
func BenchmarkVsHandWritten(b *testing.B) {
	w := Workload{Products: 2000, LineItems: 200_000, Baskets: 20_000, Seed: 1}
	d := w.Generate()
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var ms []Measures
			for b.Loop() {
				m, err := Measure(w, d, MeasureOptions{Changes: 200, Batch: 10_000, Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				ms = append(ms, m)
			}
			m := ms[len(ms)/2] // the middle iteration's
			b.ReportMetric(m.HandLoad.Seconds()/m.StepLoad.Seconds(), "load-vs-hand")
			b.ReportMetric(m.HandAdd.Seconds()/m.StepAdd.Seconds(), "add-vs-hand")
			b.ReportMetric(m.HandPrice.Seconds()/m.StepPrice.Seconds(), "price-vs-hand")
			b.ReportMetric(m.HeapMB*(1<<20)/float64(len(d.LineItems)+len(d.Products)), "heap-B/row")
			b.ReportMetric(100*m.StepGC, "gc-%")
		})
	}
}

// reportCPU starts counting the process's CPU time, and returns what
// reports it per iteration as cpu-ns/op: on a machine shared with other
// work, a benchmark's wall time per op swings with what else runs, while
// the CPU it takes (its garbage collection's included) swings far less.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// cpuTime is the CPU time the process has taken, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
