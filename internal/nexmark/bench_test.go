package nexmark_test

import (
	"context"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/stepping-io/stepping/internal/nexmark"
)

// benchStep is the events per step of the benchmarks, in memory and on
// Postgres alike.
const benchStep = 1_000

// published is what Flink and Feldera published for a query: events per
// second per core, 0 where none was published. README.md cites where
// each figure comes from and says what is and is not comparable.
type published struct {
	flink   float64 // nexmark/nexmark README, Flink 1.13: "Throughput/Cores"
	feldera float64 // feldera/feldera benchmark/README.md, 16 cores: events/s ÷ 16
}

// publishedFigures returns the published per-core figures by query.
func publishedFigures() map[string]published {
	return map[string]published{
		"q0":  {155_020, 6_973_987 / 16.0},
		"q1":  {157_940, 6_595_871 / 16.0},
		"q2":  {175_210, 6_748_549 / 16.0},
		"q3":  {152_120, 6_608_075 / 16.0},
		"q4":  {34_330, 4_233_521 / 16.0},
		"q5":  {22_140, 6_589_786 / 16.0},
		"q6":  {0, 3_997_921 / 16.0}, // Flink has no q6 (FLINK-19059)
		"q7":  {12_330, 3_136_763 / 16.0},
		"q8":  {146_140, 6_641_870 / 16.0},
		"q9":  {14_240, 910_680 / 16.0},
		"q10": {57_810, 0}, // Feldera's table has no q10
		"q11": {39_700, 0}, // nor q11 (no session windows then)
		"q12": {75_670, 6_682_259 / 16.0},
		"q13": {130_730, 3_675_255 / 16.0},
		"q14": {161_230, 6_858_711 / 16.0},
		"q15": {72_420, 3_539_322 / 16.0},
		"q16": {18_650, 810_701 / 16.0},
		"q17": {116_800, 3_870_269 / 16.0},
		"q18": {53_700, 1_358_216 / 16.0},
		"q19": {44_040, 1_201_216 / 16.0},
		"q20": {18_980, 1_352_192 / 16.0},
		"q21": {98_490, 6_634_820 / 16.0},
		"q22": {129_960, 6_305_568 / 16.0},
	}
}

// envInt reads a positive count from the environment, def when unset.
func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number of events", name, s)
	}
	return n
}

// BenchmarkNexmark runs every query over the same NEXMARK_EVENTS
// generated events (20,000 by default, for make bench; 1000000 and
// 10000000 for the figures of README.md) in the same steps of 1,000
// events, in memory and on stepping's Postgres runtime, and prints a
// table of events/s per query beside the per-core figures Flink and
// Feldera published. NEXMARK_BACKENDS (default "memory,postgres")
// chooses the backends; the Postgres runs need a server (see
// internal/pgtest) and are skipped without one.
//
// In memory, the timed loop is the engine's steps alone: the events are
// generated before it and the program compiled in it (a few ms). On
// Postgres it is writing each step's events to the source tables with
// COPY in one transaction and the runner applying them from the change
// log in one step of its own; installing the program into a fresh
// schema is outside it.
func BenchmarkNexmark(b *testing.B) {
	n := envInt(b, "NEXMARK_EVENTS", 20_000)
	backends := strings.Split(os.Getenv("NEXMARK_BACKENDS"), ",")
	if backends[0] == "" {
		backends = []string{"memory", "postgres"}
	}
	events := nexmark.Generate(n, 1)
	ctx := context.Background()
	rates := map[string]map[string]float64{} // backend, then query
	for _, backend := range backends {
		rates[backend] = map[string]float64{}
		for _, q := range nexmark.Queries() {
			b.Run(backend+"/"+q.Name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					var step func(context.Context, []nexmark.Event) error
					switch backend {
					case "memory":
						step = newMemQuery(b, q, false).step
					case "postgres":
						step = newPGQuery(b, q).step
					default:
						b.Fatalf("NEXMARK_BACKENDS names %q: want memory or postgres", backend)
					}
					b.StartTimer()
					for from := 0; from < n; from += benchStep {
						if err := step(ctx, events[from:min(from+benchStep, n)]); err != nil {
							b.Fatal(err)
						}
					}
				}
				rate := float64(n*b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rate, "events/s")
				rates[backend][q.Name] = rate
			})
		}
	}
	printTable(os.Stdout, n, backends, rates)
}

// printTable writes the events/s measured beside the published per-core
// figures, one query a line.
func printTable(w io.Writer, n int, backends []string, rates map[string]map[string]float64) {
	fmt.Fprintf(w, "\nNexmark, %d events in steps of %d, events/s (stepping: one engine goroutine; Flink and Feldera: published, per core)\n", n, benchStep)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "query\t"
	for _, backend := range backends {
		header += backend + "\t"
	}
	fmt.Fprintln(tw, header+"Flink/core\tFeldera/core\t")
	figures := publishedFigures()
	for _, q := range nexmark.Queries() {
		line := q.Name + "\t"
		for _, backend := range backends {
			line += rate(rates[backend][q.Name]) + "\t"
		}
		fmt.Fprintln(tw, line+rate(figures[q.Name].flink)+"\t"+rate(figures[q.Name].feldera)+"\t")
	}
	tw.Flush()
	// The figures are only as good as the machine was quiet: say how
	// busy it was.
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, "load average at the end (1, 5, 15 min, %d CPUs): %s\n", goruntime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	}
}

// rate formats events/s in thousands, "-" for none.
func rate(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fk", r/1000)
}

// liveHeap returns the heap the last garbage collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkNexmarkHeap runs q0, q5 and q7 in memory over NEXMARK_EVENTS
// events (20,000 by default) made a step at a time, so that no stream
// is held but the engine's, and reports the most heap a garbage
// collection found live during the run, above what was live before it
// (peak-MiB), and what is live at its end (end-MiB, and B/event). The
// live heap is known only at each collection: the peak is that of the
// collections the run made, a lower bound. Events/s here includes
// generating the events. Each query runs as written (every row kept)
// and with watermarks (qN/watermark: Query.Watermarked, the engine a
// sink keeping no contents), whose heap must not grow with the stream.
func BenchmarkNexmarkHeap(b *testing.B) {
	n := envInt(b, "NEXMARK_EVENTS", 20_000)
	ctx := context.Background()
	var runs []nexmark.Query
	for _, q := range nexmark.Queries() {
		if slices.Contains([]string{"q0", "q5", "q7"}, q.Name) {
			runs = append(runs, q, q.Watermarked())
		}
	}
	for _, q := range runs {
		// With a watermark the engine keeps no contents either: the
		// changes of each step go out of it, as into Flink's blackhole
		// sink, and only the operators' live state stays.
		sink := strings.HasSuffix(q.Name, "/watermark")
		b.Run(q.Name, func(b *testing.B) {
			var peak, end uint64
			for b.Loop() {
				b.StopTimer()
				goruntime.GC()
				base := liveHeap()
				m := newMemQueryWith(b, q, false, sink)
				g := nexmark.NewGenerator(1)
				b.StartTimer()
				for from := 0; from < n; from += benchStep {
					if err := m.step(ctx, g.Next(min(benchStep, n-from))); err != nil {
						b.Fatal(err)
					}
					if live := liveHeap(); live > base {
						peak = max(peak, live-base)
					}
				}
				b.StopTimer()
				goruntime.GC()
				if live := liveHeap(); live > base {
					end = live - base
				}
				peak = max(peak, end)
				goruntime.KeepAlive(m)
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(end)/(1<<20), "end-MiB")
			b.ReportMetric(float64(end)/float64(n), "B/event")
		})
	}
}
