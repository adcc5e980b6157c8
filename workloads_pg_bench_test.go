package stepping_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// BenchmarkWorkloadsPostgres runs the reference workloads of
// BenchmarkWorkloads, on the same generated data, on Postgres: each in a
// schema of its own with the tables the example declares, written with
// ordinary SQL (postgres.WriteChanges, one transaction per step) and
// applied from the change log by a postgres.Runner. "load" writes 10,000
// rows in steps of 1,000 and reports rows/s; "change" then writes one
// change per step; both time the write and ApplyPending. It needs a
// server (see internal/pgtest) and is skipped without one.
func BenchmarkWorkloadsPostgres(b *testing.B) {
	for _, name := range []string{"comments", "dashboard", "feed", "ledger", "meters", "scooters", "shop"} {
		file := filepath.Join("examples", name+".step")
		mem := compileExample(b, file)
		const rows = 10_000
		b.Run(name+"/load", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				w := newWorkload(mem.Circuit, 1)
				db := newPGWorkload(b, file, w)
				b.StartTimer()
				w.batches(rows, func(batch map[string][]runtime.Change) { db.step(b, batch) })
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(name+"/change", func(b *testing.B) {
			w := newWorkload(mem.Circuit, 2)
			db := newPGWorkload(b, file, w)
			w.batches(rows, func(batch map[string][]runtime.Change) { db.step(b, batch) })
			for b.Loop() {
				db.step(b, w.change())
			}
		})
	}
}

// pgWorkload is a workload's program installed in a schema of its own.
type pgWorkload struct {
	w    *workload
	pool *pgxpool.Pool
	pg   *postgres.Runner
}

// newPGWorkload creates the tables file declares in a new schema,
// compiles file against them and installs it; a program that reads the
// clock reads w's.
func newPGWorkload(b *testing.B, file string, w *workload) *pgWorkload {
	b.Helper()
	ctx := context.Background()
	pool, schema := pgtest.Schema(b)
	for _, in := range w.inputs {
		if _, err := pool.Exec(ctx, postgres.CreateTableSQL([]string{in.Name}, in.Columns, in.PrimaryKey)); err != nil {
			b.Fatal(err)
		}
	}
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	prog, err := compile.Compile(ctx, file, string(src), pool)
	if err != nil {
		b.Fatalf("compile against the database: %v", err)
	}
	pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema, OmitChanges: true}
	if w.clocks {
		pg.Clock = func() time.Time { return w.clock }
	}
	b.Cleanup(func() {
		if err := pg.Drop(context.Background(), false); err != nil {
			b.Errorf("drop: %v", err)
		}
	})
	if err := pg.Setup(ctx, false); err != nil {
		b.Fatal(err)
	}
	return &pgWorkload{w: w, pool: pool, pg: pg}
}

// step writes changes in one transaction and applies them; a program
// that reads the clock sees it a minute on, as in memory.
func (db *pgWorkload) step(b *testing.B, changes map[string][]runtime.Change) {
	ctx := context.Background()
	if db.w.clocks {
		db.w.clock = db.w.clock.Add(time.Minute)
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, in := range db.w.inputs {
			if err := postgres.WriteChanges(ctx, tx, []string{in.Name}, in, changes[in.Name]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		_, err = db.pg.ApplyPending(ctx, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
}
