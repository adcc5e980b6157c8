package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// applyProgram is a three-view program: va reads a alone; vb reads b,
// and vc reads vb. threshold is vb's filter, which the tests change.
func applyProgram(threshold int) string {
	return fmt.Sprintf(`source a = table a
source b = table b
view va = a | where x > 0 | select { id, x }
view vb = b | where amount > %d | select { id, k, amount }
view vc = vb | group by k { total = sum(amount), n = count() }
output va to table out_va primary key (id)
output vb to table out_vb primary key (id)
output vc to table out_vc primary key (k)
`, threshold)
}

// applyRunner compiles src against the database as the program of
// schema, the same program schema newPG gives.
func applyRunner(t *testing.T, pool *pgxpool.Pool, schema, src string) *postgres.Runner {
	t.Helper()
	prog, err := compile.Compile(context.Background(), "test.step", src, pool)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema, BatchSize: 50, Log: testLog{t}}
}

// testLog writes a runner's messages to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// physical returns each row's place and version in a table: the same
// answer before and after means no row of it was written.
func physical(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	return rowTexts(t, pool, "SELECT ctid::text || ' ' || xmin::text FROM "+table)
}

func relfilenode(t *testing.T, pool *pgxpool.Pool, table string) uint32 {
	t.Helper()
	var n uint32
	if err := pool.QueryRow(context.Background(), "SELECT pg_relation_filenode($1)", table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresApplyUnderWrites changes one view of a three-view program
// while writers change its sources and a reader reads its outputs: the
// plan names that view and the one downstream; the apply leaves the
// untouched output's table physically as it was, swaps the changed ones
// so that the reader never sees a partial or inconsistent pair of them,
// and loses no change.
func TestPostgresApplyUnderWrites(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	// Rows b 1..200 pass both filters and are never written: the
	// output of vb never holds fewer.
	mustExec(t, pool, `CREATE TABLE a (id int8 PRIMARY KEY, x int4 NOT NULL);
CREATE TABLE b (id int8 PRIMARY KEY, k int4 NOT NULL, amount int8 NOT NULL);
INSERT INTO a SELECT i, i % 7 - 2 FROM generate_series(1, 300) i;
INSERT INTO b SELECT i, i % 13, 100 FROM generate_series(1, 200) i;
INSERT INTO b SELECT i, i % 13, i % 20 FROM generate_series(201, 3000) i`)
	old := newPG(t, pool, schema, applyProgram(10))
	old.BatchSize = 50
	if err := old.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	untouched, file := physical(t, pool, "out_va"), relfilenode(t, pool, "out_va")

	changed := applyRunner(t, pool, schema, applyProgram(5))
	ch, err := changed.PlanChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Kept, []string{"va"}) || !slices.Equal(ch.Rebuilt, []string{"vb", "vc"}) || len(ch.Added)+len(ch.Removed) > 0 || !slices.Equal(ch.Reads, []string{"b"}) {
		t.Fatalf("plan: %+v, want va kept, vb and vc rebuilt from b", ch)
	}
	// stepq plan --db's plan, against the deployed lock, says the same.
	dep, err := changed.Deployed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := lockfile.Parse("deployed", dep.Lock)
	if err != nil {
		t.Fatal(err)
	}
	now, err := lockfile.Parse("changed", lockfile.Render(changed.Circuit))
	if err != nil {
		t.Fatal(err)
	}
	if plan := lockfile.Compare(deployed, now); !slices.Equal(plan.Rebuild, []string{"vb", "vc"}) || !slices.Equal(plan.Live, []string{"out_va"}) {
		t.Fatalf("plan against the deployed lock: rebuild %v, live %v; want [vb vc], [out_va]", plan.Rebuild, plan.Live)
	}

	// Writers change b's rows past 200 until the apply is done.
	writeCtx, stopWriting := context.WithCancel(ctx)
	var writers sync.WaitGroup
	var writes atomic.Int64
	for w := range 3 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for writeCtx.Err() == nil {
				id := 201 + rng.IntN(3000)
				var sql string
				switch rng.IntN(3) {
				case 0:
					sql = fmt.Sprintf("INSERT INTO b VALUES (%d, %d, %d) ON CONFLICT (id) DO UPDATE SET amount = excluded.amount", id, rng.IntN(13), rng.IntN(20))
				case 1:
					sql = fmt.Sprintf("UPDATE b SET amount = %d, k = %d WHERE id = %d", rng.IntN(20), rng.IntN(13), id)
				default:
					sql = fmt.Sprintf("DELETE FROM b WHERE id = %d", id)
				}
				if _, err := pool.Exec(writeCtx, sql); err == nil {
					writes.Add(1)
				}
			}
		}()
	}
	// The reader reads both rebuilt outputs in one statement, so in one
	// snapshot: vc's counts must add up to vb's rows, and vb never
	// holds fewer than the rows no writer touches.
	readCtx, stopReading := context.WithCancel(ctx)
	var reads atomic.Int64
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for readCtx.Err() == nil {
			var rows, counted int64
			err := pool.QueryRow(readCtx, "SELECT (SELECT count(*) FROM out_vb), (SELECT coalesce(sum(n), 0) FROM out_vc)").Scan(&rows, &counted)
			switch {
			case readCtx.Err() != nil:
				return
			case err != nil:
				readErr <- err
				return
			case rows < 200 || counted != rows:
				readErr <- fmt.Errorf("a reader saw out_vb with %d rows and out_vc counting %d", rows, counted)
				return
			}
			reads.Add(1)
		}
	}()
	waitWrites := func(n int64) {
		for start := writes.Load(); writes.Load() < start+n; {
			if err := writeCtx.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitWrites(50)
	changed.Apply = true
	readsBefore := reads.Load()
	if err := changed.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	// Writes go on after the apply, and the runner takes them up.
	waitWrites(50)
	stopWriting()
	writers.Wait()
	readsDuring := reads.Load() - readsBefore
	if err := changed.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	stopReading()
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes, %d reads during the apply", writes.Load(), readsDuring)
	if readsDuring == 0 {
		t.Fatal("the reader read nothing while the change was applied")
	}

	if got := physical(t, pool, "out_va"); !slices.Equal(got, untouched) || relfilenode(t, pool, "out_va") != file {
		t.Errorf("the untouched output out_va was written")
	}
	sameTexts(t, pool, "out_va", "SELECT id, x FROM a WHERE x > 0")
	sameTexts(t, pool, "out_vb", "SELECT id, k, amount FROM b WHERE amount > 5")
	sameTexts(t, pool, "out_vc", "SELECT k, sum(amount)::int8, count(*)::int8 FROM b WHERE amount > 5 GROUP BY k")

	// The program is now the changed one: unchanged, it runs as it is.
	again := applyRunner(t, pool, schema, applyProgram(5))
	if err := again.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatalf("the applied program, run again: %v", err)
	}
}

// TestPostgresApplyCases applies changes of several kinds, each checked
// against recomputation, with what each keeps.
func TestPostgresApplyCases(t *testing.T) {
	const base = `source a = table a
source b = table b
view va = a | where x > 0 | select { id, x }
view vb = b | where amount > 10 | select { id, k, amount }
view vc = vb | group by k { total = sum(amount), n = count() }
view vm = b | group by k { m = max(amount) }
output va to table out_va primary key (id)
output vb to table out_vb primary key (id)
output vc to table out_vc primary key (k)
`
	tests := []struct {
		name    string
		src     string
		kept    []string
		rebuilt []string
		added   []string
		removed []string
		oracle  map[string]string
		gone    []string // tables dropped
		stays   []string // removed output tables left in place
		drop    bool
		// backfillRows and noPushdown set the runner's: a small bound
		// takes the rebuild to Postgres, with the kept state it reads in
		// temporary tables.
		backfillRows int
		noPushdown   bool
	}{
		{
			name:    "downstream view only",
			src:     strings.Replace(base, "n = count() }", "n = count(), biggest = max(amount) }", 1),
			kept:    []string{"va", "vb"},
			rebuilt: []string{"vc"},
			oracle:  map[string]string{"out_vc": "SELECT k, sum(amount)::int8, count(*)::int8, max(amount) FROM b WHERE amount > 10 GROUP BY k"},
		},
		{
			name:  "view added",
			src:   base + "view vd = a | join b on a.id == b.id | select { id = a.id, x, amount }\noutput vd to table out_vd primary key (id)\n",
			kept:  []string{"va", "vb", "vc"},
			added: []string{"vd"},
			oracle: map[string]string{
				"out_vd": "SELECT a.id, x, amount FROM a JOIN b ON a.id = b.id",
			},
		},
		{
			name:    "output removed, left",
			src:     strings.Replace(base, "output va to table out_va primary key (id)\n", "", 1),
			kept:    []string{"vb", "vc"},
			removed: []string{`"out_va"`},
			stays:   []string{"out_va"},
		},
		{
			name:    "output removed, dropped",
			src:     strings.Replace(base, "output va to table out_va primary key (id)\n", "", 1),
			kept:    []string{"vb", "vc"},
			removed: []string{`"out_va"`},
			gone:    []string{"out_va"},
			drop:    true,
		},
		{
			name:   "source added",
			src:    base + "source c = table c\nview vx = c | join a on c.a_id == a.id | select { id = c.id, x }\noutput vx to table out_vx primary key (id)\n",
			kept:   []string{"va", "vb", "vc"},
			added:  []string{"vx"},
			oracle: map[string]string{"out_vx": "SELECT c.id, a.x FROM c JOIN a ON c.a_id = a.id"},
		},
		{
			name:   "view added over a kept aggregate",
			src:    base + "view vd = vc | join a on vc.k == a.id | select { k, total, x }\noutput vd to table out_vd primary key (k)\n",
			kept:   []string{"va", "vb", "vc"},
			added:  []string{"vd"},
			oracle: map[string]string{"out_vd": "SELECT k, sum(amount)::int8, x FROM b JOIN a ON b.k = a.id WHERE amount > 10 GROUP BY k, x"},
		},
		{
			// vm has no table: its kept state is computed again.
			name:         "view added over a kept aggregate without a table, in Postgres",
			src:          base + "view vd = vm | join a on vm.k == a.id | select { k, m, x }\noutput vd to table out_vd primary key (k)\n",
			kept:         []string{"va", "vb", "vc"},
			added:        []string{"vd"},
			oracle:       map[string]string{"out_vd": "SELECT k, max(amount), x FROM b JOIN a ON b.k = a.id GROUP BY k, x"},
			backfillRows: 40,
			noPushdown:   true,
		},
		{
			name:    "output key changed",
			src:     strings.Replace(base, "output vb to table out_vb primary key (id)", "output vb to table out_vb index (k)", 1),
			kept:    []string{"va", "vc"},
			rebuilt: []string{"vb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, `CREATE TABLE a (id int8 PRIMARY KEY, x int4 NOT NULL);
CREATE TABLE b (id int8 PRIMARY KEY, k int4 NOT NULL, amount int8 NOT NULL);
CREATE TABLE c (id int8 PRIMARY KEY, a_id int8 NOT NULL);
INSERT INTO a SELECT i, i % 7 - 2 FROM generate_series(1, 300) i;
INSERT INTO b SELECT i, i % 13, i % 20 FROM generate_series(1, 500) i;
INSERT INTO c SELECT i, i * 3 FROM generate_series(1, 90) i`)
			old := newPG(t, pool, schema, base)
			if err := old.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			// Changes pending when the change is applied.
			mustExec(t, pool, "UPDATE a SET x = x + 1 WHERE id % 5 = 0; DELETE FROM b WHERE id % 11 = 0; INSERT INTO c VALUES (91, 4)")
			changed := applyRunner(t, pool, schema, tt.src)
			changed.DropRemoved = tt.drop
			changed.BackfillRows, changed.NoPushdown = tt.backfillRows, tt.noPushdown
			ch, err := changed.PlanChange(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.Kept, tt.kept) || !slices.Equal(ch.Rebuilt, tt.rebuilt) || !slices.Equal(ch.Added, tt.added) || !slices.Equal(ch.Removed, tt.removed) {
				t.Fatalf("plan: kept %v rebuilt %v added %v removed %v; want %v %v %v %v", ch.Kept, ch.Rebuilt, ch.Added, ch.Removed, tt.kept, tt.rebuilt, tt.added, tt.removed)
			}
			if err := changed.Run(ctx, false, true, time.Second, nil); !errors.Is(err, postgres.ErrVersion) {
				t.Fatalf("without Apply: %v, want ErrVersion", err)
			}
			changed.Apply = true
			if err := changed.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			mustExec(t, pool, "UPDATE a SET x = x - 1 WHERE id % 3 = 0; INSERT INTO b VALUES (1001, 3, 50); INSERT INTO c VALUES (92, 6)")
			if err := changed.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			oracle := map[string]string{
				"out_va": "SELECT id, x FROM a WHERE x > 0",
				"out_vb": "SELECT id, k, amount FROM b WHERE amount > 10",
				"out_vc": "SELECT k, sum(amount)::int8, count(*)::int8 FROM b WHERE amount > 10 GROUP BY k",
			}
			for table, query := range tt.oracle {
				oracle[table] = query
			}
			for _, table := range append(tt.gone, tt.stays...) {
				delete(oracle, table)
			}
			for table, query := range oracle {
				sameTexts(t, pool, table, query)
			}
			for _, table := range tt.gone {
				var exists bool
				if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil || exists {
					t.Errorf("table %s: exists %v (%v), want it dropped", table, exists, err)
				}
			}
			for _, table := range tt.stays {
				var n int
				if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n == 0 {
					t.Errorf("table %s: %d rows (%v), want it left as it was", table, n, err)
				}
				mustExec(t, pool, "DROP TABLE "+table)
			}
			if err := changed.Drop(ctx, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A changed output's table that a view of the user's reads is not
// replaced: the apply fails, naming the view, and changes nothing.
func TestPostgresApplyDependentView(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE a (id int8 PRIMARY KEY, x int4 NOT NULL);
CREATE TABLE b (id int8 PRIMARY KEY, k int4 NOT NULL, amount int8 NOT NULL);
INSERT INTO b SELECT i, i % 13, i % 20 FROM generate_series(1, 100) i`)
	old := newPG(t, pool, schema, applyProgram(10))
	if err := old.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "CREATE VIEW big_totals AS SELECT k FROM out_vc WHERE total > 100")
	t.Cleanup(func() { mustExec(t, pool, "DROP VIEW IF EXISTS big_totals") })
	changed := applyRunner(t, pool, schema, applyProgram(5))
	changed.Apply = true
	err := changed.Run(ctx, false, true, time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "big_totals") || !strings.Contains(err.Error(), "out_vc") {
		t.Fatalf("apply: %v, want an error naming view big_totals and table out_vc", err)
	}
	// Nothing changed: the old program runs on.
	mustExec(t, pool, "INSERT INTO b VALUES (500, 1, 15)")
	if err := old.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_vb", "SELECT id, k, amount FROM b WHERE amount > 10")
}

// A column added to a source table changes no output of a program that
// does not use it: started again, typed from the catalog anew, the
// program takes it up by itself, its output tables untouched. A program
// that starts using the column rebuilds the view that does, and leaves
// the other view's table untouched.
func TestPostgresApplySourceColumnAdded(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL);
INSERT INTO t SELECT i, i % 5 - 1 FROM generate_series(1, 200) i`)
	const src = `source t = table t
view v = t | where x > 0 | select { id, x }
view w = t | group by x { n = count() }
output v to table out_v primary key (id)
output w to table out_w primary key (x)
`
	old := newPG(t, pool, schema, src)
	if err := old.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	v, w := physical(t, pool, "out_v"), physical(t, pool, "out_w")
	mustExec(t, pool, "ALTER TABLE t ADD COLUMN y int4 NOT NULL DEFAULT 3")
	mustExec(t, pool, "UPDATE t SET y = 4 WHERE id = 7")

	again := applyRunner(t, pool, schema, src)
	if err := again.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatalf("started again after ADD COLUMN: %v", err)
	}
	if !slices.Equal(physical(t, pool, "out_v"), v) || !slices.Equal(physical(t, pool, "out_w"), w) {
		t.Error("an output table was written, though no view uses the added column")
	}
	mustExec(t, pool, "UPDATE t SET x = 9 WHERE id = 8")
	if err := again.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t WHERE x > 0")
	w = physical(t, pool, "out_w")

	using := applyRunner(t, pool, schema, strings.Replace(src, "select { id, x }", "select { id, x, y }", 1))
	ch, err := using.PlanChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ch.Rebuilt, "v") {
		t.Fatalf("plan: %+v, want v rebuilt", ch)
	}
	if err := using.Run(ctx, false, true, time.Second, nil); !errors.Is(err, postgres.ErrVersion) {
		t.Fatalf("a program using the new column, without Apply: %v, want ErrVersion", err)
	}
	using.Apply = true
	if err := using.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x, y FROM t WHERE x > 0")
	if !slices.Equal(physical(t, pool, "out_w"), w) {
		t.Error("out_w was written, though its view does not use the added column")
	}
	sameTexts(t, pool, "out_w", "SELECT x, count(*)::int8 FROM t GROUP BY x")
}

// lineSignal is a log that closes a channel at the first line holding a
// given text.
type lineSignal struct {
	text string
	once sync.Once
	seen chan struct{}
}

func (l *lineSignal) Write(b []byte) (int, error) {
	if strings.Contains(string(b), l.text) {
		l.once.Do(func() { close(l.seen) })
	}
	return len(b), nil
}

// An apply waits for the runner of the old program to stop, and then
// takes up what it left in the log.
func TestPostgresApplyWaitsForRunner(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE a (id int8 PRIMARY KEY, x int4 NOT NULL);
CREATE TABLE b (id int8 PRIMARY KEY, k int4 NOT NULL, amount int8 NOT NULL);
INSERT INTO b SELECT i, i % 13, i % 20 FROM generate_series(1, 100) i`)
	old := newPG(t, pool, schema, applyProgram(10))
	runCtx, stopRunner := context.WithCancel(ctx)
	ran := make(chan error, 1)
	// The runner holds the lock once it has taken a step.
	stepped := make(chan struct{})
	var once sync.Once
	go func() {
		ran <- old.Run(runCtx, false, false, time.Hour, func(postgres.StepStats) { once.Do(func() { close(stepped) }) })
	}()
	select {
	case <-stepped:
	case err := <-ran:
		t.Fatalf("the old program's runner stopped: %v", err)
	}

	changed := applyRunner(t, pool, schema, applyProgram(5))
	changed.Apply = true
	waiting := &lineSignal{text: "waiting for it to stop", seen: make(chan struct{})}
	changed.Log = waiting
	applied := make(chan error, 1)
	go func() { applied <- changed.Setup(ctx, false) }()
	select {
	case <-waiting.seen:
	case err := <-applied:
		t.Fatalf("the apply did not wait for the running program: %v", err)
	}
	mustExec(t, pool, "INSERT INTO b VALUES (1001, 2, 7)")
	stopRunner()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	if err := changed.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_vb", "SELECT id, k, amount FROM b WHERE amount > 5")
	sameTexts(t, pool, "out_vc", "SELECT k, sum(amount)::int8, count(*)::int8 FROM b WHERE amount > 5 GROUP BY k")
}

// TestPostgresApplyOracle runs every oracle case through changes of
// program applied to its running state, checking every output against
// recomputation in SQL before and after each: its last output removed
// (the rest kept), then restored (rebuilt and swapped in), then a view
// added before all others (every operator renumbered, every state kept).
func TestPostgresApplyOracle(t *testing.T) {
	for _, c := range oracleCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema, r := c.setup(t, 7)
			ctx := context.Background()
			now := time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
			change := func(n int) {
				t.Helper()
				for range n {
					if _, err := pool.Exec(ctx, c.change(r, now)); err != nil {
						t.Fatal(err)
					}
				}
				if c.clock {
					now = now.Add(time.Duration(r.IntN(40)) * time.Hour)
				}
			}
			lines := strings.Split(strings.TrimRight(c.program, "\n"), "\n")
			lastOutput := -1
			for i, l := range lines {
				if strings.HasPrefix(l, "output ") {
					lastOutput = i
				}
			}
			if lastOutput < 0 {
				t.Fatalf("case %s has no output line", c.name)
			}
			removed := strings.Fields(lines[lastOutput])[1]
			without := strings.Join(slices.Delete(slices.Clone(lines), lastOutput, lastOutput+1), "\n") + "\n"
			programs := []struct {
				what, src string
				skip      string // an output the program does not have
			}{
				{"installed", c.program, ""},
				{"last output removed", without, removed},
				{"last output restored", c.program, ""},
				{"a view added first", "view aaa_first = values [{x = 1}]\n" + c.program, ""},
			}
			change(20)
			for _, prog := range programs {
				pg := applyRunner(t, pool, schema, prog.src)
				pg.Apply, pg.Clock = true, func() time.Time { return now }
				for round := range 4 {
					if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
						t.Fatalf("%s, round %d: %v", prog.what, round, err)
					}
					for output := range c.outputs {
						if output != prog.skip {
							c.check(t, pool, pg, output, now, fmt.Sprintf("%s, round %d", prog.what, round))
						}
					}
					change(1 + r.IntN(6))
				}
			}
			final := applyRunner(t, pool, schema, programs[len(programs)-1].src)
			if err := final.Drop(ctx, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}
