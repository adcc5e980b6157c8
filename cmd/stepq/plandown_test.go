package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/internal/pgtest"
)

// downstreamSetup installs shop3.step in schema PROG and, reading its
// output tables as sources, big.step (basket_totals, a table of the
// search path) in schema SRC_big and cheap_names.step (PROG.cheap, in
// the program's own schema) in SRC_cheap. It returns the directory of
// the programs, the connection URL, PROG, and a function that masks the
// schemas in a plan's output.
func downstreamSetup(t *testing.T) (dir, dsn, prog string, mask func(string) string) {
	t.Helper()
	dsn, prog, sql := pgProgram(t)
	base := strings.TrimSuffix(prog, "_prog")
	dir = t.TempDir()
	for _, f := range []string{"plandb/shop3.step", "plandown/big.step", "plandown/cheap_names.step"} {
		src, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(src), "PROG", prog)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop3.step").want(t, 0)
	for _, p := range []string{"big", "cheap"} {
		schema := base + "_" + p
		t.Cleanup(func() {
			metaExec(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		})
	}
	runStepq(t, dir, "run", "--db", dsn, "--schema", base+"_big", "--once", "big.step").want(t, 0)
	runStepq(t, dir, "run", "--db", dsn, "--schema", base+"_cheap", "--once", "cheap_names.step").want(t, 0)
	// A change flows from shop3's source through its output into big's.
	sql("INSERT INTO line_items VALUES (3, 'radio', 3)")
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop3.step").want(t, 0)
	runStepq(t, dir, "run", "--db", dsn, "--schema", base+"_big", "--once", "big.step").want(t, 0)
	var n int
	metaScan(t, "SELECT count(*) FROM "+pgx.Identifier{base + "_big", "big"}.Sanitize()+" WHERE basket_id = 3 AND total = 15.0", &n)
	if n != 1 {
		t.Fatalf("basket 3 (total 15.0) did not reach big.step's output through shop3's")
	}
	mask = func(out string) string {
		return strings.ReplaceAll(maskPlan(out, prog), base, "SRC")
	}
	return dir, dsn, prog, mask
}

// TestPlanDBDownstream plans changes of a program whose output tables
// two other installed programs read: unchanged, which affects none; one
// view edited, which replaces basket_totals and receipts and so affects
// the program reading basket_totals and none other; and an output
// that a program reads removed, or moved to another table, which warns. Each plan is compared with
// its golden file.
func TestPlanDBDownstream(t *testing.T) {
	src, err := os.ReadFile("testdata/plandb/shop3.step")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "items = count()", "items = count(), qty = sum(line_items.qty)", 1)
	removed := strings.Replace(string(src), "output cheap\n", "", 1)
	moved := strings.Replace(string(src), "output cheap\n", "output cheap to table cheap_v2\n", 1)
	if edited == string(src) || removed == string(src) || moved == string(src) {
		t.Fatal("an edit changes nothing")
	}
	cases := []struct {
		name, plan, warning string
	}{
		{"unchanged", string(src), ""},
		{"one_view_changed", edited, ""},
		{"output_removed", removed, "stepq: warning: program in schema SRC_cheap reads table PROG.cheap, which this plan drops\n"},
		{"output_moved", moved, "stepq: warning: program in schema SRC_cheap reads table PROG.cheap, which this plan drops\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, dsn, prog, mask := downstreamSetup(t)
			if err := os.WriteFile(filepath.Join(dir, "shop3.step"), []byte(c.plan), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runStepq(t, dir, "plan", "--db", dsn, "--schema", prog, "shop3.step")
			r.want(t, 0)
			golden.Check(t, "testdata/plandown/"+c.name+".golden", mask(r.stdout))
			if got := mask(r.stderr); got != c.warning {
				t.Errorf("stderr: %q, want %q", got, c.warning)
			}
		})
	}
}

// TestPlanDBDownstreamJSON checks plan --db -json's downstream field
// when a view is edited and an output another program reads removed.
func TestPlanDBDownstreamJSON(t *testing.T) {
	dir, dsn, prog, mask := downstreamSetup(t)
	src, err := os.ReadFile(filepath.Join(dir, "shop3.step"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "items = count()", "items = count(), qty = sum(line_items.qty)", 1)
	edited = strings.Replace(edited, "output cheap\n", "", 1)
	if err := os.WriteFile(filepath.Join(dir, "shop3.step"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runStepq(t, dir, "plan", "--db", dsn, "--schema", prog, "-json", "shop3.step")
	r.want(t, 0)
	var plan struct {
		Downstream []downstreamRead
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var got []string
	for _, d := range plan.Downstream {
		got = append(got, mask(strings.Join([]string{d.Schema, d.Source, strings.Join(d.Views, ","), d.Table, d.Output, d.Effect}, " ")))
	}
	want := []string{
		"SRC_big totals big,bigger SRC.basket_totals basket_totals replaced",
		"SRC_cheap cheap names PROG.cheap cheap dropped",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("downstream:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := "stepq: warning: program in schema SRC_cheap reads table PROG.cheap, which this plan drops\n"; mask(r.stderr) != w {
		t.Errorf("stderr: %q, want %q", mask(r.stderr), w)
	}
}

// metaScan runs a query on the test server as its administrator and
// scans its one row.
func metaScan(t *testing.T, sql string, dest ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestDownstreamAdvice follows the plan's advice for a program reading
// an output table the plan replaces: run --apply refuses while that
// program's capture triggers are on the table, naming them; after that
// program is dropped with its outputs, the apply goes through, and the
// program run again reads the new table and follows it. --rebuild,
// which drops every output table, warns of the reader, which then
// refuses to start until it is installed again.
func TestDownstreamAdvice(t *testing.T) {
	dir, dsn, prog, _ := downstreamSetup(t)
	base := strings.TrimSuffix(prog, "_prog")
	big, totals := base+"_big", pgx.Identifier{base, "basket_totals"}.Sanitize()
	src, err := os.ReadFile(filepath.Join(dir, "shop3.step"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "items = count()", "items = count(), qty = sum(line_items.qty)", 1)
	if err := os.WriteFile(filepath.Join(dir, "shop3.step"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "--apply", "shop3.step")
	if refused.code != 1 || !strings.Contains(refused.stderr, "the program in schema "+big+", which reads it as source") {
		t.Fatalf("applying under a downstream program: status %d\n%s", refused.code, refused.stderr)
	}
	runStepq(t, dir, "drop", "--db", dsn, "--schema", big, "--outputs", "big.step").want(t, 0)
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "--apply", "shop3.step").want(t, 0)
	runStepq(t, dir, "run", "--db", dsn, "--schema", big, "--once", "big.step").want(t, 0)
	checkBig := func(when string) {
		t.Helper()
		var differ bool
		metaScan(t, `SELECT EXISTS (SELECT basket_id, total FROM `+pgx.Identifier{big, "big"}.Sanitize()+`
  EXCEPT ALL SELECT basket_id, total FROM `+totals+` WHERE total > 5.0)
OR EXISTS (SELECT basket_id, total FROM `+totals+` WHERE total > 5.0
  EXCEPT ALL SELECT basket_id, total FROM `+pgx.Identifier{big, "big"}.Sanitize()+`)`, &differ)
		if differ {
			t.Fatalf("%s: big.step's output differs from shop3's basket_totals over 5.0", when)
		}
	}
	checkBig("installed again")

	// --rebuild drops every output table, warning of the reader.
	edited = strings.Replace(edited, "$%s", "€%s", 1)
	if err := os.WriteFile(filepath.Join(dir, "shop3.step"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	rebuilt := runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "--rebuild", "shop3.step")
	rebuilt.want(t, 0)
	if want := "warning: program in schema " + big + " reads output table "; !strings.Contains(rebuilt.stderr, want) {
		t.Errorf("--rebuild did not warn of the program reading its output:\n%s", rebuilt.stderr)
	}
	stale := runStepq(t, dir, "run", "--db", dsn, "--schema", big, "--once", "big.step")
	if stale.code != 1 || !strings.Contains(stale.stderr, "has lost the program's capture triggers") {
		t.Fatalf("a program whose source lost its triggers started: status %d\n%s", stale.code, stale.stderr)
	}
	runStepq(t, dir, "drop", "--db", dsn, "--schema", big, "--outputs", "big.step").want(t, 0)
	runStepq(t, dir, "run", "--db", dsn, "--schema", big, "--once", "big.step").want(t, 0)
	checkBig("installed again after --rebuild")
}
