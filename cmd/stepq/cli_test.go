package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// TestCheckJSON checks check -json: every diagnostic as an object with
// file, line, col, end, message and hint, exit status 1; and an empty
// array with status 0 for a valid program.
func TestCheckJSON(t *testing.T) {
	r := runStepq(t, ".", "check", "-json", "testdata/three_errors.step")
	r.want(t, 1)
	var diags []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Col     int    `json:"col"`
		End     struct{ Line, Col int }
		Message string `json:"message"`
		Hint    string `json:"hint"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &diags); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(diags) != 3 {
		t.Fatalf("got %d diagnostics, want 3:\n%s", len(diags), r.stdout)
	}
	d := diags[0]
	if d.File != "testdata/three_errors.step" || d.Line != 9 || d.Col != 28 || d.End.Line != 9 || d.End.Col != 33 ||
		d.Message != "products has no column prise" || d.Hint != "did you mean price?" {
		t.Errorf("first diagnostic: %+v", d)
	}
	golden.Check(t, "testdata/check_three_errors.json.golden", r.stdout)

	ok := runStepq(t, repoRoot, "check", "-json", "examples/shop.step")
	ok.want(t, 0)
	if strings.TrimSpace(ok.stdout) != "[]" {
		t.Errorf("valid program: %q, want []", ok.stdout)
	}
}

// TestExplainJSON checks that explain -json describes every node with its
// id, operator, inputs, columns and parameters.
func TestExplainJSON(t *testing.T) {
	r := runStepq(t, repoRoot, "explain", "-json", "examples/shop.step")
	r.want(t, 0)
	var g struct {
		Inputs []struct{ Name string }
		Views  []struct {
			Name string
			Node int
		}
		Nodes []struct {
			ID         int
			Op         string
			Inputs     []int
			Columns    []struct{ Name, Type string }
			Parameters map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Inputs) != 2 || len(g.Views) != 2 || len(g.Nodes) == 0 {
		t.Fatalf("graph: %+v", g)
	}
	ops := map[string]bool{}
	for i, n := range g.Nodes {
		if n.ID != i {
			t.Errorf("node %d has id %d", i, n.ID)
		}
		for _, in := range n.Inputs {
			if in >= n.ID {
				t.Errorf("node %d reads node %d, which comes after it", n.ID, in)
			}
		}
		ops[n.Op] = true
		if n.Op == "join" && fmt.Sprint(n.Parameters["left_key"]) != "[product_name]" {
			t.Errorf("join parameters: %v", n.Parameters)
		}
	}
	for _, op := range []string{"source", "integrate", "delay", "join", "aggregate", "map"} {
		if !ops[op] {
			t.Errorf("no %s node", op)
		}
	}
	golden.Check(t, "testdata/explain_shop.json.golden", r.stdout)
}

// TestExplainDot checks the Graphviz output, and that dot (when
// installed) renders it.
func TestExplainDot(t *testing.T) {
	r := runStepq(t, repoRoot, "explain", "--dot", "examples/shop.step")
	r.want(t, 0)
	golden.Check(t, "testdata/explain_shop.dot.golden", r.stdout)
	if !strings.HasPrefix(r.stdout, "digraph circuit {") || !strings.Contains(r.stdout, "n6 -> n7;") {
		t.Errorf("not the circuit's graph:\n%s", r.stdout)
	}
	// The committed picture must be the current circuit's.
	committed := golden.Read(t, filepath.Join(repoRoot, "docs", "shop-circuit.dot"))
	if committed != r.stdout {
		t.Errorf("docs/shop-circuit.dot is out of date: regenerate it with stepq explain --dot examples/shop.step (and the PNG with dot -Tpng)")
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Log("no dot to render with; the text was checked")
		return
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = strings.NewReader(r.stdout)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<svg") {
		t.Errorf("dot could not render it: %v\n%s", err, out)
	}
}

// TestVersion checks the version line names stepq and Go.
func TestVersion(t *testing.T) {
	r := runStepq(t, ".", "version")
	r.want(t, 0)
	if !regexp.MustCompile(`^stepq \S+ .*go1\.\d+`).MatchString(r.stdout) || !strings.Contains(r.stdout, goruntime.GOOS+"/"+goruntime.GOARCH) {
		t.Errorf("version: %q", r.stdout)
	}
}

// TestCommandHelp checks that every command has --help, printed with
// status 0, and that help COMMAND shows the same.
func TestCommandHelp(t *testing.T) {
	for _, cmd := range []string{"check", "explain", "run", "repl", "watch", "status", "drop", "version"} {
		r := runStepq(t, ".", cmd, "--help")
		r.want(t, 0)
		if !strings.Contains(r.stderr, "Usage: stepq "+cmd) {
			t.Errorf("stepq %s --help: %q", cmd, r.stderr)
		}
		h := runStepq(t, ".", "help", cmd)
		h.want(t, 0)
		if h.stdout != r.stderr {
			t.Errorf("stepq help %s differs from stepq %s --help:\n%s\n---\n%s", cmd, cmd, h.stdout, r.stderr)
		}
	}
}

// TestMoreUsageErrors checks the new commands' misuse: status 2.
func TestMoreUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"watch", "examples/shop.step"}, "want FILE and VIEW, got 1"},
		{[]string{"watch", "examples/shop.step", "basket_totals"}, "watch needs --db URL"},
		{[]string{"status"}, "status needs --db URL"},
		{[]string{"status", "a.step", "b.step"}, "want at most one FILE, got 2"},
		{[]string{"repl", "a.step", "b.step"}, "want [FILE], got 2"},
		{[]string{"version", "extra"}, "want no arguments, got 1"},
		{[]string{"explain", "-json", "--dot", "examples/shop.step"}, "exclude each other"},
		{[]string{"chek", "examples/shop.step"}, `unknown command "chek" (did you mean check?)`},
		{[]string{"run", "--onec", "examples/shop.step"}, "stepq run: did you mean --once?"},
		{[]string{"status", "--sceham", "x"}, "stepq status: did you mean --schema?"},
	}
	for _, tt := range tests {
		r := runStepq(t, repoRoot, tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("stepq %s: status %d, stderr %q; want 2 and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}
}

// pgProgram sets up the shop tables in a test schema and returns a
// connection string using it and the name of a program schema, dropped
// when the test ends.
func pgProgram(t *testing.T) (dsn, progSchema string, exec func(sql string)) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	exec = func(sql string) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));
INSERT INTO products VALUES ('tv', 3.0), ('radio', 5.0);
INSERT INTO line_items VALUES (1, 'radio', 4), (1, 'tv', 1), (2, 'tv', 2);`)
	progSchema = schema + "_prog"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgtest.DSN())
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{progSchema}.Sanitize()+" CASCADE")
			conn.Close(context.Background())
		}
	})
	return pgtest.DSNWithSchema(schema), progSchema, exec
}

// TestWatchAndStatus runs the shop program against Postgres once, starts
// stepq watch, changes a price and applies it: watch prints exactly that
// step's changes to basket_totals. status then reports the steps, the
// changes applied, a pending change and the recent steps.
func TestWatchAndStatus(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	shop := "examples/shop.step"
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", shop).want(t, 0)

	watch := exec.Command(stepq, "watch", "--db", dsn, "--schema", prog, "--count", "1", shop, "basket_totals")
	watch.Dir = repoRoot
	var wout, werr strings.Builder
	watch.Stdout = &wout
	stderr, err := watch.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	// watch prints from the step after the last committed when it
	// starts: wait until it says which that is, or a step applied before
	// it looked would never be printed.
	lines := bufio.NewReader(stderr)
	started, _ := lines.ReadString('\n')
	werr.WriteString(started)
	if !strings.Contains(started, "after step 1;") {
		_ = watch.Process.Kill()
		rest, _ := io.ReadAll(lines)
		_ = watch.Wait()
		t.Fatalf("watch did not start after step 1:\n%s%s", started, rest)
	}
	done := make(chan error, 1)
	go func() {
		_, _ = io.Copy(&werr, lines) // Wait closes the pipe: read it all first
		done <- watch.Wait()
	}()
	sql("UPDATE products SET price = 4.0 WHERE name = 'tv'")
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", shop).want(t, 0)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v\n%s", err, werr.String())
		}
	case <-testwait.Expired(t):
		_ = watch.Process.Kill()
		<-done
		t.Fatalf("watch printed no step 2 before the test's deadline\nstdout:\n%s\nstderr:\n%s", wout.String(), werr.String())
	}
	want := `step 2: basket_totals
 basket_id | total | items | weight
-----------+-------+-------+--------
         1 |  23.0 |     2 |     -1
         1 |  24.0 |     2 |      1
         2 |   6.0 |     1 |     -1
         2 |   8.0 |     1 |      1
(4 rows)

`
	// First the view's rows as of the step it starts after.
	snapshot := `step 1: basket_totals (its rows)
 basket_id | total | items
-----------+-------+-------
         1 |  23.0 |     2
         2 |   6.0 |     1
(2 rows)

`
	if wout.String() != snapshot+want {
		t.Errorf("watch printed\n%s\nwant\n%s", wout.String(), snapshot+want)
	}

	// Step 2 was published, as a watcher listened: it can be replayed.
	// Step 1, the backfill, was not: no one listened.
	replay := runStepq(t, repoRoot, "watch", "--db", dsn, "--schema", prog, "--from", "2", "--count", "1", shop, "basket_totals")
	replay.want(t, 0)
	if replay.stdout != want {
		t.Errorf("watch --from 2 printed\n%s", replay.stdout)
	}
	old := runStepq(t, repoRoot, "watch", "--db", dsn, "--schema", prog, "--from", "1", shop, "basket_totals")
	if old.code != 1 || !strings.Contains(old.stderr, "the changes after step 0 are no longer kept (kept from step 2)") {
		t.Errorf("watch --from 1: %d %q", old.code, old.stderr)
	}

	sql("INSERT INTO line_items VALUES (3, 'radio', 1)")
	r := runStepq(t, repoRoot, "status", "--db", dsn, "--schema", prog, "-json", shop)
	r.want(t, 0)
	var st []struct {
		Schema          string     `json:"schema"`
		Version         string     `json:"version"`
		FileVersion     string     `json:"file_version"`
		Steps           int64      `json:"steps"`
		Applied         int64      `json:"changes_applied"`
		Pending         int64      `json:"pending"`
		OldestPendingAt *time.Time `json:"oldest_pending_at"`
		LagSeconds      float64    `json:"lag_seconds"`
		RunnerPID       int        `json:"runner_pid"`
		Recent          []struct {
			Step       int64   `json:"step"`
			DurationMS float64 `json:"duration_ms"`
			LogRows    int     `json:"log_rows"`
			Changes    int     `json:"changes"`
		} `json:"recent_steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(st) != 1 {
		t.Fatalf("status: %s", r.stdout)
	}
	s := st[0]
	// Step 1 applied the backfill (5 rows), step 2 the update (a delete
	// and an insert of the product).
	if s.Schema != prog || s.Steps != 2 || s.Applied != 7 || s.Pending != 1 || s.OldestPendingAt == nil || s.LagSeconds < 0 ||
		s.RunnerPID != 0 || s.Version == "" || s.Version != s.FileVersion {
		t.Errorf("status: %+v", s)
	}
	if len(s.Recent) != 2 || s.Recent[0].Step != 2 || s.Recent[0].LogRows != 2 || s.Recent[0].Changes != 8 ||
		s.Recent[1].Step != 1 || s.Recent[1].LogRows != 5 {
		t.Errorf("recent steps: %+v", s.Recent)
	}

	text := runStepq(t, repoRoot, "status", "--db", dsn, "--schema", prog, shop)
	text.want(t, 0)
	for _, want := range []string{"program " + prog, "applied:  2 steps, 7 changes", "pending:  1 changes; oldest captured", "runtime:  not running", "watchers: 0; step changes kept from step 2", "recent steps:"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, text.stdout)
		}
	}

	// Without a file or schema, status lists every installed program.
	all := runStepq(t, repoRoot, "status", "--db", dsn, "-json")
	all.want(t, 0)
	if !strings.Contains(all.stdout, `"schema": "`+prog+`"`) {
		t.Errorf("status of all programs lacks %s:\n%s", prog, all.stdout)
	}

	// watch of a view that is not an output fails, naming the outputs.
	bad := runStepq(t, repoRoot, "watch", "--db", dsn, "--schema", prog, shop, "nothing")
	if bad.code != 1 || !strings.Contains(bad.stderr, "outputs: basket_totals, receipts") {
		t.Errorf("watch of no output: %d %q", bad.code, bad.stderr)
	}
}

// TestRunDBConstants runs a program whose output is constants once on an
// idle database: nothing is logged, yet the first step must fill the
// output table, and later runs must not add the rows again.
func TestRunDBConstants(t *testing.T) {
	dsn, prog, _ := pgProgram(t)
	dir := t.TempDir()
	src := "view c = values [{x = 1}, {x = 2}]\noutput c to table c\n"
	if err := os.WriteFile(filepath.Join(dir, "c.step"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for run := 1; run <= 2; run++ {
		runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "c.step").want(t, 0)
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM c").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("after run %d, table c has %d rows, want 2", run, n)
		}
	}
}

// TestReplDB declares a source in the REPL against a live table: its
// rows are read, queries see them, changes are refused, and :refresh
// reads the table again.
func TestReplDB(t *testing.T) {
	dsn, _, sql := pgProgram(t)
	script := `source products = table products
products | where price > 4
insert into products {name = "x", price = 1}
:refresh
products | group { n = count() }
:tables
`
	run := func() string {
		cmd := exec.Command(stepq, "repl", "--db", dsn)
		cmd.Stdin = strings.NewReader(script)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	first := run()
	for _, want := range []string{
		"source products (name text, price numeric) primary key (name): 2 rows read",
		" radio |   5.0\n",
		"error at 1:13: products is a table of the database (change it with SQL, then :refresh)",
		"read products (2)",
		" 2\n(1 row)",
		" line_items | database table |",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("repl --db lacks %q:\n%s", want, first)
		}
	}
	sql("INSERT INTO products VALUES ('lamp', 7.5)")
	if second := run(); !strings.Contains(second, " 3\n(1 row)") {
		t.Errorf("after an insert the REPL does not see 3 products:\n%s", second)
	}
}

// TestRunDBAfterDrift renames a column a running program reads: run and
// status then say what changed and what to do, and status still shows
// the installed program.
func TestRunDBAfterDrift(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	root := filepath.Join("..", "..")
	runStepq(t, root, "run", "--db", dsn, "--schema", prog, "--once", "examples/shop.step").want(t, 0)
	sql("ALTER TABLE products RENAME COLUMN price TO cost; UPDATE products SET cost = 2")
	run := runStepq(t, root, "run", "--db", dsn, "--schema", prog, "--once", "examples/shop.step")
	for _, want := range []string{"table products in the database has no column price", "program " + prog + " is installed", "--rebuild"} {
		if run.code != 1 || !strings.Contains(run.stderr, want) {
			t.Errorf("run after the drift: status %d, stderr does not say %q:\n%s", run.code, want, run.stderr)
		}
	}
	status := runStepq(t, root, "status", "--db", dsn, "--schema", prog, "examples/shop.step")
	if !strings.Contains(status.stderr, "does not compile against the database") || !strings.Contains(status.stdout, "pending:  4 changes") {
		t.Errorf("status after the drift:\nstdout:\n%s\nstderr:\n%s", status.stdout, status.stderr)
	}
}

// TestRunDBRuntimeErrorShowsWhere makes a change that divides by zero
// in a program running against Postgres: run --once stops with status 1,
// printing where in the program it failed (file:line:col, the source line
// and a caret under the 100 / qty) and then the runner's failure, which
// names the change and says the position too.
func TestRunDBRuntimeErrorShowsWhere(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	dir := t.TempDir()
	src := "source line_items = table line_items\n" +
		"view per = line_items | select { basket_id, product_name, share = 100 / qty }\n" +
		"output per to table per\n"
	if err := os.WriteFile(filepath.Join(dir, "per.step"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "per.step").want(t, 0)
	sql("INSERT INTO line_items VALUES (3, 'tv', 0)")
	r := runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "per.step")
	r.want(t, 1)
	const where = "per.step:2:67: step 2: view per: division by zero\n" +
		"    view per = line_items | select { basket_id, product_name, share = 100 / qty }\n" +
		"                                                                      ^^^^^^^^^\n"
	if !strings.HasPrefix(r.stderr, where) {
		t.Errorf("stderr does not start with\n%s\ngot:\n%s", where, r.stderr)
	}
	rest := strings.TrimPrefix(r.stderr, where)
	for _, want := range []string{"stepq: program " + prog + " stopped in view per", `"qty":0`, "per.step:2:67: division by zero", "rolled back"} {
		if !strings.Contains(rest, want) {
			t.Errorf("the failure after the position does not say %q:\n%s", want, rest)
		}
	}
}

// TestRunDBApply changes the shop program's receipts and starts it
// again: without --apply it refuses, saying so; with it, it rebuilds
// receipts alone and the table holds the new receipts, kept up to date.
func TestRunDBApply(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	dir, src, write := shopCopy(t)
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop.step").want(t, 0)
	const old = `format("Basket id: %s total: $%s", basket_id, total)`
	if !strings.Contains(string(src), old) {
		t.Fatalf("examples/shop.step no longer holds %s", old)
	}
	write(strings.Replace(string(src), old, `format("basket %s: %s", basket_id, total)`, 1))

	refused := runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop.step")
	if refused.code != 1 || !strings.Contains(refused.stderr, "receipts changed") || !strings.Contains(refused.stderr, "--apply") {
		t.Fatalf("run of the changed program: exit %d\n%s", refused.code, refused.stderr)
	}
	applied := runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "--apply", "shop.step")
	applied.want(t, 0)
	for _, want := range []string{"keeping outputs [basket_totals]", "rebuilding outputs [receipts]", `replaced output table "` + prog + `"."receipts"`} {
		if !strings.Contains(applied.stderr, want) {
			t.Errorf("apply's messages lack %q:\n%s", want, applied.stderr)
		}
	}
	sql("UPDATE products SET price = 4.0 WHERE name = 'tv'")
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop.step").want(t, 0)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT receipt FROM "+pgx.Identifier{prog, "receipts"}.Sanitize()+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"basket 1: 24.0", "basket 2: 8.0"}; !slices.Equal(got, want) {
		t.Errorf("receipts: %q, want %q", got, want)
	}
}

// TestDatabaseFromEnvironment runs the commands that need a database with
// no --db: $DATABASE_URL, or libpq's PG* variables, name it.
func TestDatabaseFromEnvironment(t *testing.T) {
	dsn, prog, _ := pgProgram(t)
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "examples/shop.step").want(t, 0)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{
		{"DATABASE_URL=" + dsn},
		{"PGHOST=" + cfg.Host, "PGPORT=" + strconv.Itoa(int(cfg.Port)), "PGUSER=" + cfg.User, "PGDATABASE=" + cfg.Database},
	} {
		st := runStepqEnv(t, repoRoot, env, "status", "--schema", prog)
		st.want(t, 0)
		if !strings.Contains(st.stdout, "program "+prog) {
			t.Errorf("status with %v:\n%s", env, st.stdout)
		}
	}
}

// TestWatchNeverRun watches a program that was never run: it says so,
// and how to start it.
func TestWatchNeverRun(t *testing.T) {
	dsn, prog, _ := pgProgram(t)
	r := runStepq(t, repoRoot, "watch", "--db", dsn, "--schema", prog, "examples/shop.step", "basket_totals")
	if r.code != 1 || !strings.Contains(r.stderr, "examples/shop.step has not been run in schema "+prog) || !strings.Contains(r.stderr, "stepq run --db URL examples/shop.step") {
		t.Errorf("watch of a program never run: %d\n%s", r.code, r.stderr)
	}
}

// TestRunWaits runs --once where it must wait: for a database that
// cannot be reached, and for the program's lock another runtime holds.
// With --wait it gives up after that long, saying why; interrupted while
// waiting, it says so.
func TestRunWaits(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "postgres://postgres@" + l.Addr().String() + "/postgres"
	l.Close()
	down := runStepq(t, repoRoot, "run", "--db", closed, "--once", "--wait", "300ms", "examples/shop.step")
	if down.code != 1 || !strings.Contains(down.stderr, "the database cannot be reached") || !strings.Contains(down.stderr, "trying again in") {
		t.Errorf("run with the database down: %d\n%s", down.code, down.stderr)
	}

	dsn, prog, _ := pgProgram(t)
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "examples/shop.step").want(t, 0)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	holder := &postgres.Runner{Pool: pool, Schema: prog}
	release, err := holder.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	held := runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "--wait", "200ms", "examples/shop.step")
	if held.code != 1 || !strings.Contains(held.stderr, "gave up after 200ms") || !strings.Contains(held.stderr, "Postgres backend pid") {
		t.Errorf("run while another runtime holds the program: %d\n%s", held.code, held.stderr)
	}

	// Interrupted while it waits for the lock.
	cmd := exec.Command(stepq, "run", "--db", dsn, "--schema", prog, "--once", "examples/shop.step")
	cmd.Dir = repoRoot
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var said strings.Builder
	for lines.Scan() {
		said.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "waiting for it to stop") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		said.WriteString(lines.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(said.String(), "stepq: interrupted") || strings.Contains(said.String(), "context canceled") {
		t.Errorf("run interrupted while waiting: %v\n%s", err, said.String())
	}
}

// TestRunLogging applies a backlog of many small transactions: the run
// reports its progress in a line or two, not one per batch; with
// --log-format json each message is a slog record; with -q nothing but
// what stops or waits is said.
func TestRunLogging(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "examples/shop.step").want(t, 0)
	backlog := func() {
		var b strings.Builder
		b.WriteString("DO $$ BEGIN FOR i IN 100..399 LOOP INSERT INTO line_items VALUES (i, 'tv', 1); COMMIT; END LOOP; END $$")
		sql(b.String())
	}
	backlog()
	plain := runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "--batch", "10", "examples/shop.step")
	plain.want(t, 0)
	if !strings.Contains(plain.stderr, "backlog: 300 changes applied") || !strings.Contains(plain.stderr, "caught up") || strings.Count(plain.stderr, "\n") > 3 {
		t.Errorf("plain progress of a backlog:\n%s", plain.stderr)
	}

	sql("DELETE FROM line_items WHERE basket_id >= 100")
	js := runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "-v", "--log-format", "json", "examples/shop.step")
	js.want(t, 0)
	lines := strings.Split(strings.TrimSpace(js.stderr), "\n")
	for _, l := range lines {
		var rec struct {
			Time    time.Time `json:"time"`
			Level   string    `json:"level"`
			Msg     string    `json:"msg"`
			Program string    `json:"program"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Time.IsZero() || rec.Level == "" || rec.Program != prog {
			t.Errorf("not a slog JSON record of the program: %q (%v)", l, err)
		}
	}
	if !strings.Contains(js.stderr, `"level":"DEBUG","msg":"step `) {
		t.Errorf("-v logs no step:\n%s", js.stderr)
	}

	backlog()
	quiet := runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", "--batch", "10", "-q", "examples/shop.step")
	quiet.want(t, 0)
	if quiet.stderr != "" {
		t.Errorf("-q said:\n%s", quiet.stderr)
	}
}

// TestRunFormats prints the shop example's outputs and changes for
// programs: JSON lines and CSV; flags that do not apply are said to be
// ignored.
func TestRunFormats(t *testing.T) {
	jsonl := runStepq(t, repoRoot, "run", "--format", "jsonl", "examples/shop.step")
	jsonl.want(t, 0)
	if want := `{"view":"basket_totals","row":{"basket_id":1,"total":"24.0","items":2}}` + "\n"; !strings.HasPrefix(jsonl.stdout, want) {
		t.Errorf("run --format jsonl:\n%s", jsonl.stdout)
	}
	changes := runStepq(t, repoRoot, "run", "--format", "jsonl", "--changes", "examples/shop.step")
	changes.want(t, 0)
	for _, l := range strings.Split(strings.TrimSpace(changes.stdout), "\n") {
		var c struct {
			Step   int64          `json:"step"`
			View   string         `json:"view"`
			Weight int64          `json:"weight"`
			Row    map[string]any `json:"row"`
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil || c.Step == 0 || c.View == "" || c.Weight == 0 || len(c.Row) == 0 {
			t.Errorf("not a change: %q (%v)", l, err)
		}
	}
	csvOut := runStepq(t, repoRoot, "run", "--format", "csv", "--changes", "examples/shop.step")
	csvOut.want(t, 0)
	if !strings.HasPrefix(csvOut.stdout, "step,view,weight,basket_id,total,items\n1,basket_totals,1,1,23.0,2\n") {
		t.Errorf("run --format csv --changes:\n%s", csvOut.stdout)
	}
	ignored := runStepq(t, repoRoot, "run", "--once", "examples/shop.step")
	ignored.want(t, 0)
	if !strings.Contains(ignored.stderr, "--once applies only with --db; ignored") {
		t.Errorf("run --once without --db: %q", ignored.stderr)
	}
	bad := runStepq(t, repoRoot, "run", "--format", "xml", "examples/shop.step")
	if bad.code != 2 || !strings.Contains(bad.stderr, "--format wants aligned, jsonl or csv") {
		t.Errorf("run --format xml: %d %q", bad.code, bad.stderr)
	}
}

// TestExplainJSONErrors explains a program with errors as JSON: the
// errors are printed as JSON, as check --json prints them.
func TestExplainJSONErrors(t *testing.T) {
	r := runStepq(t, ".", "explain", "--json", "testdata/three_errors.step")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var got struct {
		Errors []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got.Errors) != 3 || got.Errors[0].Line == 0 {
		t.Errorf("explain --json of a program with errors: %v\n%s", err, r.stdout)
	}
}

// TestReplRefreshShowsChanges changes a table with SQL under the REPL:
// :refresh reads it again and shows what that did to each view.
func TestReplRefreshShowsChanges(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL); INSERT INTO products VALUES ('tv', 3.0), ('radio', 5.0)"); err != nil {
		t.Fatal(err)
	}
	var out, errw strings.Builder
	s := newSession(ctx, &out, &errw, pool)
	s.run("source products = table products")
	s.run("view cheap = products | where price < 4")
	if _, err := pool.Exec(ctx, "INSERT INTO products VALUES ('lamp', 2.5); UPDATE products SET price = 6 WHERE name = 'tv'"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	s.run(":refresh")
	want := `read products (3)
cheap changed:
 name | price | weight
------+-------+--------
 lamp |   2.5 |      1
 tv   |   3.0 |     -1
(2 rows)
`
	if out.String() != want || errw.Len() > 0 {
		t.Errorf(":refresh printed\n%s\n%s\nwant\n%s", out.String(), errw.String(), want)
	}
}

// TestUsageListsEveryFlag checks that stepq help names every flag of
// every command, as its --help lists them.
func TestUsageListsEveryFlag(t *testing.T) {
	help := runStepq(t, ".", "help")
	help.want(t, 0)
	flagName := regexp.MustCompile(`(?m)^  (--?[a-z][a-z-]*)`)
	for _, cmd := range []string{"check", "lock", "plan", "explain", "run", "repl", "watch", "status", "serve", "drop", "gen", "version"} {
		args := []string{cmd, "--help"}
		if cmd == "gen" {
			args = []string{"gen", "go", "--help"}
		}
		r := runStepq(t, ".", args...)
		for _, m := range flagName.FindAllStringSubmatch(r.stderr, -1) {
			name := strings.TrimLeft(m[1], "-")
			spelt := "--" + name
			if len(name) == 1 {
				spelt = "-" + name
			}
			if !regexp.MustCompile(`(^|[\[ |])` + regexp.QuoteMeta(spelt) + `\b`).MatchString(help.stdout) {
				t.Errorf("stepq help does not name %s %s", cmd, spelt)
			}
		}
	}
}

// TestStatusWatermark runs a program whose source declares a watermark
// against Postgres: status shows the watermark and the late changes, in
// text and in JSON.
func TestStatusWatermark(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	sql(`CREATE TABLE clicks (id int8 PRIMARY KEY, at timestamp NOT NULL);
INSERT INTO clicks VALUES (1, '2024-03-01 10:00'), (2, '2024-03-01 10:30')`)
	file := filepath.Join(t.TempDir(), "clicks.step")
	src := `source clicks = table clicks (id int8, at timestamp, primary key (id))
  watermark at - interval "5 minutes"
view per_minute = clicks | group by minute = date_trunc("minute", at) { n = count() }
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", file).want(t, 0)
	sql(`INSERT INTO clicks VALUES (3, '2024-03-01 10:20'), (4, '2024-03-01 10:40')`)
	runStepq(t, repoRoot, "run", "--db", dsn, "--schema", prog, "--once", file).want(t, 0)
	text := runStepq(t, repoRoot, "status", "--db", dsn, "--schema", prog, file)
	text.want(t, 0)
	if want := "  watermark: clicks.at at 2024-03-01 10:35:00 (lateness 5m0s); 1 late changes dropped\n"; !strings.Contains(text.stdout, want) {
		t.Errorf("status printed\n%s\nwant a line\n%s", text.stdout, want)
	}
	r := runStepq(t, repoRoot, "status", "--db", dsn, "--schema", prog, "--json", file)
	r.want(t, 0)
	var st []struct {
		Watermarks []struct {
			Table, Column   string
			LatenessSeconds float64    `json:"lateness_seconds"`
			Watermark       *time.Time `json:"watermark"`
			Late            int64      `json:"late"`
		} `json:"watermarks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(st) != 1 || len(st[0].Watermarks) != 1 {
		t.Fatalf("status: %s", r.stdout)
	}
	w := st[0].Watermarks[0]
	if w.Table != "clicks" || w.Column != "at" || w.LatenessSeconds != 300 || w.Watermark == nil ||
		!w.Watermark.Equal(time.Date(2024, 3, 1, 10, 35, 0, 0, time.UTC)) || w.Late != 1 {
		t.Errorf("watermark %+v", w)
	}
}
