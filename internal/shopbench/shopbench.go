// Package shopbench is the shop reference workload (DESIGN.md section 7,
// workload 1) for benchmarks: it generates products and line items, and
// runs them through stepping and through two baselines measured in the
// same process, so figures are reported as ratios.
package shopbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/compile"
	rt "github.com/stepping-io/stepping/runtime"
)

// Workload sizes the shop data.
type Workload struct {
	Products  int
	LineItems int
	Baskets   int
	Seed      uint64
}

// Default is the reference size: 10,000 products, 1,000,000 line items in
// 100,000 baskets.
var Default = Workload{Products: 10_000, LineItems: 1_000_000, Baskets: 100_000, Seed: 1}

// Product is one generated product.
type Product struct {
	Name  string
	Price decimal.Decimal
}

// LineItem is one generated line item.
type LineItem struct {
	Basket  int64
	Product string
	Qty     int64
}

// Data is a generated workload.
type Data struct {
	Products  []Product
	LineItems []LineItem
}

// Generate makes the workload's rows deterministically from its seed.
// Line item (basket, product) pairs are unique, as the primary key needs.
func (w Workload) Generate() *Data {
	r := rand.New(rand.NewPCG(w.Seed, 7))
	d := &Data{}
	for i := range w.Products {
		d.Products = append(d.Products, Product{
			Name:  fmt.Sprintf("p%05d", i),
			Price: decimal.New(int64(100+r.IntN(99_900)), -2),
		})
	}
	perBasket := (w.LineItems + w.Baskets - 1) / w.Baskets
	for b := 0; len(d.LineItems) < w.LineItems; b++ {
		start := r.IntN(w.Products)
		for j := 0; j < perBasket && len(d.LineItems) < w.LineItems; j++ {
			d.LineItems = append(d.LineItems, LineItem{
				Basket:  int64(b),
				Product: d.Products[(start+j*7919)%w.Products].Name,
				Qty:     int64(1 + r.IntN(5)),
			})
		}
	}
	return d
}

// Program compiles examples/shop.step, found from the module root.
func Program() (*compile.Program, error) {
	path, err := findExample("shop.step")
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return compile.Compile(context.Background(), path, string(src), nil)
}

func findExample(name string) (string, error) {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "examples", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("examples/%s not found above the working directory", name)
		}
		dir = parent
	}
}

// ProductChanges returns insert changes for products.
func ProductChanges(ps []Product) []rt.Change {
	out := make([]rt.Change, len(ps))
	for i, p := range ps {
		out[i] = rt.Change{Op: rt.Insert, Row: []any{p.Name, p.Price}}
	}
	return out
}

// LineItemChanges returns insert changes for line items.
func LineItemChanges(ls []LineItem) []rt.Change {
	out := make([]rt.Change, len(ls))
	for i, l := range ls {
		out[i] = rt.Change{Op: rt.Insert, Row: []any{l.Basket, l.Product, l.Qty}}
	}
	return out
}

// Stepping runs the workload through a stepping engine in memory.
type Stepping struct {
	Engine *rt.Engine
}

// NewStepping compiles the shop program and opens an in-memory engine.
func NewStepping() (*Stepping, error) { return NewSteppingWorkers(1) }

// NewSteppingWorkers is NewStepping with the engine's stateful operators
// run on workers goroutines (runtime.Options.Workers).
func NewSteppingWorkers(workers int) (*Stepping, error) {
	p, err := Program()
	if err != nil {
		return nil, err
	}
	// The changes' rows are made for the engine alone, as the stepping
	// package makes them: it may keep them (Options.OwnsRows).
	return &Stepping{Engine: rt.NewWithOptions(p.Circuit, rt.NewMemoryStore(), rt.Options{Workers: workers, OwnsRows: true})}, nil
}

// Load inserts products, then line items in batches of batchSize.
func (s *Stepping) Load(ctx context.Context, d *Data, batchSize int) error {
	if _, err := s.Engine.Step(ctx, map[string][]rt.Change{"products": ProductChanges(d.Products)}); err != nil {
		return err
	}
	for i := 0; i < len(d.LineItems); i += batchSize {
		end := min(i+batchSize, len(d.LineItems))
		if _, err := s.Engine.Step(ctx, map[string][]rt.Change{"line_items": LineItemChanges(d.LineItems[i:end])}); err != nil {
			return err
		}
	}
	return nil
}

// SetPrice changes one product's price in one step.
func (s *Stepping) SetPrice(ctx context.Context, name string, price decimal.Decimal) error {
	_, err := s.Engine.Step(ctx, map[string][]rt.Change{"products": {{Op: rt.Update, Row: []any{name, price}}}})
	return err
}

// AddItem inserts one line item in one step.
func (s *Stepping) AddItem(ctx context.Context, l LineItem) error {
	_, err := s.Engine.Step(ctx, map[string][]rt.Change{"line_items": {{Op: rt.Insert, Row: []any{l.Basket, l.Product, l.Qty}}}})
	return err
}

// Totals is what the shop view computes, per basket.
type Totals struct {
	Total decimal.Decimal
	Items int64
}

// Recompute is the from-scratch baseline: a hash join and a group-by in
// plain Go over all the rows, as a cache rebuilt on every change would do.
func Recompute(d *Data) map[int64]Totals {
	price := make(map[string]decimal.Decimal, len(d.Products))
	for _, p := range d.Products {
		price[p.Name] = p.Price
	}
	out := make(map[int64]Totals)
	for _, l := range d.LineItems {
		p, ok := price[l.Product]
		if !ok {
			continue
		}
		t := out[l.Basket]
		t.Total = t.Total.Add(p.Mul(decimal.NewFromInt(l.Qty)))
		t.Items++
		out[l.Basket] = t
	}
	return out
}

// HandWritten is the hand-maintained baseline: the denormalised cache and
// the update code an application developer would write without stepping,
// specialised to this one view (no generality, no atomicity, no state
// beyond maps).
type HandWritten struct {
	price     map[string]decimal.Decimal
	byProduct map[string][]int // line item positions per product
	items     []LineItem
	totals    map[int64]Totals
}

// NewHandWritten returns an empty hand-written cache.
func NewHandWritten() *HandWritten {
	return &HandWritten{price: map[string]decimal.Decimal{}, byProduct: map[string][]int{}, totals: map[int64]Totals{}}
}

// Load inserts products, then line items.
func (h *HandWritten) Load(d *Data) {
	for _, p := range d.Products {
		h.price[p.Name] = p.Price
	}
	for _, l := range d.LineItems {
		h.AddItem(l)
	}
}

// AddItem inserts one line item and updates its basket's totals.
func (h *HandWritten) AddItem(l LineItem) {
	h.byProduct[l.Product] = append(h.byProduct[l.Product], len(h.items))
	h.items = append(h.items, l)
	if p, ok := h.price[l.Product]; ok {
		t := h.totals[l.Basket]
		t.Total = t.Total.Add(p.Mul(decimal.NewFromInt(l.Qty)))
		t.Items++
		h.totals[l.Basket] = t
	}
}

// SetPrice changes a product's price and fixes every basket holding it.
func (h *HandWritten) SetPrice(name string, price decimal.Decimal) {
	old := h.price[name]
	h.price[name] = price
	diff := price.Sub(old)
	for _, i := range h.byProduct[name] {
		l := h.items[i]
		t := h.totals[l.Basket]
		t.Total = t.Total.Add(diff.Mul(decimal.NewFromInt(l.Qty)))
		h.totals[l.Basket] = t
	}
}

// Totals returns the cache.
func (h *HandWritten) Totals() map[int64]Totals { return h.totals }

// HeapMB returns the live heap after a collection, in MiB.
func HeapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// GCShare runs f and returns the share of the process's CPU time that
// went to garbage collection meanwhile, as the runtime estimates it
// (runtime/metrics' /cpu/classes/gc/total over /cpu/classes/total, which
// it brings up to date at each collection: f should span many).
func GCShare(f func() error) (float64, error) {
	samples := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	read := func() (gc, total float64) {
		metrics.Read(samples)
		return samples[0].Value.Float64(), samples[1].Value.Float64()
	}
	gc0, total0 := read()
	err := f()
	gc1, total1 := read()
	if total1 <= total0 {
		return 0, err
	}
	return (gc1 - gc0) / (total1 - total0), err
}

// Timed returns how long f takes.
func Timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// Measures are one run's figures: stepping's on some workers, and the
// baselines', measured right after it.
type Measures struct {
	StepLoad, HandLoad, Recompute time.Duration
	StepAdd, HandAdd              time.Duration // medians
	StepPrice, HandPrice          time.Duration // medians
	StepPrice99, HandPrice99      time.Duration
	HeapMB                        float64 // stepping's heap after its load
	// StepGC and HandGC are the shares of CPU time that went to garbage
	// collection during each load.
	StepGC, HandGC float64
}

// MeasureOptions say how Measure runs the workload.
type MeasureOptions struct {
	Changes int // single-row changes to time for each kind
	Batch   int // rows per step while loading
	Workers int // the engine's (runtime.Options.Workers)
	// AfterLoad, when set, is called once stepping has loaded, its
	// engine still live (to write a heap profile, say).
	AfterLoad func() error
}

// Measure runs the workload's data d through stepping and through the
// baselines, one after the other: the load, then opts.Changes new line
// items, one a step, then as many price changes, each touching about
// items/products line items.
//
// Each load is timed with only its own state live. A collection marks
// the whole heap, so a load timed beside the other's state pays for
// marking it too, and whether a collection falls in its window at all
// depends on the other's size: the hand-written load timed after
// stepping's swung threefold from run to run. The hand-written cache is
// loaded again, untimed, for the single changes.
func Measure(w Workload, d *Data, opts MeasureOptions) (Measures, error) {
	var m Measures
	ctx := context.Background()
	runtime.GC() // the previous run's engine is garbage: not this one's
	m.HandGC, _ = GCShare(func() error {
		m.HandLoad, _ = Timed(func() error { NewHandWritten().Load(d); return nil })
		return nil
	})
	m.Recompute, _ = Timed(func() error { Recompute(d); return nil })
	runtime.GC()
	base := HeapMB()
	s, err := NewSteppingWorkers(opts.Workers)
	if err != nil {
		return m, err
	}
	m.StepGC, err = GCShare(func() error {
		m.StepLoad, err = Timed(func() error { return s.Load(ctx, d, opts.Batch) })
		return err
	})
	if err != nil {
		return m, err
	}
	m.HeapMB = HeapMB() - base
	if opts.AfterLoad != nil {
		if err := opts.AfterLoad(); err != nil {
			return m, err
		}
	}

	h := NewHandWritten()
	h.Load(d)

	var stepAdd, handAdd []time.Duration
	for i := range opts.Changes {
		l := LineItem{Basket: int64(w.Baskets + i), Product: d.Products[i%len(d.Products)].Name, Qty: 2}
		t, err := Timed(func() error { return s.AddItem(ctx, l) })
		if err != nil {
			return m, err
		}
		stepAdd = append(stepAdd, t)
		t, _ = Timed(func() error { h.AddItem(l); return nil })
		handAdd = append(handAdd, t)
	}
	m.StepAdd, m.HandAdd = Percentile(stepAdd, 0.5), Percentile(handAdd, 0.5)

	var stepPrice, handPrice []time.Duration
	for i := range opts.Changes {
		p := d.Products[(i*37)%len(d.Products)]
		price := p.Price.Add(decimal.New(int64(i+1), -2))
		t, err := Timed(func() error { return s.SetPrice(ctx, p.Name, price) })
		if err != nil {
			return m, err
		}
		stepPrice = append(stepPrice, t)
		t, _ = Timed(func() error { h.SetPrice(p.Name, price); return nil })
		handPrice = append(handPrice, t)
	}
	m.StepPrice, m.HandPrice = Percentile(stepPrice, 0.5), Percentile(handPrice, 0.5)
	m.StepPrice99, m.HandPrice99 = Percentile(stepPrice, 0.99), Percentile(handPrice, 0.99)
	return m, nil
}

// Percentile returns the p-th quantile (0.5: the median) of ds, zero for
// none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}
