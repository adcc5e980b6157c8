package shopbench

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
)

// BenchmarkPriceChangeSmall is BenchmarkPriceChange on a workload of
// 10,000 line items that loads in a moment and stays in cache, so that
// comparing two builds on a busy machine takes seconds: a price change
// still touches about 100 baskets.
func BenchmarkPriceChangeSmall(b *testing.B) {
	ctx := context.Background()
	d := Workload{Products: 100, LineItems: 10_000, Baskets: 1000, Seed: 1}.Generate()
	s, err := NewStepping()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Load(ctx, d, 1000); err != nil {
		b.Fatal(err)
	}
	i := 0
	defer reportCPU(b)()
	for b.Loop() {
		p := d.Products[i%len(d.Products)]
		i++
		if err := s.SetPrice(ctx, p.Name, p.Price.Add(decimal.New(int64(i), -2))); err != nil {
			b.Fatal(err)
		}
	}
}
