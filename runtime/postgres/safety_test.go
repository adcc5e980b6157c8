package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// rowTexts returns a query's rows as their text forms, sorted: what a
// comparison by representation (not by =) needs.
func rowTexts(t *testing.T, pool *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT q::text FROM ("+query+") q")
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	slices.Sort(out)
	return out
}

// sameTexts fails the test when the output table and the query differ by
// representation.
func sameTexts(t *testing.T, pool *pgxpool.Pool, table, query string) {
	t.Helper()
	got, want := rowTexts(t, pool, "TABLE "+table), rowTexts(t, pool, query)
	if !slices.Equal(got, want) {
		t.Fatalf("output %s holds\n  %s\nwant\n  %s", table, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPostgresTransactionsAreNeverSplit(t *testing.T) {
	for _, batch := range []int{1, 2, 3, 10_000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL);
INSERT INTO t SELECT i, 1 FROM generate_series(1, 5) i`)
			pg := newPG(t, pool, schema, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v primary key (id)\n")
			pg.BatchSize = batch
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			mustExec(t, pool, "UPDATE t SET x = 2")
			// Keys swap places within one transaction: the new row of a
			// key comes before the old one's retraction in the log.
			mustExec(t, pool, "BEGIN; UPDATE t SET id = -id WHERE id <= 2; UPDATE t SET id = 3 + id WHERE id < 0; COMMIT")
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
		})
	}
}

// A row trigger that writes the table it fires on puts the nested
// statement's changes in the log before the outer statement's.
func TestPostgresNestedTriggerWrites(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.x = 1 THEN UPDATE t SET x = x + 10 WHERE id = NEW.id; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bump AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION bump();
INSERT INTO t SELECT 100 + i, 0 FROM generate_series(1, 4) i`)
	pg := newPG(t, pool, schema, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v\n")
	pg.BatchSize = 1
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "INSERT INTO t SELECT i, 1 FROM generate_series(1, 4) i")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
}

// Retractions remove the row retracted, by representation: 1.5 and 1.50
// are different rows, as are 0 and 0.0, and float -0 and 0.
func TestPostgresRetractionByRepresentation(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE a (id int PRIMARY KEY, v numeric NOT NULL, f float8, i interval);
INSERT INTO a VALUES (1, 0, 0, '1 day'), (2, 0.0, '-0', '24 hours'), (3, 1.5, 1, '1 day'), (4, 1.50, 2, '1 day')`)
	pg := newPG(t, pool, schema, "source a = table a\nview s = a | where v >= 0 | select { v, f, i }\noutput s to table s\n"+
		"view g = a | group by v { n = count() }\noutput g to table g\n")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "DELETE FROM a WHERE id IN (1, 4)")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "s", "SELECT v, f, i FROM a")
	mustExec(t, pool, "UPDATE a SET f = 0, i = '1 day' WHERE id = 2")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "s", "SELECT v, f, i FROM a")
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// A role with nothing but DML rights on a source writes it as before the
// program was installed, and its changes are captured.
func TestPostgresWriterWithLeastPrivilege(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL); INSERT INTO t VALUES (1, 1)")
	pg := newPG(t, pool, schema, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v primary key (id)\n")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	role, app := pgtest.Role(t, schema)
	mustExec(t, pool, "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON t TO "+pgx.Identifier{role}.Sanitize())
	for _, sql := range []string{
		"INSERT INTO t VALUES (2, 2), (3, 3)",
		"UPDATE t SET x = x + 10 WHERE id < 3",
		"DELETE FROM t WHERE id = 3",
		// A temporary table of the writer's named like the log must not
		// catch the captured rows.
		"BEGIN; CREATE TEMP TABLE _log (source text, weight int, row json); INSERT INTO t VALUES (4, 4); COMMIT",
	} {
		mustExec(t, app, sql)
	}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
	mustExec(t, app, "TRUNCATE t")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
}

// An installer without the rights it needs is told which, before
// anything is created.
func TestPostgresInstallerRightsNamed(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL)")
	role, installer := pgtest.Role(t, schema)
	mustExec(t, pool, "GRANT SELECT ON t TO "+pgx.Identifier{role}.Sanitize())
	prog := compileProgram(t, pool, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v\n")
	pg := &postgres.Runner{Pool: installer, Circuit: prog.Circuit, Schema: "prog_" + schema}
	err := pg.Run(ctx, false, true, time.Second, nil)
	if err == nil {
		t.Fatal("installed without the rights it needs")
	}
	for _, want := range []string{
		"may not create schemas in database", "GRANT CREATE ON DATABASE",
		"lacks TRIGGER, UPDATE on source table", "may not create tables in schema " + schema,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", pg.Schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed install left its schema behind (%d, %v)", n, err)
	}
	// Given the rights it named, the same role installs the program.
	mustExec(t, pool, fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s; GRANT TRIGGER, UPDATE ON t TO %[2]s; GRANT CREATE ON SCHEMA %s TO %[2]s",
		pgx.Identifier{pg.Schema}.Sanitize(), pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()))
	mustExec(t, pool, "INSERT INTO t VALUES (1, 1)")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
	if err := pg.Drop(ctx, true); err == nil || !strings.Contains(err.Error(), "needs its owner's rights") {
		t.Fatalf("dropping the triggers of a table the role does not own: %v", err)
	}
	owner := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: pg.Schema}
	if err := owner.Drop(ctx, true); err != nil {
		t.Fatal(err)
	}
}

// stepping writes, alters and drops only tables it created and recorded.
func TestPostgresOutputsNeverAdoptTables(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL); INSERT INTO t VALUES (1, 1); CREATE TABLE out_v (id int8, x int4); INSERT INTO out_v VALUES (99, 99)")
	src := "source t = table t\nview v = t | select { id, x }\noutput v to table out_v\n"
	pg := newPG(t, pool, schema, src)
	err := pg.Run(ctx, false, true, time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), `table "out_v" already exists and was not created by this program`) {
		t.Fatalf("an existing table was adopted as an output: %v", err)
	}
	sameTexts(t, pool, "out_v", "VALUES (99::int8, 99)")

	// Once its own table is made, dropped and replaced by the user's,
	// dropping the program's outputs leaves the user's table alone.
	mustExec(t, pool, "DROP TABLE out_v")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "DROP TABLE out_v; CREATE TABLE out_v (id int8, x int4); INSERT INTO out_v VALUES (99, 99)")
	if err := pg.Drop(ctx, true); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "VALUES (99::int8, 99)")

	// Nor does a program take a schema that holds someone else's tables.
	mustExec(t, pool, "CREATE SCHEMA "+pgx.Identifier{"taken_" + schema}.Sanitize()+"; CREATE TABLE "+pgx.Identifier{"taken_" + schema, "keep"}.Sanitize()+" (a int)")
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{"taken_" + schema}.Sanitize()+" CASCADE")
	})
	prog := compileProgram(t, pool, src)
	taken := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "taken_" + schema}
	if err := taken.Run(ctx, false, true, time.Second, nil); err == nil || !strings.Contains(err.Error(), "objects stepping did not create") {
		t.Fatalf("a program took over a schema of someone else's: %v", err)
	}
	if err := taken.Drop(ctx, true); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "SELECT * FROM "+pgx.Identifier{"taken_" + schema, "keep"}.Sanitize())
}

// A source whose changes statement triggers cannot all see is refused,
// and so is an output into one of the program's own sources.
func TestPostgresSourcesThatCannotBeCaptured(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE parted (id int8 NOT NULL, x int4 NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parent (id int8 NOT NULL, x int4 NOT NULL);
CREATE TABLE child () INHERITS (parent);`)
	for table, want := range map[string]string{
		"parted":   "parted\" is partitioned",
		"parted_1": "parted_1\" is a partition or inheritance child",
		"parent":   "parent\" has inheritance children",
	} {
		prog := compileProgram(t, pool, "source t = table "+table+"\nview v = t | select { id, x }\noutput v\n")
		pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema}
		if err := pg.Run(ctx, false, true, time.Second, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("source %s: want an error saying %q, got %v", table, want, err)
		}
	}
	_, err := compile.Compile(ctx, "test.step", "source t = table parent\nview v = t | select { id, x }\noutput v to table parent\n", pool)
	if err == nil || !strings.Contains(err.Error(), "which table t of this program reads") {
		t.Fatalf("an output into its own source compiled: %v", err)
	}
}

func compileProgram(t *testing.T, pool *pgxpool.Pool, src string) *compile.Program {
	t.Helper()
	prog, err := compile.Compile(context.Background(), "test.step", src, pool)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return prog
}

// A change the program cannot apply stops the runner with its cause
// named, loses nothing, and is applied once the data is corrected.
func TestPostgresPermanentFailureStops(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustExec(t, pool, "CREATE TABLE items (id int8 PRIMARY KEY, qty int4 NOT NULL); INSERT INTO items VALUES (1, 4), (2, 5)")
	pg := newPG(t, pool, schema, "source items = table items\nview per = items | select { id, share = 100 / qty }\noutput per to table per\n")
	// Steps of one transaction: the correction never joins the failed
	// change's step unless the runner makes it.
	pg.BatchSize = 1
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "INSERT INTO items VALUES (3, 7)")
	mustExec(t, pool, "INSERT INTO items VALUES (4, 0), (5, 1)")
	// The continuous runner stops rather than retry for ever.
	done := make(chan error, 1)
	go func() { done <- pg.Run(ctx, false, false, time.Second, nil) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
	}
	var f *postgres.Failure
	if !errors.As(err, &f) {
		t.Fatalf("the runner did not stop with a Failure: %v", err)
	}
	// The failure says where in the program, too: the 100 / qty.
	for _, want := range []string{"program " + pg.Schema, "in view per", "source table", `"items"`, "test.step:2:41: division by zero", `"qty":0`, `"id":4`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failure does not say %q:\n%v", want, err)
		}
	}
	var se *runtime.StepError
	if !errors.As(err, &se) || se.Diagnostic() == nil || se.Diagnostic().Pos.Line != 2 {
		t.Errorf("the failure holds no StepError placed on line 2: %v", err)
	}
	st, err2 := pg.Status(ctx, 0)
	if err2 != nil || !strings.Contains(st.Failure, "test.step:2:41: division by zero") {
		t.Errorf("status does not show the failure (%v): %+v", err2, st)
	}
	// Nothing of the failed step was applied, nothing was lost.
	sameTexts(t, pool, "per", "SELECT id, 100 / qty FROM items WHERE id <= 3")
	mustExec(t, pool, "UPDATE items SET qty = 2 WHERE id = 4")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "per", "SELECT id, 100 / qty FROM items")
	if st, err := pg.Status(ctx, 0); err != nil || st.Failure != "" {
		t.Errorf("status still shows a failure after recovering (%v): %q", err, st.Failure)
	}
}

// A source altered under a running program stops it with the table and
// column named, before it writes a wrong row, keeping every change.
func TestPostgresSchemaDrift(t *testing.T) {
	cases := []struct {
		name, alter, want string
	}{
		{"rename", "ALTER TABLE items RENAME COLUMN qty TO amount; UPDATE items SET amount = 9 WHERE id = 1", "has no column qty any more"},
		{"drop used column", "ALTER TABLE items DROP COLUMN qty; DELETE FROM items WHERE id = 2", "has no column qty any more"},
		{"retype", "ALTER TABLE items ALTER COLUMN qty TYPE text USING 'many'; UPDATE items SET qty = 'lots' WHERE id = 1", "qty"},
		{"drop table", "DROP TABLE items", "items"},
		{"rename table", "ALTER TABLE items RENAME TO things; UPDATE things SET qty = 9", "items\" no longer exists"},
		// Neither is drift: an added column is not read, a truncation is
		// captured as the deletion of every row.
		{"add column", "ALTER TABLE items ADD COLUMN extra int; UPDATE items SET qty = 9 WHERE id = 1", ""},
		{"add column not null", "ALTER TABLE items ADD COLUMN extra int NOT NULL DEFAULT 0; INSERT INTO items VALUES (3, 7, 'c', 1); DELETE FROM items WHERE id = 2", ""},
		{"add column before a step's rows", "UPDATE items SET qty = 8 WHERE id = 2; ALTER TABLE items ADD COLUMN extra text; INSERT INTO items (id, qty, extra) VALUES (4, 6, 'x')", ""},
		{"truncate", "TRUNCATE items", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, "CREATE TABLE items (id int8 PRIMARY KEY, qty int4 NOT NULL, note text); INSERT INTO items VALUES (1, 4, 'a'), (2, 5, 'b')")
			prog := compileProgram(t, pool, "source items = table items\nview big = items | where qty > 1 | select { id, qty }\noutput big to table big\n")
			pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema}
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			before := rowTexts(t, pool, "TABLE big")
			mustExec(t, pool, c.alter)
			err := pg.Run(ctx, false, true, time.Second, nil)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				sameTexts(t, pool, "big", "SELECT id, qty FROM items WHERE qty > 1")
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "items") {
				t.Fatalf("want an error naming table items and saying %q, got %v", c.want, err)
			}
			if got := rowTexts(t, pool, "TABLE big"); !slices.Equal(got, before) {
				t.Errorf("the output changed after the drift: %v, was %v", got, before)
			}
			var pending int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{pg.Schema, "_log"}.Sanitize()).Scan(&pending); err != nil {
				t.Fatal(err)
			}
			if c.name != "drop table" && pending == 0 {
				t.Errorf("the change made after the drift was dropped from the log")
			}
		})
	}
}

// A source transaction larger than the batch size is one step, applied
// a chunk of at most BatchSize changes at a time inside it.
func TestPostgresLargeTransactionInChunks(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, x int4 NOT NULL, g int4 NOT NULL)")
	pg := newPG(t, pool, schema, `source t = table t
view v = t | select { id, x }
view g = t | group by g { n = count(), total = sum(x) }
output v to table out_v primary key (id)
output g to table out_g primary key (g)
`)
	pg.BatchSize, pg.OmitChanges = 100, true
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"INSERT INTO t SELECT i, 1, i % 7 FROM generate_series(1, 3000) i",
		// Every key's new row meets its old one only in a later chunk.
		"UPDATE t SET id = 3001 - id, x = x + 1",
		"BEGIN; DELETE FROM t WHERE id % 2 = 0; UPDATE t SET x = 9 WHERE id % 4 = 1; INSERT INTO t SELECT i, 5, 1 FROM generate_series(3002, 6000, 2) i; COMMIT",
	} {
		mustExec(t, pool, sql)
		var stats []postgres.StepStats
		if _, err := pg.ApplyPending(ctx, func(st postgres.StepStats) { stats = append(stats, st) }); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if len(stats) != 1 || stats[0].Chunks < 2 || stats[0].Changes != nil {
			t.Fatalf("%s: want one step of several chunks, holding no changes; got %+v", sql, stats)
		}
		sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
		sameTexts(t, pool, "out_g", "SELECT g, count(*), sum(x) FROM t GROUP BY g")
	}
}

// A runner whose program is dropped under it stops, saying so, rather
// than retry for ever.
func TestPostgresDroppedWhileRunning(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL); INSERT INTO t VALUES (1, 1)")
	pg := newPG(t, pool, schema, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v\n")
	stepped := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- pg.Run(ctx, false, false, time.Second, func(postgres.StepStats) {
			select {
			case stepped <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-stepped:
	case err := <-done:
		t.Fatalf("the runner stopped before its first step: %v", err)
	}
	if err := pg.Drop(ctx, true); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "INSERT INTO t VALUES (2, 2)")
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "state is gone") {
		t.Fatalf("want the runner to stop saying its state is gone, got %v", err)
	}
}

// A source under row-level security that the program's role is subject
// to is refused before anything is created: the backfill and the
// lookups into it would see only some of its rows. Its owner (here a
// superuser) is not subject to it and runs the program.
func TestPostgresRowLevelSecurity(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL);
INSERT INTO t SELECT i, i % 3 FROM generate_series(1, 9) i;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY some_rows ON t USING (x > 0)`)
	const src = "source t = table t\nview v = t | select { id, x }\noutput v to table out_v primary key (id)\n"
	role, installer := pgtest.Role(t, schema)
	quoted := pgx.Identifier{role}.Sanitize()
	prog := compileProgram(t, pool, src)
	limited := &postgres.Runner{Pool: installer, Circuit: prog.Circuit, Schema: "limited_" + schema}
	mustExec(t, pool, fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s; GRANT SELECT, TRIGGER, UPDATE ON t TO %[2]s; GRANT CREATE ON SCHEMA %s TO %[2]s",
		pgx.Identifier{limited.Schema}.Sanitize(), quoted, pgx.Identifier{schema}.Sanitize()))
	t.Cleanup(func() {
		owner := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: limited.Schema}
		if err := owner.Drop(context.Background(), true); err != nil {
			t.Error(err)
		}
	})
	err := limited.Setup(ctx, false)
	if err == nil || !strings.Contains(err.Error(), `source table "`+schema+`"."t" has row-level security that role `+role+` is subject to`) {
		t.Fatalf("want the source refused for its row-level security, got %v", err)
	}
	pg := newPG(t, pool, schema, src)
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
}

// The change a failure names is the one that failed, also in a program
// with constants: the trial steps that find it are not first steps, so
// they do not put the constants in their outputs again.
func TestPostgresFailureNamesItsChangeBesideConstants(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, "CREATE TABLE items (id int8 PRIMARY KEY, qty int4 NOT NULL); INSERT INTO items VALUES (1, 4), (2, 5)")
	pg := newPG(t, pool, schema, `source items = table items
view consts = values [{k = 1, label = "one"}]
view per = items | select { id, share = 100 / qty }
output consts to table consts primary key (k)
output per to table per
`)
	pg.BatchSize = 100
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// One transaction: one step of three changes, the second failing.
	mustExec(t, pool, "INSERT INTO items VALUES (3, 7), (4, 0), (5, 1)")
	err := pg.Run(ctx, false, true, time.Second, nil)
	var f *postgres.Failure
	if !errors.As(err, &f) {
		t.Fatalf("want a Failure, got %v", err)
	}
	if !strings.Contains(f.Change, `"id":4`) {
		t.Errorf("the failure names change %s, want the row with id 4", f.Change)
	}
	sameTexts(t, pool, "consts", "VALUES (1::int8, 'one'::text)")
}
