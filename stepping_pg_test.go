package stepping_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// TestExamplesOnPostgres runs every example that has data and an
// expected.txt on the Postgres store: its tables are created in a schema
// of the test's own, each step's changes are written with ordinary SQL,
// the runtime applies them from the change log, and at the end the output
// tables, read back, must print exactly as expected.txt says.
func TestExamplesOnPostgres(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("examples", "*.step"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, file := range files {
		dir := strings.TrimSuffix(file, ".step")
		want, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ran++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, schema := pgtest.Schema(t)
			mem := compileExample(t, file)
			for _, in := range mem.Circuit.Inputs {
				if _, err := pool.Exec(ctx, postgres.CreateTableSQL([]string{in.Name}, in.Columns, in.PrimaryKey)); err != nil {
					t.Fatal(err)
				}
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := compile.Compile(ctx, file, string(src), pool)
			if err != nil {
				t.Fatalf("compile against the database: %v", err)
			}
			pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema, BatchSize: 3}
			t.Cleanup(func() {
				if err := pg.Drop(context.Background(), false); err != nil {
					t.Errorf("drop: %v", err)
				}
			})
			batches, err := runtime.LoadChangeDir(dir, true, mem.Circuit.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			// A program that reads the clock runs at the data's times, as
			// stepq run does, rather than at the transactions' times.
			now := time.Now()
			clockAt := func(step int64) {
				if batches.Clock == nil {
					return
				}
				at, _, err := batches.ClockAt(step)
				if err != nil {
					t.Fatal(err)
				}
				now = at
			}
			pg.Clock = func() time.Time { return now }
			if len(batches.Steps) > 0 {
				clockAt(batches.Steps[0])
			}
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			for _, step := range batches.Steps {
				clockAt(step)
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					for _, in := range mem.Circuit.Inputs {
						if err := postgres.WriteChanges(ctx, tx, []string{in.Name}, in, batches.Changes[step][in.Name]); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			var b strings.Builder
			for i, v := range mem.OutputViews() {
				table := []string{pg.Schema, v.Name}
				for _, o := range prog.Circuit.Outputs {
					if o.View.Name == v.Name && o.Table != nil {
						table = o.Table
					}
				}
				rows, err := postgres.ReadTable(ctx, pool, table, v.Columns)
				if err != nil {
					t.Fatalf("reading output %s: %v", v.Name, err)
				}
				if i > 0 {
					b.WriteString("\n")
				}
				b.WriteString(v.Name + "\n")
				if err := tablefmt.Write(&b, v.Columns, rows, false); err != nil {
					t.Fatal(err)
				}
			}
			if got := b.String(); got != string(want) {
				t.Errorf("output tables differ from %s/expected.txt\n--- got\n%s\n--- want\n%s", dir, got, want)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no example with an expected.txt")
	}
}
