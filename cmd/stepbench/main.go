// Command stepbench runs the shop reference workload in memory through
// stepping and, in the same run, through two baselines, and prints the
// figures side by side:
//
//   - hand-written: the map-based cache and update code a developer would
//     write for this one view without stepping;
//   - recompute: rebuilding the view from scratch (hash join and group-by
//     in plain Go) after a change, as a cache refreshed on write does.
//
// In memory, stepping runs once for each worker count of -workers
// (runtime.Options.Workers; 1 and 2 by default), each run beside the
// baselines measured again, so every ratio compares figures of one time;
// with -rounds N, N times in turn, printing the medians. After the table
// it prints, for each worker count, stepping's heap after the load per
// input row and over the input's own size as Go structs, and the share of
// CPU time that garbage collection took during stepping's load and
// during the hand-written one's.
//
// Usage:
//
//	go run ./cmd/stepbench [-items 1000000] [-products 10000] [-baskets 100000] [-changes 200] [-workers 1,2] [-rounds 1]
//	go run ./cmd/stepbench -db URL [-items ...] [-products ...] [-baskets ...] [-batches 20] [-changes 200] [-schema stepbench]
//
// With -db the same workload runs on Postgres (in schemas stepbench and
// stepbench_prog, or -schema and -schema with _prog added, dropped before
// and after), side by side with the view kept by pg_ivm (when CREATE
// EXTENSION pg_ivm works; otherwise one line says why and its column
// shows "-"), with the view kept by REFRESH MATERIALIZED VIEW and with
// plain inserts into tables with no view. It prints, for the
// initial load, batches of 1,000 new line items and single price changes,
// each system's figure and its time over stepping's; then the peak Go heap
// during stepping's initial load, its output tables' heap beside the same
// rows written once, the size on disk of stepping's state and outputs, of
// the baselines' views and of the inputs, and the count of
// basket_totals rows differing from a recomputation (0 when correct).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stepping-io/stepping/internal/shopbench"
)

func main() {
	w := shopbench.Default
	flag.IntVar(&w.LineItems, "items", w.LineItems, "line items to load")
	flag.IntVar(&w.Products, "products", w.Products, "products")
	flag.IntVar(&w.Baskets, "baskets", w.Baskets, "baskets")
	changes := flag.Int("changes", 0, "single-row changes to time for each kind (0: 8,000 in memory, 200 with -db)")
	batch := flag.Int("batch", 10_000, "rows per step while loading")
	db := flag.String("db", "", "Postgres URL: measure the workload on Postgres instead (uses and drops schemas SCHEMA and SCHEMA_prog)")
	schema := flag.String("schema", "stepbench", "with -db: the schema of the run's tables; the program's is this with _prog added")
	batches := flag.Int("batches", 20, "with -db: batches of 1,000 new line items")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memprofile := flag.String("memprofile", "", "in memory: write a heap profile to this file once the first run has loaded, to see what the engine's state holds")
	workerList := flag.String("workers", "1,2", "in memory: the worker counts to run the engine with, one run each, comma-separated")
	rounds := flag.Int("rounds", 1, "in memory: run every worker count this many times, in turn, and print the medians (the machine's load then weighs on each alike)")
	flag.Parse()
	workers, err := parseWorkers(*workerList)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stepbench:", err)
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "stepbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *db != "" {
		err = runPG(context.Background(), *db, *schema, w, *batches, cmp.Or(*changes, 200))
	} else {
		// Eight thousand changes of each kind in memory, not a few
		// hundred or thousand: a collection marking the loaded heaps
		// (both engines', about 230 MB) slows the steps it overlaps,
		// and the medians of 200 swung by 1.7x with whether one did;
		// those of 2,000 price changes, about half a second, still
		// read 0.26x to 0.41x the hand-written code's from run to run
		// of one binary, and those of 8,000 0.43x to 0.48x.
		err = run(w, cmp.Or(*changes, 8000), *batch, workers, max(*rounds, 1), *memprofile)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "stepbench:", err)
		os.Exit(1)
	}
}

func run(w shopbench.Workload, changes, batch int, workers []int, rounds int, memprofile string) error {
	fmt.Printf("shop workload: %d products, %d line items, %d baskets; steps of %d rows while loading; GOMAXPROCS %d",
		w.Products, w.LineItems, w.Baskets, batch, goruntime.GOMAXPROCS(0))
	if rounds > 1 {
		fmt.Printf("; %d rounds, each running every worker count in turn: medians", rounds)
	}
	fmt.Print("\n\n")
	base := shopbench.HeapMB()
	d := w.Generate()
	inputMB := shopbench.HeapMB() - base // the rows as plain Go structs
	runs := make([][]shopbench.Measures, len(workers))
	for range rounds {
		for i, n := range workers {
			opts := shopbench.MeasureOptions{Changes: changes, Batch: batch, Workers: n}
			if memprofile != "" {
				path := memprofile
				opts.AfterLoad = func() error { return writeHeapProfile(path) }
			}
			m, err := shopbench.Measure(w, d, opts)
			if err != nil {
				return err
			}
			memprofile = "" // the first run's is enough
			runs[i] = append(runs[i], m)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\tworkers\tstepping\thand-written\trecompute\tstepping vs hand\tstepping vs recompute\t")
	rows := float64(len(d.LineItems))
	for i, n := range workers {
		m := runs[i]
		get := func(f func(shopbench.Measures) time.Duration) time.Duration {
			var ds []time.Duration
			for _, x := range m {
				ds = append(ds, f(x))
			}
			return median(ds)
		}
		// The ratios are the medians of each round's ratio: a round's
		// figures were measured at one time, under one load.
		ratioOf := func(f func(shopbench.Measures) float64) float64 {
			var rs []float64
			for _, x := range m {
				rs = append(rs, f(x))
			}
			slices.Sort(rs)
			return rs[len(rs)/2]
		}
		stepLoad, handLoad, recompute := get(func(x shopbench.Measures) time.Duration { return x.StepLoad }), get(func(x shopbench.Measures) time.Duration { return x.HandLoad }), get(func(x shopbench.Measures) time.Duration { return x.Recompute })
		fmt.Fprintf(tw, "bulk load (rows/s)\t%d\t%.0f\t%.0f\t%.0f\t%.2fx\t%.2fx\t\n", n,
			rows/stepLoad.Seconds(), rows/handLoad.Seconds(), rows/recompute.Seconds(),
			ratioOf(func(x shopbench.Measures) float64 { return ratio(x.HandLoad, x.StepLoad) }),
			ratioOf(func(x shopbench.Measures) float64 { return ratio(x.Recompute, x.StepLoad) }))
		stepAdd, handAdd := get(func(x shopbench.Measures) time.Duration { return x.StepAdd }), get(func(x shopbench.Measures) time.Duration { return x.HandAdd })
		fmt.Fprintf(tw, "add one line item (median)\t%d\t%s\t%s\t%s\t%.2fx\t%.0fx\t\n", n,
			stepAdd, handAdd, recompute.Round(time.Millisecond),
			ratioOf(func(x shopbench.Measures) float64 { return ratio(x.HandAdd, x.StepAdd) }),
			ratioOf(func(x shopbench.Measures) float64 { return ratio(x.Recompute, x.StepAdd) }))
		stepPrice, handPrice := get(func(x shopbench.Measures) time.Duration { return x.StepPrice }), get(func(x shopbench.Measures) time.Duration { return x.HandPrice })
		fmt.Fprintf(tw, "price change, ~%d rows (median)\t%d\t%s\t%s\t%s\t%.2fx\t%.0fx\t\n",
			w.LineItems/w.Products, n, stepPrice, handPrice, recompute.Round(time.Millisecond),
			ratioOf(func(x shopbench.Measures) float64 { return ratio(x.HandPrice, x.StepPrice) }),
			ratioOf(func(x shopbench.Measures) float64 { return ratio(x.Recompute, x.StepPrice) }))
		fmt.Fprintf(tw, "price change (p99)\t%d\t%s\t%s\t\t\t\t\n", n,
			get(func(x shopbench.Measures) time.Duration { return x.StepPrice99 }), get(func(x shopbench.Measures) time.Duration { return x.HandPrice99 }))
	}
	tw.Flush()
	fmt.Println()
	inputRows := float64(len(d.LineItems) + len(d.Products))
	for i, n := range workers {
		heap := runs[i][0].HeapMB
		fmt.Printf("stepping heap after load, %d workers: %.0f MiB for %.0f input rows (%.0f bytes/row), %.1fx the input's %.0f MiB as Go structs (%.0f bytes/row)\n",
			n, heap, inputRows, heap*(1<<20)/inputRows, heap/inputMB, inputMB, inputMB*(1<<20)/inputRows)
		var step, hand []float64
		for _, x := range runs[i] {
			step, hand = append(step, x.StepGC), append(hand, x.HandGC)
		}
		slices.Sort(step)
		slices.Sort(hand)
		fmt.Printf("garbage collection's share of CPU during the load, %d workers: stepping %.0f%%, hand-written %.0f%%\n",
			n, 100*step[len(step)/2], 100*hand[len(hand)/2])
	}
	if len(workers) > 1 {
		var speedups []float64
		for r := range rounds {
			speedups = append(speedups, ratio(runs[0][r].StepLoad, runs[len(runs)-1][r].StepLoad))
		}
		slices.Sort(speedups)
		fmt.Printf("bulk load on %d workers over %d, by round: %.2fx\n", workers[len(workers)-1], workers[0], speedups)
	}
	fmt.Println("ratios: \"stepping vs X\" is X's time over stepping's; above 1x stepping is faster.")
	return nil
}

// parseWorkers reads a comma-separated list of worker counts.
func parseWorkers(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-workers %q: want worker counts of 1 or more, comma-separated", list)
		}
		out = append(out, n)
	}
	return out, nil
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

// median returns the median of ds.
func median(ds []time.Duration) time.Duration { return shopbench.Percentile(ds, 0.5) }

// writeHeapProfile writes the live heap, as of a garbage collection now,
// to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	goruntime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
