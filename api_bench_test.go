package stepping_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/runtime"
)

// BenchmarkAPIAddItem measures what an application embedding stepping
// pays for one new line item in the shop: Insert of a struct and Step,
// through the root package's API, beside the runtime engine's Step of
// the same change, measured in the same iterations (the engines hold the
// same data). It reports each one's time and "api/runtime", how many
// times the runtime's time the API takes: the API's own cost is reading
// the struct into a row and returning the views' changes as Batches.
func BenchmarkAPIAddItem(b *testing.B) {
	ctx := context.Background()
	p, err := stepping.CompileFile(filepath.Join("examples", "shop.step"))
	if err != nil {
		b.Fatal(err)
	}
	type product struct {
		Name  string
		Price decimal.Decimal
	}
	type item struct {
		BasketID    int64
		ProductName string
		Qty         int64
	}
	api := p.OpenMemory()
	eng := runtime.New(compileExample(b, filepath.Join("examples", "shop.step")).Circuit, runtime.NewMemoryStore())
	var rtProducts, rtItems []runtime.Change
	for i := range 1000 {
		pr := product{fmt.Sprintf("p%d", i), decimal.New(int64(100+i), -2)}
		if err := api.Insert(ctx, "products", pr); err != nil {
			b.Fatal(err)
		}
		rtProducts = append(rtProducts, runtime.Change{Op: runtime.Insert, Row: []any{pr.Name, pr.Price}})
	}
	for i := range 10_000 {
		it := item{int64(i / 10), fmt.Sprintf("p%d", (i*7)%1000), 1}
		if err := api.Insert(ctx, "line_items", it); err != nil {
			b.Fatal(err)
		}
		rtItems = append(rtItems, runtime.Change{Op: runtime.Insert, Row: []any{it.BasketID, it.ProductName, it.Qty}})
	}
	if _, err := api.Step(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := eng.Step(ctx, map[string][]runtime.Change{"products": rtProducts, "line_items": rtItems}); err != nil {
		b.Fatal(err)
	}
	var inAPI, inRuntime time.Duration
	i := 0
	for b.Loop() {
		it := item{int64(1_000_000 + i), fmt.Sprintf("p%d", i%1000), 1}
		i++
		start := time.Now()
		if err := api.Insert(ctx, "line_items", it); err != nil {
			b.Fatal(err)
		}
		if _, err := api.Step(ctx); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := eng.Step(ctx, map[string][]runtime.Change{"line_items": {{Op: runtime.Insert, Row: []any{it.BasketID, it.ProductName, it.Qty}}}}); err != nil {
			b.Fatal(err)
		}
		inAPI, inRuntime = inAPI+mid.Sub(start), inRuntime+time.Since(mid)
	}
	b.ReportMetric(float64(inAPI.Nanoseconds())/float64(b.N), "api-ns/op")
	b.ReportMetric(float64(inRuntime.Nanoseconds())/float64(b.N), "runtime-ns/op")
	b.ReportMetric(float64(inAPI)/float64(inRuntime), "api/runtime")
}
