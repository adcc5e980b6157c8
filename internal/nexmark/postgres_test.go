package nexmark_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/nexmark"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
	"github.com/stepping-io/stepping/zset"
)

// pgQuery is a query installed on stepping's Postgres runtime in a
// schema of its own, its tables created empty and fed a batch of events
// per step, as memQuery is on the memory engine.
type pgQuery struct {
	q      nexmark.Query
	pool   *pgxpool.Pool
	runner *postgres.Runner
	view   *ir.View // the query's view of its own name
	// fed counts the events written so far; the clock, which only q12
	// reads (through stamp), follows it as memQuery's does.
	fed int
}

// newPGQuery creates the query's tables (those Tables declares, and
// q13's side_input) in a fresh schema, compiles the query against them
// with its view of its own name output to a table, and installs it.
// The runner and the schema are dropped when the test ends.
func newPGQuery(tb testing.TB, q nexmark.Query) *pgQuery {
	tb.Helper()
	ctx := context.Background()
	pool, schema := pgtest.Schema(tb)
	decl, err := compile.Compile(ctx, q.Name+".step", q.Program, nil)
	if err != nil {
		tb.Fatalf("%s: %v", q.Name, err)
	}
	for _, in := range decl.Circuit.Inputs {
		if _, err := pool.Exec(ctx, postgres.CreateTableSQL([]string{in.Name}, in.Columns, in.PrimaryKey)); err != nil {
			tb.Fatalf("%s: creating %s: %v", q.Name, in.Name, err)
		}
	}
	prog, err := compile.Compile(ctx, q.Name+".step", q.Program+"\noutput "+q.Name+" to table "+q.Name+"\n", pool)
	if err != nil {
		tb.Fatalf("%s: compiling against Postgres: %v", q.Name, err)
	}
	p := &pgQuery{q: q, pool: pool}
	for _, v := range prog.Circuit.Views {
		if v.Name == q.Name {
			p.view = v
		}
	}
	p.runner = &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema, OmitChanges: true,
		Clock: func() time.Time { return nexmark.Base.Add(time.Duration(p.fed) * time.Second) }}
	tb.Cleanup(func() {
		if err := p.runner.Drop(context.Background(), false); err != nil {
			tb.Errorf("%s: dropping the program: %v", q.Name, err)
		}
	})
	if err := p.runner.Setup(ctx, false); err != nil {
		tb.Fatalf("%s: installing: %v", q.Name, err)
	}
	return p
}

// step writes events to the tables with COPY in one transaction (the
// first step writes q13's side input too, as memQuery does) and
// applies them in one step of the runtime.
func (p *pgQuery) step(ctx context.Context, events []nexmark.Event) error {
	rows := map[string][][]any{}
	if p.fed == 0 && hasInput(p.runner.Circuit, "side_input") {
		for k := range 100 {
			rows["side_input"] = append(rows["side_input"], []any{int64(k), "side " + strconv.Itoa(k)})
		}
	}
	for _, e := range events {
		rows[e.Table] = append(rows[e.Table], e.Row)
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for _, in := range p.runner.Circuit.Inputs {
			if len(rows[in.Name]) == 0 {
				continue
			}
			cols := make([]string, len(in.Columns))
			for i, c := range in.Columns {
				cols[i] = c.Name
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{in.Name}, cols, pgx.CopyFromRows(rows[in.Name])); err != nil {
				return fmt.Errorf("copying into %s: %w", in.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := p.runner.ApplyPending(ctx, nil); err != nil {
		return fmt.Errorf("step after event %d: %w", p.fed, err)
	}
	p.fed += len(events)
	return nil
}

func hasInput(c *ir.Circuit, name string) bool {
	for _, in := range c.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// sql returns the rows the query's SQL computes from the tables as they
// are, read as the view's columns with their exact values (as the
// change log reads rows), through a Postgres view of the SQL.
func (p *pgQuery) sql(ctx context.Context) (*zset.ZSet, error) {
	name := "sql_" + p.q.Name
	if _, err := p.pool.Exec(ctx, "CREATE OR REPLACE VIEW "+pgx.Identifier{name}.Sanitize()+" AS "+p.q.SQL); err != nil {
		return nil, fmt.Errorf("creating the view of %s's SQL: %w", p.q.Name, err)
	}
	return postgres.ReadTable(ctx, p.pool, []string{name}, p.view.Columns)
}

// differences describes how got differs from want: its count of rows
// and a few rows it has too many (extra) or too few (missing) of.
func differences(got, want *zset.ZSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows, want %d", got.Len(), want.Len())
	es := got.Minus(want).Entries()
	for i, e := range es {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... %d rows more", len(es)-i)
			break
		}
		what := "extra"
		if e.Weight < 0 {
			what = "missing"
		}
		fmt.Fprintf(&b, "\n  %s %v x%d", what, e.Row, abs(e.Weight))
	}
	return b.String()
}

func abs(w int64) int64 {
	if w < 0 {
		return -w
	}
	return w
}

// retracted says whether the last step of TestQueriesPostgres deletes
// an event; retractSQL deletes the same rows on Postgres. Deleting some
// of every table empties windows and unseats the top rows of q9, q18
// and q19, and twelve seconds of the even bidders' bids splits their
// sessions of q11, none of which inserts alone do.
func retracted(e nexmark.Event) bool {
	switch e.Table {
	case "person":
		return e.Row[0].(int64)%11 == 0
	case "auction":
		return e.Row[0].(int64)%7 == 0
	default:
		at := e.Row[5].(time.Time).Sub(nexmark.Base)
		return e.Row[2].(int64)%10 < 3 || e.Row[1].(int64)%2 == 0 && at >= 5*time.Second && at < 17*time.Second
	}
}

const retractSQL = `DELETE FROM person WHERE id % 11 = 0; DELETE FROM auction WHERE id % 7 = 0; DELETE FROM bid WHERE price % 10 < 3
  OR bidder % 2 = 0 AND date_time >= '2024-03-01 12:00:05' AND date_time < '2024-03-01 12:00:17'`

// TestQueriesPostgres checks each query over 2,500 events (fewer than
// TestQueries: a step on Postgres costs more, and q11's sessions cost a
// step in proportion to their length), and then after a step that
// deletes a part of each table: the memory engine's view against Postgres computing the
// query's SQL over the same events, and the output table of stepping's
// Postgres runtime, fed the events through the source tables a step at
// a time, against the same SQL. q12 reads processing time, which no SQL
// over the tables can recompute: its output on Postgres is compared
// with the memory engine's, their clocks standing at the same times.
// It needs a server (see internal/pgtest).
func TestQueriesPostgres(t *testing.T) {
	events := nexmark.Generate(2_500, 1)
	var deletes map[string][]runtime.Change
	for _, e := range events {
		if retracted(e) {
			if deletes == nil {
				deletes = map[string][]runtime.Change{}
			}
			deletes[e.Table] = append(deletes[e.Table], runtime.Change{Op: runtime.Delete, Row: e.Row})
		}
	}
	const step = 500
	for _, q := range nexmark.Queries() {
		t.Run(q.Name, func(t *testing.T) {
			t.Parallel()
			if q.SQL == "" && !q.Stamped {
				t.Fatalf("%s has no SQL (sql/%s.sql)", q.Name, q.Name)
			}
			ctx := context.Background()
			pg := newPGQuery(t, q)
			for from := 0; from < len(events); from += step {
				if err := pg.step(ctx, events[from:min(from+step, len(events))]); err != nil {
					t.Fatalf("%s: %v", q.Name, err)
				}
			}
			eng, _, _ := run(t, q, events, step)
			check := func(when string) {
				t.Helper()
				out, err := pg.runner.ReadOutput(ctx, q.Name, nil)
				if err != nil {
					t.Fatal(err)
				}
				mem, _ := eng.Contents(q.Name)
				if q.Stamped {
					// Both clocks stand at the same times, so the
					// stamps agree, though no SQL can recompute them.
					if out.Len() == 0 {
						t.Errorf("%s: %s is empty on Postgres", when, q.Name)
					}
					if !out.Equal(mem) {
						t.Errorf("%s: on the Postgres runtime, %s differs from the memory engine: %s", when, q.Name, differences(out, mem))
					}
					return
				}
				want, err := pg.sql(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s has %d rows", when, q.Name, want.Len())
				if want.Len() == 0 {
					t.Errorf("%s: %s's SQL gives no rows: the generated events exercise nothing", when, q.Name)
				}
				if !mem.Equal(want) {
					t.Errorf("%s: in memory, %s differs from its SQL on Postgres: %s", when, q.Name, differences(mem, want))
				}
				if !out.Equal(want) {
					t.Errorf("%s: on the Postgres runtime, %s differs from its SQL: %s", when, q.Name, differences(out, want))
				}
			}
			check("inserted")

			if _, err := eng.StepAt(ctx, nexmark.Base.Add(time.Duration(len(events))*time.Second), deletes); err != nil {
				t.Fatalf("%s: deleting in memory: %v", q.Name, err)
			}
			if _, err := pg.pool.Exec(ctx, retractSQL); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.runner.ApplyPending(ctx, nil); err != nil {
				t.Fatalf("%s: applying the deletions: %v", q.Name, err)
			}
			check("deleted")
		})
	}
}
