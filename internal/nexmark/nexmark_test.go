package nexmark_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/nexmark"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// memQuery is a query's program on the memory engine, fed a batch of
// events per step.
type memQuery struct {
	q    nexmark.Query
	prog *compile.Program
	eng  *runtime.Engine
	// sink says the engine keeps no tables' or views' contents: their
	// changes go out of each step, as into Flink's blackhole sink.
	sink bool
	// tables, when not nil, receives every row written, for the
	// reference evaluator to recompute the views from.
	tables map[string]*zset.ZSet
	fed    int // events written so far
}

// newMemQuery compiles q for the memory engine; keep says whether step
// keeps the tables' contents in tables.
func newMemQuery(tb testing.TB, q nexmark.Query, keep bool) *memQuery {
	return newMemQueryWith(tb, q, keep, false)
}

// newMemQueryWith is newMemQuery, and with sink an engine that keeps no
// contents (memQuery.sink).
func newMemQueryWith(tb testing.TB, q nexmark.Query, keep, sink bool) *memQuery {
	tb.Helper()
	prog, err := compile.Compile(context.Background(), q.Name+".step", q.Program, nil)
	if err != nil {
		tb.Fatalf("%s: %v", q.Name, err)
	}
	eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), runtime.Options{NoContents: sink})
	m := &memQuery{q: q, prog: prog, eng: eng, sink: sink}
	if keep {
		m.tables = map[string]*zset.ZSet{}
		for _, in := range prog.Circuit.Inputs {
			m.tables[in.Name] = zset.New()
		}
	}
	return m
}

// step inserts events in one step, the first step q13's side input too,
// its clock a second on per event before it (only q12 reads it).
func (m *memQuery) step(ctx context.Context, events []nexmark.Event) error {
	changes := map[string][]runtime.Change{}
	add := func(table string, row zset.Row) {
		changes[table] = append(changes[table], runtime.Change{Op: runtime.Insert, Row: row})
		if m.tables != nil {
			m.tables[table].Add(row, 1)
		}
	}
	if m.fed == 0 && hasInput(m.prog.Circuit, "side_input") {
		for k := range 100 {
			add("side_input", zset.Row{int64(k), "side " + strconv.Itoa(k)})
		}
	}
	for _, e := range events {
		add(e.Table, e.Row)
	}
	at := nexmark.Base.Add(time.Duration(m.fed) * time.Second)
	if m.sink {
		deltas := map[string]*zset.ZSet{}
		for table, cs := range changes {
			z := zset.NewSized(len(cs))
			for _, c := range cs {
				z.Add(c.Row, 1)
			}
			deltas[table] = z
		}
		if _, err := m.eng.StepDeltaAt(ctx, at, deltas); err != nil {
			return fmt.Errorf("%s: step at event %d: %w", m.q.Name, m.fed, err)
		}
		m.fed += len(events)
		return nil
	}
	if _, err := m.eng.StepAt(ctx, at, changes); err != nil {
		return fmt.Errorf("%s: step at event %d: %w", m.q.Name, m.fed, err)
	}
	m.fed += len(events)
	return nil
}

// run feeds events to a query's engine in steps of step events, the
// side input filled in the first, and returns the engine and the
// tables' final contents.
func run(tb testing.TB, q nexmark.Query, events []nexmark.Event, step int) (*runtime.Engine, *compile.Program, map[string]*zset.ZSet) {
	tb.Helper()
	m := newMemQuery(tb, q, true)
	for from := 0; from < len(events); from += step {
		if err := m.step(context.Background(), events[from:min(from+step, len(events))]); err != nil {
			tb.Fatal(err)
		}
	}
	return m.eng, m.prog, m.tables
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
	for _, q := range slices.Clone(qs) {
		// With watermarks, over events in time order: the same results.
		qs = append(qs, q.Watermarked())
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
				if v.Name == strings.TrimSuffix(q.Name, "/watermark") {
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

// TestWatermarkBoundsState runs q0, q5, q7 and q11 with watermarks and
// no contents kept (a sink), and checks that the state the engine keeps
// after 60,000 events is no more than about what it kept after 20,000:
// the windows the watermark has passed are forgotten.
func TestWatermarkBoundsState(t *testing.T) {
	ctx := context.Background()
	for _, q := range nexmark.Queries() {
		if !slices.Contains([]string{"q0", "q5", "q7", "q11"}, q.Name) {
			continue
		}
		t.Run(q.Name, func(t *testing.T) {
			t.Parallel()
			store := runtime.NewMemoryStore()
			m := newMemQueryWith(t, q.Watermarked(), false, true)
			m.eng = runtime.NewWithOptions(m.prog.Circuit, store, runtime.Options{NoContents: true})
			g := nexmark.NewGenerator(1)
			var at20k int
			for from := 0; from < 60_000; from += 1_000 {
				if err := m.step(ctx, g.Next(1_000)); err != nil {
					t.Fatal(err)
				}
				if from+1_000 == 20_000 {
					at20k = store.Entries()
				}
			}
			at60k := store.Entries()
			t.Logf("%s: %d state entries after 20,000 events, %d after 60,000", q.Name, at20k, at60k)
			// A sweep waits for as many changes as its state kept (at
			// least 1,024): a state may reach twice what is live.
			if at60k > 2*at20k+4*1024 {
				t.Errorf("%s: the state grew with the stream: %d entries after 20,000 events, %d after 60,000", q.Name, at20k, at60k)
			}
		})
	}
}
