package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// examplePrograms lists the example programs.
func examplePrograms() ([]string, error) {
	files, err := filepath.Glob("../../examples/*.step")
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no example programs in ../../examples")
	}
	return files, err
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// specials are values of each kind worth writing whatever the data: equal
// values spelled differently, zeros, quotes.
var specials = map[types.Kind][]string{
	types.Numeric:     {"1.5", "1.50", "0", "0.0", "100", "-2.5"},
	types.Float4:      {"0", "-0", "1.5"},
	types.Float8:      {"0", "-0", "1.5"},
	types.Int2:        {"0", "1", "2", "7"},
	types.Int4:        {"0", "1", "2", "150", "275"},
	types.Int8:        {"0", "1", "2", "7"},
	types.Text:        {"a", "o'x", ""},
	types.Bool:        {"t", "f"},
	types.Date:        {"2024-03-05"},
	types.Timestamp:   {"2024-03-05 10:00:00", "2024-03-08 09:00:00"},
	types.Timestamptz: {"2024-03-05 10:00:00+00"},
}

// exampleTable is a source table of an example and, per column, the
// values its random SQL writes (as SQL literals).
type exampleTable struct {
	in     *ir.Input
	values [][]string
}

func (e *exampleTable) value(r *rand.Rand, c int) string {
	vals := e.values[c]
	return vals[r.IntN(len(vals))]
}

func (e *exampleTable) row(r *rand.Rand) string {
	vals := make([]string, len(e.in.Columns))
	for c := range vals {
		vals[c] = e.value(r, c)
	}
	return "(" + strings.Join(vals, ", ") + ")"
}

func (e *exampleTable) col(c int) string { return pgx.Identifier{e.in.Columns[c].Name}.Sanitize() }

// statement returns a random SQL statement changing the table.
func (e *exampleTable) statement(r *rand.Rand) string {
	name := pgx.Identifier{e.in.Postgres.Name}.Sanitize()
	c := r.IntN(len(e.in.Columns))
	var nonKeys []int
	for i := range e.in.Columns {
		if !slices.Contains(e.in.PrimaryKey, i) {
			nonKeys = append(nonKeys, i)
		}
	}
	switch r.IntN(9) {
	case 0, 1:
		if len(e.in.PrimaryKey) == 0 {
			// A bag: the same row twice.
			row := e.row(r)
			return "INSERT INTO " + name + " VALUES " + row + ", " + row
		}
		if len(nonKeys) == 0 {
			return "INSERT INTO " + name + " VALUES " + e.row(r) + " ON CONFLICT DO NOTHING"
		}
		var keys, sets []string
		for _, k := range e.in.PrimaryKey {
			keys = append(keys, e.col(k))
		}
		for _, i := range nonKeys {
			sets = append(sets, e.col(i)+" = excluded."+e.col(i))
		}
		return fmt.Sprintf("INSERT INTO %s VALUES %s ON CONFLICT (%s) DO UPDATE SET %s", name, e.row(r), strings.Join(keys, ", "), strings.Join(sets, ", "))
	case 2:
		return "INSERT INTO " + name + " VALUES " + e.row(r) + ", " + e.row(r) + ", " + e.row(r) + " ON CONFLICT DO NOTHING"
	case 3:
		// A key or a non-key of the rows matching one column.
		return fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", name, e.col(c), e.value(r, c), e.col(r.IntN(len(e.in.Columns))), e.value(r, c))
	case 4:
		// A bulk update of the whole table that changes nothing, or one
		// column to one value.
		if r.IntN(3) == 0 {
			return fmt.Sprintf("UPDATE %s SET %s = %s", name, e.col(c), e.value(r, c))
		}
		return fmt.Sprintf("UPDATE %s SET %s = %s", name, e.col(c), e.col(c))
	case 5, 6:
		return fmt.Sprintf("DELETE FROM %s WHERE %s = %s", name, e.col(c), e.value(r, c))
	case 7:
		return fmt.Sprintf("DELETE FROM %s WHERE ctid = (SELECT ctid FROM %s WHERE %s::text = %s LIMIT 1)", name, name, e.col(c), e.value(r, c))
	default:
		return fmt.Sprintf("UPDATE %s SET %s = %s WHERE ctid = (SELECT ctid FROM %s LIMIT 1)", name, e.col(c), e.value(r, c), name)
	}
}

// exampleTables reads back each source's values, so that random SQL
// writes values that join, and adds the specials.
func exampleTables(ctx context.Context, pool *pgxpool.Pool, inputs []*ir.Input) ([]*exampleTable, error) {
	var out []*exampleTable
	for _, in := range inputs {
		e := &exampleTable{in: in}
		for _, c := range in.Columns {
			rows, err := pool.Query(ctx, fmt.Sprintf("SELECT DISTINCT %s::text FROM %s WHERE %s IS NOT NULL LIMIT 12",
				pgx.Identifier{c.Name}.Sanitize(), pgx.Identifier{in.Postgres.Name}.Sanitize(), pgx.Identifier{c.Name}.Sanitize()))
			if err != nil {
				return nil, err
			}
			present, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return nil, err
			}
			var vals []string
			for _, v := range append(present, specials[c.Type.Kind]...) {
				vals = append(vals, quote(v))
			}
			if c.Type.Nullable || len(vals) == 0 {
				vals = append(vals, "NULL")
			}
			e.values = append(e.values, vals)
		}
		out = append(out, e)
	}
	return out, nil
}

// soakExample loads an example's data, then runs rounds of random SQL
// on its tables, comparing its outputs after each with the oracle's
// evaluation over the tables' contents.
func soakExample(t *testing.T, file string, r *rand.Rand, rounds int, n *tally) {
	ctx := context.Background()
	pool, schema := pgtest.Schema(t)
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := compile.Compile(context.Background(), file, string(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range mem.Circuit.Inputs {
		if _, err := pool.Exec(ctx, postgres.CreateTableSQL([]string{in.Name}, in.Columns, in.PrimaryKey)); err != nil {
			t.Fatal(err)
		}
	}
	// The example's data, every step's changes in turn, at the clock of
	// the last one.
	now := time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	dir := strings.TrimSuffix(file, ".step")
	batches, err := runtime.LoadChangeDir(dir, false, mem.Circuit.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range batches.Steps {
		if at, ok, err := batches.ClockAt(step); err == nil && ok {
			now = at
		}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for _, in := range mem.Circuit.Inputs {
				if err := postgres.WriteChanges(ctx, tx, []string{in.Name}, in, batches.Changes[step][in.Name]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("loading step %d: %v", step, err)
		}
	}
	rn := newRunner(t, pool, schema, file, string(src), n)
	rn.pg.Clock = func() time.Time { return now }
	prog, err := compile.Compile(ctx, file, string(src), pool)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := exampleTables(ctx, pool, prog.Circuit.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	stmt := func(r *rand.Rand) string { return tables[r.IntN(len(tables))].statement(r) }
	n.programs.Add(1)
	var h history
	for round := range rounds {
		if round > 0 {
			if prog.Circuit.Clock != nil && r.IntN(2) == 0 {
				now = now.Add(time.Duration(r.IntN(48)) * time.Hour)
				h.add("-- the clock moves to %s", now)
			}
			if err := writeTxns(ctx, pool, r, 1+r.IntN(4), stmt, &h, n); err != nil {
				t.Fatal(err)
			}
		}
		batch := batchSizes[r.IntN(len(batchSizes))]
		h.add("-- round %d: applied with batch size %d", round, batch)
		if err := rn.apply(ctx, batch, r.IntN(4) == 0); err != nil {
			t.Fatalf("round %d, batch size %d: applying: %v\nSQL after the example's data:\n%s", round, batch, err, h.String())
		}
		n.rounds.Add(1)
		if err := checkExample(ctx, pool, prog, rn.pg.Schema, now); err != nil {
			t.Fatalf("round %d, batch size %d: %v\nSQL after the example's data:\n%s", round, batch, err, h.String())
		}
	}
}

// checkExample compares every output table with the oracle's evaluation
// of the program over the tables' current contents, written to a scratch
// table of the output's own type so that both print alike.
func checkExample(ctx context.Context, pool *pgxpool.Pool, prog *compile.Program, progSchema string, now time.Time) error {
	contents := map[string]*zset.ZSet{}
	for _, in := range prog.Circuit.Inputs {
		z, err := postgres.ReadTable(ctx, pool, []string{in.Postgres.Name}, in.Columns)
		if err != nil {
			return err
		}
		contents[in.Name] = z
	}
	views, err := oracle.EvalAt(prog.Checked, contents, now)
	if err != nil {
		return err
	}
	for _, o := range prog.Circuit.Outputs {
		table := pgx.Identifier{progSchema, o.View.Name}.Sanitize()
		if o.Table != nil {
			table = pgx.Identifier(o.Table).Sanitize()
		}
		want := views[o.View.Name]
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS soak_want; CREATE TABLE soak_want (LIKE "+table+")"); err != nil {
				return err
			}
			var changes []runtime.Change
			var bad error
			want.Each(func(row zset.Row, w int64) {
				if w < 0 {
					bad = fmt.Errorf("the oracle gives %s a row of weight %d", o.View.Name, w)
				}
				for range w {
					changes = append(changes, runtime.Change{Op: runtime.Insert, Row: row})
				}
			})
			if bad != nil {
				return bad
			}
			in := &ir.Input{Name: "soak_want", Columns: o.View.Columns}
			return postgres.WriteChanges(ctx, tx, []string{"soak_want"}, in, changes)
		})
		if err != nil {
			return fmt.Errorf("writing the oracle's %s: %w", o.View.Name, err)
		}
		d, err := textDiff(ctx, pool, table, "TABLE soak_want")
		if err != nil {
			return fmt.Errorf("comparing %s: %w", table, err)
		}
		if len(d) > 0 {
			return fmt.Errorf("output %s (view %s) differs from the oracle's evaluation over the tables, by representation:\n  %s",
				table, o.View.Name, strings.Join(d, "\n  "))
		}
	}
	return nil
}
