package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/internal/pgtest"
)

// TestPlanDB plans a three-view program against what stepq run --db
// deployed: nothing deployed, the same program, one view edited, and a
// program installed without its lock (as by an older stepq). Each plan
// is compared with its golden file, with the program's schema written
// PROG, and must leave the database as it found it.
func TestPlanDB(t *testing.T) {
	src, err := os.ReadFile("testdata/plandb/shop3.step")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "items = count()", "items = count(), qty = sum(line_items.qty)", 1)
	if edited == string(src) {
		t.Fatal("the edit changes nothing")
	}
	cases := []struct {
		name    string
		install bool   // run the program once before planning
		unlock  bool   // then forget its lock, as an older stepq installed it
		plan    string // the program planned
	}{
		{"not_installed", false, false, string(src)},
		{"unchanged", true, false, string(src)},
		{"one_view_changed", true, false, edited},
		{"no_lock_recorded", true, true, string(src)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn, prog, _ := pgProgram(t)
			dir := t.TempDir()
			write := func(text string) {
				if err := os.WriteFile(filepath.Join(dir, "shop3.step"), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(string(src))
			if c.install {
				runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop3.step").want(t, 0)
			}
			if c.unlock {
				metaExec(t, "DELETE FROM "+pgx.Identifier{prog, "_meta"}.Sanitize()+" WHERE key = 'lock'")
			}
			before := metaText(t, prog)
			write(c.plan)
			r := runStepq(t, dir, "plan", "--db", dsn, "--schema", prog, "shop3.step")
			r.want(t, 0)
			golden.Check(t, "testdata/plandb/"+c.name+".golden", maskPlan(r.stdout, prog))
			if after := metaText(t, prog); after != before {
				t.Errorf("plan changed the program's _meta:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestPlanDBJSON checks plan --db -json after one view was edited: the
// plan's lists and the source rows each rebuild reads.
func TestPlanDBJSON(t *testing.T) {
	dsn, prog, sql := pgProgram(t)
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/plandb/shop3.step")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "shop3.step")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "shop3.step").want(t, 0)
	sql("INSERT INTO line_items VALUES (3, 'radio', 1)") // rows captured since count too
	edited := strings.Replace(string(src), "$%s", "€%s", 1)
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runStepq(t, dir, "plan", "--db", dsn, "--schema", prog, "-json", "shop3.step")
	r.want(t, 0)
	var plan struct {
		Schema, Deployed        string
		Rebuild, Replaced, Live []string
		Reads                   []struct {
			View    string
			Rows    int64
			Sources map[string]int64
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	got := strings.Join([]string{plan.Schema, plan.Deployed, strings.Join(plan.Rebuild, ","), strings.Join(plan.Replaced, ","), strings.Join(plan.Live, ",")}, " | ")
	if want := prog + " | installed | receipts | receipts | basket_totals,cheap"; got != want {
		t.Errorf("plan: %s, want %s", got, want)
	}
	// receipts reads no source directly: through basket_totals, both.
	if len(plan.Reads) != 1 || plan.Reads[0].View != "receipts" || plan.Reads[0].Rows != 6 ||
		plan.Reads[0].Sources["line_items"] != 4 || plan.Reads[0].Sources["products"] != 2 {
		t.Errorf("reads: %+v, want receipts: 6 (line_items 4, products 2)", plan.Reads)
	}
}

// viewVersion matches a view's version in a lock line: it hashes the
// names of the source tables too, whose schema is the test's own.
var viewVersion = regexp.MustCompile(`( version )[0-9a-f]{16}$`)

// maskPlan writes the test's program schema as PROG and view versions as
// HASH, which differ from run to run.
func maskPlan(out, prog string) string {
	lines := strings.Split(strings.ReplaceAll(out, prog, "PROG"), "\n")
	for i, l := range lines {
		lines[i] = viewVersion.ReplaceAllString(l, "${1}HASH")
	}
	return strings.Join(lines, "\n")
}

// metaExec runs a statement on the test server as its administrator.
func metaExec(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// metaText is the program's _meta as text, or "" when the program's
// schema holds none: what a read-only plan must leave as it is.
func metaText(t *testing.T, prog string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var text string
	err = conn.QueryRow(context.Background(),
		"SELECT CASE WHEN to_regclass($1) IS NULL THEN '' ELSE query_to_xml('SELECT * FROM '||$1||' ORDER BY key', false, false, '')::text END",
		pgx.Identifier{prog, "_meta"}.Sanitize()).Scan(&text)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestPlanDBSourceChanges plans a program of sources typed from the
// catalog after its source tables changed under it: a column added that
// no view uses rebuilds nothing; a program that starts using it rebuilds
// the view that does and the view downstream; a column dropped or
// retyped that a view uses fails the plan, naming the column, the table
// and the deployed views it breaks. Each output is compared with its
// golden file, the schemas written PROG and SRC.
func TestPlanDBSourceChanges(t *testing.T) {
	src, err := os.ReadFile("testdata/plandb/sources.step")
	if err != nil {
		t.Fatal(err)
	}
	uses := strings.Replace(string(src), "  line_items\n  | join", "  line_items\n  | where note != \"gift\"\n  | join", 1)
	if uses == string(src) {
		t.Fatal("the edit changes nothing")
	}
	cases := []struct {
		name, alter, plan string
		code              int
	}{
		{"column_added_unused", "ALTER TABLE line_items ADD COLUMN note text", string(src), 0},
		{"column_added_used", "ALTER TABLE line_items ADD COLUMN note text", uses, 0},
		{"column_dropped", "ALTER TABLE line_items DROP COLUMN qty", string(src), 1},
		{"column_retyped", "ALTER TABLE products ALTER COLUMN price TYPE text", string(src), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn, prog, sql := pgProgram(t)
			dir := t.TempDir()
			write := func(text string) {
				if err := os.WriteFile(filepath.Join(dir, "sources.step"), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(string(src))
			runStepq(t, dir, "run", "--db", dsn, "--schema", prog, "--once", "sources.step").want(t, 0)
			sql(c.alter)
			write(c.plan)
			r := runStepq(t, dir, "plan", "--db", dsn, "--schema", prog, "sources.step")
			r.want(t, c.code)
			out := r.stdout
			if c.code != 0 {
				out = r.stderr
			}
			out = strings.ReplaceAll(maskPlan(out, prog), strings.TrimSuffix(prog, "_prog")+".", "SRC.")
			golden.Check(t, "testdata/plandb/"+c.name+".golden", out)
		})
	}
}
