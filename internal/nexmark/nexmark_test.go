package nexmark_test

import (
	"context"
	"fmt"
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

// memQuery is a query's program on the memory engine, fed a batch of
// events per step.
type memQuery struct {
	q    nexmark.Query
	prog *compile.Program
	eng  *runtime.Engine
	// tables, when not nil, receives every row written, for the
	// reference evaluator to recompute the views from.
	tables map[string]*zset.ZSet
	fed    int // events written so far
}

// newMemQuery compiles q for the memory engine; keep says whether step
// keeps the tables' contents in tables.
func newMemQuery(tb testing.TB, q nexmark.Query, keep bool) *memQuery {
	tb.Helper()
	prog, err := compile.Compile(context.Background(), q.Name+".step", q.Program, nil)
	if err != nil {
		tb.Fatalf("%s: %v", q.Name, err)
	}
	m := &memQuery{q: q, prog: prog, eng: runtime.New(prog.Circuit, runtime.NewMemoryStore())}
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
