package nexmark_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/nexmark"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// run feeds events to a query's engine in steps of step events, the
// side input filled in the first, and returns the engine and the
// tables' final contents.
func run(tb testing.TB, q nexmark.Query, events []nexmark.Event, step int) (*runtime.Engine, *compile.Program, map[string]*zset.ZSet) {
	tb.Helper()
	prog, err := compile.Compile(context.Background(), q.Name+".step", q.Program, nil)
	if err != nil {
		tb.Fatalf("%s: %v", q.Name, err)
	}
	eng := runtime.New(prog.Circuit, runtime.NewMemoryStore())
	tables := map[string]*zset.ZSet{}
	for _, in := range prog.Circuit.Inputs {
		tables[in.Name] = zset.New()
	}
	ctx := context.Background()
	for from := 0; from < len(events); from += step {
		changes := map[string][]runtime.Change{}
		if from == 0 && tables["side_input"] != nil {
			for k := range 100 {
				row := zset.Row{int64(k), "side " + strconv.Itoa(k)}
				changes["side_input"] = append(changes["side_input"], runtime.Change{Op: runtime.Insert, Row: row})
				tables["side_input"].Add(row, 1)
			}
		}
		for _, e := range events[from:min(from+step, len(events))] {
			changes[e.Table] = append(changes[e.Table], runtime.Change{Op: runtime.Insert, Row: e.Row})
			tables[e.Table].Add(e.Row, 1)
		}
		at := nexmark.Base.Add(time.Duration(from) * time.Second)
		if _, err := eng.StepAt(ctx, at, changes); err != nil {
			tb.Fatalf("%s: step at event %d: %v", q.Name, from, err)
		}
	}
	return eng, prog, tables
}

// TestQueries runs every query over generated events and checks each of
// its views against the reference evaluator computing it from scratch.
// q12 reads processing time, which no recomputation knows: it is only
// run.
func TestQueries(t *testing.T) {
	events := nexmark.Generate(5_000, 1)
	qs := nexmark.Queries()
	if len(qs) != 23 {
		t.Errorf("%d queries, want q0 to q22", len(qs))
	}
	for _, q := range qs {
		t.Run(q.Name, func(t *testing.T) {
			t.Parallel()
			eng, prog, tables := run(t, q, events, 700)
			if q.Stamped {
				return
			}
			want, err := oracle.Eval(prog.Checked, tables)
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for _, v := range prog.Circuit.Views {
				got, _ := eng.Contents(v.Name)
				if !got.Equal(want[v.Name]) {
					t.Errorf("view %s differs from recomputation: %d rows, want %d", v.Name, got.Len(), want[v.Name].Len())
				}
				if v.Name == q.Name {
					rows = got.Len()
				}
			}
			if rows == 0 {
				t.Errorf("%s is empty: the generated events exercise nothing", q.Name)
			}
		})
	}
}

// TestGeneratorBatches checks that events made a batch at a time are
// those of Generate, whatever the batches.
func TestGeneratorBatches(t *testing.T) {
	want := nexmark.Generate(1_000, 7)
	for _, sizes := range [][]int{{1_000}, {1, 999}, {49, 50, 51, 850}, {300, 300, 300, 100}} {
		g := nexmark.NewGenerator(7)
		var got []nexmark.Event
		for _, n := range sizes {
			got = append(got, g.Next(n)...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("batches %v: events differ from Generate's", sizes)
		}
	}
}

// BenchmarkNexmark reports events per second for each query in memory,
// loading NEXMARK_EVENTS events (100,000 by default) in steps of 1,000.
func BenchmarkNexmark(b *testing.B) {
	n := 100_000
	if s := os.Getenv("NEXMARK_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	events := nexmark.Generate(n, 1)
	for _, q := range nexmark.Queries() {
		b.Run(q.Name, func(b *testing.B) {
			for b.Loop() {
				run(b, q, events, 1_000)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	fmt.Fprintln(os.Stderr)
}
