package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// upstreamProgram sums t's x per group; downstreamProgram reads its
// output table as a source.
const upstreamProgram = `source t = table t
view totals = t | group by grp { total = sum(x), n = count() }
output totals to table a_totals primary key (grp)
`

// chained installs program A (upstreamProgram, in schema a_S) and then
// program B (reading A's output table, in schema b_S), each run once,
// and returns their runners. B is dropped before A when the test ends:
// its triggers are on A's table.
func chained(t *testing.T, pool *pgxpool.Pool, schema, downstream string) (a, b *postgres.Runner) {
	t.Helper()
	ctx := context.Background()
	a = &postgres.Runner{Pool: pool, Circuit: compileProgram(t, pool, upstreamProgram).Circuit, Schema: "a_" + schema, BatchSize: 3}
	t.Cleanup(func() {
		if err := a.Drop(context.Background(), true); err != nil {
			t.Errorf("dropping program A: %v", err)
		}
	})
	if err := a.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatalf("program A: %v", err)
	}
	// B is compiled against the catalog: A's table exists by now.
	b = &postgres.Runner{Pool: pool, Circuit: compileProgram(t, pool, downstream).Circuit, Schema: "b_" + schema, BatchSize: 2}
	t.Cleanup(func() {
		if err := b.Drop(context.Background(), true); err != nil {
			t.Errorf("dropping program B: %v", err)
		}
	})
	if err := b.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatalf("program B: %v", err)
	}
	return a, b
}

// TestPostgresProgramReadsAnotherOutput runs program B over program A's
// output table: a change to A's source reaches B's output through A's,
// B's capture triggers on A's table capturing A's writes in A's step
// transaction. B's outputs are compared, after every round, with the
// same query computed from A's source directly; both a view B reads
// straight (select) and one that keeps state (join, group) are checked.
func TestPostgresProgramReadsAnotherOutput(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, grp text NOT NULL, x int4 NOT NULL);
CREATE TABLE labels (grp text PRIMARY KEY, label text NOT NULL);
INSERT INTO t VALUES (1, 'a', 5), (2, 'a', 7), (3, 'b', 1), (4, 'c', 20);
INSERT INTO labels VALUES ('a', 'apples'), ('b', 'bananas'), ('c', 'cherries')`)
	a, b := chained(t, pool, schema, `source totals = table a_totals
source labels = table labels
view big = totals | where total > 10 | select { grp, total }
view named = totals
  | join labels on totals.grp == labels.grp
  | group by labels.label { total = sum(totals.total), groups = count() }
output big to table b_big primary key (grp)
output named to table b_named primary key (label)
`)
	const (
		totalsSQL = "SELECT grp, sum(x) AS total, count(*) AS n FROM t GROUP BY grp"
		bigSQL    = "SELECT grp, total FROM (" + totalsSQL + ") s WHERE total > 10"
		namedSQL  = "SELECT label, sum(total) AS total, count(*) AS groups FROM (" + totalsSQL + ") s JOIN labels USING (grp) GROUP BY label"
	)
	check := func(round string) {
		t.Helper()
		for _, c := range []struct{ table, query string }{{"a_totals", totalsSQL}, {"b_big", bigSQL}, {"b_named", namedSQL}} {
			if got, want := rowTexts(t, pool, "TABLE "+c.table), rowTexts(t, pool, c.query); !slices.Equal(got, want) {
				t.Fatalf("%s: %s holds %v, want %v", round, c.table, got, want)
			}
		}
	}
	check("after install")
	for _, round := range []struct{ name, sql string }{
		{"insert", "INSERT INTO t VALUES (5, 'b', 15), (6, 'd', 11)"},
		{"update", "UPDATE t SET x = x + 1 WHERE grp = 'a'; UPDATE labels SET label = 'dates' WHERE grp = 'c'; INSERT INTO labels VALUES ('d', 'dates')"},
		{"update key", "UPDATE t SET grp = 'c' WHERE id = 1"},
		{"delete", "DELETE FROM t WHERE grp = 'b'"},
		{"one transaction", "BEGIN; INSERT INTO t VALUES (7, 'e', 30); UPDATE t SET x = 0 WHERE id = 7; DELETE FROM t WHERE id = 2; COMMIT"},
		{"truncate", "TRUNCATE t"},
		{"again", "INSERT INTO t VALUES (8, 'a', 50)"},
	} {
		mustExec(t, pool, round.sql)
		if err := a.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatalf("%s: program A: %v", round.name, err)
		}
		if err := b.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatalf("%s: program B: %v", round.name, err)
		}
		check(round.name)
	}
	// Every change B captured was applied: its log is empty.
	var pending int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{b.Schema, "_log"}.Sanitize()).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("program B's log holds %d rows after its run", pending)
	}
}

// TestPostgresChainedRunnersRunTogether runs both programs as runners
// that wait for changes: a write to A's source wakes A, whose step's
// writes to its output wake B, with no step taken by the test. It waits
// on B's steps, not for a while.
func TestPostgresChainedRunnersRunTogether(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, grp text NOT NULL, x int4 NOT NULL);
INSERT INTO t VALUES (1, 'a', 5), (2, 'a', 7), (3, 'b', 1)`)
	a, b := chained(t, pool, schema, `source totals = table a_totals
view big = totals | where total > 10 | select { grp, total }
output big to table b_big primary key (grp)
`)
	// Listening before any write, the test misses no step of B's.
	steps, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer steps.Release()
	if _, err := steps.Exec(ctx, "LISTEN "+pgx.Identifier{b.StepChannel()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// The test waits until its deadline, or until a runner stops early.
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	for _, p := range []*postgres.Runner{a, b} {
		go func() {
			err := p.Run(runCtx, false, false, time.Hour, nil)
			cancel()
			done <- err
		}()
	}
	defer func() {
		stop()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("runner: %v", err)
			}
		}
	}()
	go func() {
		select {
		case <-testwait.Expired(t):
			cancel()
		case <-waitCtx.Done():
		}
	}()
	const bigSQL = "SELECT grp, total FROM (SELECT grp, sum(x) AS total FROM t GROUP BY grp) s WHERE total > 10"
	for _, write := range []string{
		"INSERT INTO t VALUES (4, 'b', 15)",
		"UPDATE t SET x = 1 WHERE id = 2",
		"DELETE FROM t WHERE grp = 'b'; INSERT INTO t VALUES (5, 'c', 11)",
	} {
		mustExec(t, pool, write)
		want := rowTexts(t, pool, bigSQL)
		for {
			got := rowTexts(t, pool, "TABLE b_big")
			if slices.Equal(got, want) {
				break
			}
			if _, err := steps.Conn().WaitForNotification(waitCtx); err != nil {
				t.Fatalf("after %s, waiting for B's output to be %v, it holds %v: %v", write, want, got, err)
			}
		}
	}
}

// TestPostgresReadersOf finds the programs installed and what each
// reads, and the readers of tables, also as a role that may not read
// the programs' schemas; the upstream program's rebuild
// warns that it drops a table the downstream one reads, which after it
// reads it no more, and refuses to start until it is installed again,
// which replays it from the new table.
func TestPostgresReadersOf(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, grp text NOT NULL, x int4 NOT NULL);
CREATE TABLE labels (grp text PRIMARY KEY, label text NOT NULL);
INSERT INTO t VALUES (1, 'a', 5), (2, 'a', 7), (3, 'b', 1);
INSERT INTO labels VALUES ('a', 'apples'), ('b', 'bananas')`)
	downstream := `source totals = table a_totals
source labels = table labels
view named = totals | join labels on totals.grp == labels.grp | select { label, total }
output named to table b_named primary key (label)
`
	a, b := chained(t, pool, schema, downstream)
	progs, err := postgres.InstalledPrograms(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // the test's programs: version and sources
	for _, p := range progs {
		if p.Schema != a.Schema && p.Schema != b.Schema {
			continue // another test's
		}
		s := p.Version
		if p.Lock == "" {
			s += " no lock"
		}
		for _, src := range p.Sources {
			s += " " + src.Input + "=" + src.Table
		}
		got[p.Schema] = s
	}
	want := map[string]string{
		a.Schema: a.Version() + " t=" + schema + ".t",
		b.Schema: b.Version() + " totals=" + schema + ".a_totals labels=" + schema + ".labels",
	}
	if len(got) != 2 || got[a.Schema] != want[a.Schema] || got[b.Schema] != want[b.Schema] {
		t.Errorf("InstalledPrograms: %v, want %v", got, want)
	}

	readers := func() string {
		t.Helper()
		r, err := postgres.ReadersOf(ctx, pool, []string{"a_totals", "t", schema + ".labels", "no_such_table"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, name := range []string{"a_totals", "t", schema + ".labels", "no_such_table"} {
			s := name + ":"
			for _, rd := range r[name] {
				s += " " + strings.TrimSuffix(rd.Program.Schema, "_"+schema) + "(" + rd.Input + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, "; ")
	}
	if got, want := readers(), "a_totals: b(totals); t: a(t); "+schema+".labels: b(labels); no_such_table:"; got != want {
		t.Errorf("ReadersOf: %s, want %s", got, want)
	}

	// A role with no right on the programs' schemas finds them by
	// their capture functions, and what they read by their triggers.
	_, rolePool := pgtest.Role(t, schema)
	asRole, err := postgres.ReadersOf(ctx, rolePool, []string{"a_totals"})
	if err != nil {
		t.Fatal(err)
	}
	if r := asRole["a_totals"]; len(r) != 1 || r[0].Program.Schema != b.Schema || r[0].Input != "totals" || r[0].Program.Version != "" || len(r[0].Program.Sources) != 2 {
		t.Errorf("ReadersOf as a role that may not read _meta: %+v, want program %s (no version) reading it as totals", r, b.Schema)
	}

	// A rebuilt drops its output table and creates it again: B's
	// triggers went with the old one.
	edited := strings.Replace(upstreamProgram, "to table a_totals", "to table a_totals index (total)", 1)
	log := &signalWriter{want: "\n", seen: make(chan struct{})}
	a2 := &postgres.Runner{Pool: pool, Circuit: compileProgram(t, pool, edited).Circuit, Schema: a.Schema, Log: log}
	if err := a2.Run(ctx, true, true, time.Second, nil); err != nil {
		t.Fatalf("rebuilding program A: %v", err)
	}
	// The rebuild said so.
	if want := "warning: program in schema " + b.Schema + " reads output table " + schema + ".a_totals of program " + a.Schema + " (as source totals)"; !strings.Contains(log.String(), want) {
		t.Errorf("rebuilding A logged\n%s\nwant a line with %q", log.String(), want)
	}
	if got, want := readers(), "a_totals:; t: a(t); "+schema+".labels: b(labels); no_such_table:"; got != want {
		t.Errorf("ReadersOf after A was rebuilt: %s, want %s", got, want)
	}
	mustExec(t, pool, "INSERT INTO t VALUES (4, 'b', 40)")
	if err := a2.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	err = b.Run(ctx, false, true, time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "a_totals\" has lost the program's capture triggers") || !strings.Contains(err.Error(), "stepq drop --outputs") {
		t.Fatalf("B started on a table that lost its triggers: %v", err)
	}
	if err := b.Drop(ctx, true); err != nil {
		t.Fatal(err)
	}
	b = &postgres.Runner{Pool: pool, Circuit: compileProgram(t, pool, downstream).Circuit, Schema: b.Schema}
	if err := b.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatalf("program B installed again: %v", err)
	}
	mustExec(t, pool, "UPDATE t SET x = x + 1")
	for _, p := range []*postgres.Runner{a2, b} {
		if err := p.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
	sameTexts(t, pool, "b_named", "SELECT label, sum(x) FROM t JOIN labels USING (grp) GROUP BY label")
}

// TestPostgresDownstreamOfAnotherRole runs program B as a role of its
// own over program A's output table, with the rights any source needs
// (SELECT, TRIGGER, UPDATE on the table) granted by A's role: A's
// runner, with no right on B's schema, writes its output, and B's
// capture (running as B's role) logs the writes into B's log.
func TestPostgresDownstreamOfAnotherRole(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, grp text NOT NULL, x int4 NOT NULL);
INSERT INTO t VALUES (1, 'a', 5), (2, 'a', 7), (3, 'b', 1)`)
	a := &postgres.Runner{Pool: pool, Circuit: compileProgram(t, pool, upstreamProgram).Circuit, Schema: "a_" + schema}
	t.Cleanup(func() {
		if err := a.Drop(context.Background(), true); err != nil {
			t.Errorf("dropping program A: %v", err)
		}
	})
	if err := a.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// The role's cleanup, which runs first, drops B with all it owns:
	// its triggers on A's table go with its capture functions.
	role, rolePool := pgtest.Role(t, schema)
	b := &postgres.Runner{Pool: rolePool, Circuit: compileProgram(t, pool, "source totals = table a_totals\nview big = totals | where total > 10 | select { grp, total }\noutput big\n").Circuit, Schema: "b_" + schema}
	mustExec(t, pool, fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s; GRANT SELECT, TRIGGER, UPDATE ON a_totals TO %[2]s",
		pgx.Identifier{b.Schema}.Sanitize(), pgx.Identifier{role}.Sanitize()))
	if err := b.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatalf("program B, as role %s: %v", role, err)
	}
	big := pgx.Identifier{b.Schema, "big"}.Sanitize()
	const bigSQL = "SELECT grp, total FROM (SELECT grp, sum(x) AS total FROM t GROUP BY grp) s WHERE total > 10"
	sameTexts(t, pool, big, bigSQL)
	for _, write := range []string{"INSERT INTO t VALUES (4, 'b', 15)", "UPDATE t SET x = 1 WHERE grp = 'a'", "TRUNCATE t"} {
		mustExec(t, pool, write)
		for _, p := range []*postgres.Runner{a, b} {
			if err := p.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatalf("%s: %v", write, err)
			}
		}
		sameTexts(t, pool, big, bigSQL)
	}
}

// TestPostgresInstalledProgramsWhileDropped lists the installed programs
// while another session creates and drops a program's schema over and
// over: a program dropped between the catalog's rows and the privilege
// checks on them is not an error, only not listed.
func TestPostgresInstalledProgramsWhileDropped(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	other := schema + "_churn"
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+other+" CASCADE") })
	done := make(chan error, 1)
	go func() {
		for range 60 {
			if _, err := pool.Exec(ctx, "CREATE SCHEMA "+other+"; CREATE TABLE "+other+"._meta (key text PRIMARY KEY, value text); INSERT INTO "+other+"._meta VALUES ('version', 'v1')"); err != nil {
				done <- err
				return
			}
			if _, err := pool.Exec(ctx, "DROP SCHEMA "+other+" CASCADE"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		if _, err := postgres.InstalledPrograms(ctx, pool); err != nil {
			t.Fatalf("listing the programs while one is dropped: %v", err)
		}
	}
}
