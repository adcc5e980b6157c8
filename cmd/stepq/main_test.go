package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
)

// stepq is the path of the binary built once for all tests.
var stepq string

// repoRoot is where the examples are, relative to this package.
const repoRoot = "../.."

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "stepq-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stepq = filepath.Join(dir, "stepq")
	build := exec.Command("go", "build", "-o", stepq, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building stepq:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// runStepq runs the binary in dir with args and no standard input.
func runStepq(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runStepqEnv(t, dir, nil, args...)
}

// runStepqEnv runs stepq with the environment of the test, less the
// variables that name a default database (a test says which database it
// means), plus env.
func runStepqEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(stepq, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running stepq %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

var diagLine = regexp.MustCompile(`^testdata/three_errors\.step:(\d+):(\d+): `)

// TestCheckReportsEveryError checks a file with three different errors:
// all three are printed with file:line:col, source line and carets, and
// the exit status is 1.
func TestCheckReportsEveryError(t *testing.T) {
	r := runStepq(t, ".", "check", "testdata/three_errors.step")
	r.want(t, 1)
	if r.stdout != "" {
		t.Errorf("stdout: %q, want nothing", r.stdout)
	}
	var diags, carets int
	for _, line := range strings.Split(r.stderr, "\n") {
		if diagLine.MatchString(line) {
			diags++
		}
		if strings.HasPrefix(line, "    ") && strings.Trim(line, " ^") == "" && strings.Contains(line, "^") {
			carets++
		}
	}
	if diags != 3 || carets != 3 {
		t.Errorf("got %d diagnostics and %d caret lines, want 3 and 3:\n%s", diags, carets, r.stderr)
	}
	for _, want := range []string{
		"testdata/three_errors.step:9:28: products has no column prise (did you mean price?)",
		"testdata/three_errors.step:13:43: operator + is not defined on text and int4",
		"testdata/three_errors.step:15:44: unknown function uper (did you mean upper?)",
	} {
		if !strings.Contains(r.stderr, want+"\n") {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	golden.Check(t, "testdata/check_three_errors.golden", r.stderr)
}

// TestCheckValid checks that a valid program passes silently.
func TestCheckValid(t *testing.T) {
	r := runStepq(t, repoRoot, "check", "examples/shop.step")
	r.want(t, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("stepq check printed\nstdout: %q\nstderr: %q\nwant nothing", r.stdout, r.stderr)
	}
}

// TestRunShop runs the shop example: its outputs must be exactly
// examples/shop/expected.txt, the results the shop example promises.
func TestRunShop(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "examples/shop.step")
	r.want(t, 0)
	if r.stderr != "" {
		t.Errorf("stderr: %q, want nothing", r.stderr)
	}
	for _, want := range []string{
		"         1 |  24.0 |     2",
		"         2 |   8.0 |     1",
		" Basket id: 1 total: $24.0",
		" Basket id: 2 total: $8.0",
	} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("output lacks the line %q:\n%s", want, r.stdout)
		}
	}
	want, err := os.ReadFile(filepath.Join(repoRoot, "examples", "shop", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("stepq run examples/shop.step differs from examples/shop/expected.txt\n--- got\n%s\n--- want\n%s", r.stdout, want)
	}
}

// TestRunWorkers checks that stepq run prints the same outputs on one
// worker and on four, and refuses no worker at all.
func TestRunWorkers(t *testing.T) {
	one := runStepq(t, repoRoot, "run", "--workers", "1", "examples/shop.step")
	one.want(t, 0)
	four := runStepq(t, repoRoot, "run", "--workers", "4", "examples/shop.step")
	four.want(t, 0)
	if four.stdout != one.stdout || four.stderr != "" {
		t.Errorf("on four workers:\n%s%s\non one:\n%s", four.stdout, four.stderr, one.stdout)
	}
	runStepq(t, repoRoot, "run", "--workers", "0", "examples/shop.step").want(t, 2)
}

// TestRunConstantsWithoutData checks that an output of constants holds
// its rows when there is no data at all: no step has changes, yet the
// output must equal its query.
func TestRunConstantsWithoutData(t *testing.T) {
	dir := t.TempDir()
	src := "view c = values [{x = 1}, {x = 2}]\noutput c to table c\n"
	if err := os.WriteFile(filepath.Join(dir, "c.step"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "c.step"}, {"run", "--changes", "c.step"}} {
		r := runStepq(t, dir, args...)
		r.want(t, 0)
		if !strings.Contains(r.stdout, "(2 rows)") {
			t.Errorf("stepq %s printed\n%s\nwant the 2 rows of c", strings.Join(args, " "), r.stdout)
		}
	}
}

// TestRunFlagsAfterFile checks that flags may follow the file, as in
// the spec's "stepq run examples/shop.step --changes".
func TestRunFlagsAfterFile(t *testing.T) {
	before := runStepq(t, repoRoot, "run", "--changes", "examples/shop.step")
	after := runStepq(t, repoRoot, "run", "examples/shop.step", "--changes")
	before.want(t, 0)
	after.want(t, 0)
	if before.stdout != after.stdout {
		t.Errorf("--changes before and after the file differ:\n%s\n---\n%s", before.stdout, after.stdout)
	}
}

// TestRunChanges checks the per-step changes of the shop example.
func TestRunChanges(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "examples/shop.step", "--changes")
	r.want(t, 0)
	// Step 2 raises the price of the tv: both baskets change.
	for _, want := range []string{
		"         1 |  23.0 |     2 |     -1",
		"         1 |  24.0 |     2 |      1",
		"         2 |   6.0 |     1 |     -1",
		"         2 |   8.0 |     1 |      1",
	} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("output lacks the line %q:\n%s", want, r.stdout)
		}
	}
	golden.Check(t, "testdata/run_shop_changes.golden", r.stdout)
}

// TestRunDashboard runs the dashboard example, whose _clock.csv moves the
// clock: in step 3 only the clock moves, and an event leaves the window.
func TestRunDashboard(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "examples/dashboard.step", "--changes")
	r.want(t, 0)
	const step3 = `step 3: daily
 category |         day         | events | total | weight
----------+---------------------+--------+-------+--------
 games    | 2024-03-02 00:00:00 |      1 | 59.99 |     -1
(1 row)
`
	if !strings.Contains(r.stdout, step3) {
		t.Errorf("step 3 does not retract just the games event that left the window:\n%s", r.stdout)
	}
	golden.Check(t, "testdata/run_dashboard_changes.golden", r.stdout)
	final := runStepq(t, repoRoot, "run", "examples/dashboard.step")
	final.want(t, 0)
	want, err := os.ReadFile(filepath.Join(repoRoot, "examples", "dashboard", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if final.stdout != string(want) {
		t.Errorf("stepq run examples/dashboard.step differs from examples/dashboard/expected.txt\n--- got\n%s\n--- want\n%s", final.stdout, want)
	}
}

// TestRunClockJSONL runs the dashboard with its clock in JSON Lines, with
// times written in other zones: the outputs are the same.
func TestRunClockJSONL(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "--data", "cmd/stepq/testdata/dashboard_jsonl", "examples/dashboard.step")
	r.want(t, 0)
	want, err := os.ReadFile(filepath.Join(repoRoot, "examples", "dashboard", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
	}
}

// TestRunClockErrors checks that a _clock file that leaves a step without
// a clock, or sets one step twice, is an error naming the file.
func TestRunClockErrors(t *testing.T) {
	for _, tc := range []struct{ clock, want string }{
		{"_step,now\n2,2024-03-01 00:00:00+00\n", "step 1 has no clock"},
		{"_step,now\n1,2024-03-01 00:00:00+00\n1,2024-03-02 00:00:00+00\n", "_clock.csv:3: the clock of step 1 is set twice"},
		{"_step,now\n1,yesterday\n", "_clock.csv:2: now: invalid input for type timestamptz"},
		{"_step,when\n", "the clock file has the columns _step and now, not when"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "_clock.csv"), []byte(tc.clock), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "events.csv"), []byte("id,category,at,amount\n1,a,2024-03-01 00:00:00,1.00\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runStepq(t, repoRoot, "run", "--data", dir, "examples/dashboard.step")
		r.want(t, 1)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("clock file %q: stderr %q lacks %q", tc.clock, r.stderr, tc.want)
		}
	}
}

// TestRunJSONL runs the shop program on JSON Lines data (with _step,
// _op update and delete) that ends in the same state as the CSV data.
func TestRunJSONL(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "--data", "cmd/stepq/testdata/jsonl", "examples/shop.step")
	r.want(t, 0)
	want, err := os.ReadFile(filepath.Join(repoRoot, "examples", "shop", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
	}
}

// TestExplain checks the circuit printed for the shop example.
func TestExplain(t *testing.T) {
	r := runStepq(t, repoRoot, "explain", "examples/shop.step")
	r.want(t, 0)
	if r.stderr != "" {
		t.Errorf("stderr: %q, want nothing", r.stderr)
	}
	golden.Check(t, "testdata/explain_shop.golden", r.stdout)
}

// TestUsageErrors checks that misuse exits with status 2 and says why.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate", "examples/shop.step"}, `unknown command "frobnicate"`},
		{[]string{"check"}, "want one FILE, got 0"},
		{[]string{"explain"}, "want one FILE, got 0"},
		{[]string{"run"}, "want one FILE, got 0"},
		{[]string{"check", "examples/shop.step", "examples/shop.step"}, "want one FILE, got 2"},
		{[]string{"run", "--bogus", "examples/shop.step"}, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		r := runStepq(t, repoRoot, tt.args...)
		if r.code != 2 {
			t.Errorf("stepq %s: exit status %d, want 2", strings.Join(tt.args, " "), r.code)
		}
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("stepq %s: stderr lacks %q:\n%s", strings.Join(tt.args, " "), tt.want, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("stepq %s: stdout %q, want nothing", strings.Join(tt.args, " "), r.stdout)
		}
	}
}

// TestHelp checks that help, however asked for (twice included), goes
// to stdout with status 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"help"}, {"-h"}, {"--help"}, {"-help"},
		{"help", "--help"}, {"help", "help"}, {"-h", "-h"}, {"--help", "-help"}, {"-help", "help"},
	} {
		r := runStepq(t, ".", args...)
		r.want(t, 0)
		for _, cmd := range []string{"stepq check", "stepq explain", "stepq run"} {
			if !strings.Contains(r.stdout, cmd) {
				t.Errorf("stepq %s lacks %q:\n%s", strings.Join(args, " "), cmd, r.stdout)
			}
		}
	}
}

// TestFileNotFound checks that a program file that does not exist is
// reported, naming it, with status 1.
func TestFileNotFound(t *testing.T) {
	for _, cmd := range []string{"check", "explain", "run"} {
		r := runStepq(t, ".", cmd, "testdata/no_such_file.step")
		if r.code != 1 {
			t.Errorf("stepq %s of a missing file: exit status %d, want 1", cmd, r.code)
		}
		if !strings.Contains(r.stderr, "testdata/no_such_file.step") {
			t.Errorf("stepq %s: stderr does not name the file:\n%s", cmd, r.stderr)
		}
	}
}

// TestRunBadRow checks that a value that does not fit its column fails
// the run with status 1, naming the data file and line.
func TestRunBadRow(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "--data", "cmd/stepq/testdata/badrow", "examples/shop.step")
	r.want(t, 1)
	if want := "cmd/stepq/testdata/badrow/products.csv:3:"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, "five") {
		t.Errorf("stderr does not quote the bad value:\n%s", r.stderr)
	}
}

// TestRunHugeNumeric checks that a numeric beyond Postgres's range in a
// data file is an error at its place, not a value whose hundred million
// digits the run then builds.
func TestRunHugeNumeric(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "--data", "cmd/stepq/testdata/hugenumeric", "examples/shop.step")
	r.want(t, 1)
	if want := "cmd/stepq/testdata/hugenumeric/products.csv:3:7: column price: value overflows numeric format"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}

// TestCheckDeepNesting checks that a program of a hundred thousand nested
// parentheses is a positioned error with status 1, not a stack overflow.
func TestCheckDeepNesting(t *testing.T) {
	dir := t.TempDir()
	src := "table t (a int4, primary key (a))\nview v = t | select { x = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }\n"
	if err := os.WriteFile(filepath.Join(dir, "deep.step"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runStepq(t, dir, "check", "deep.step")
	r.want(t, 1)
	if want := "deep.step:2:"; !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "nested more than 1000 levels") {
		t.Errorf("stderr does not report the nesting at a position:\n%.300s", r.stderr)
	}
}

// TestRunDuplicateKey checks that inserting a primary key the table
// already holds fails the run with status 1.
func TestRunDuplicateKey(t *testing.T) {
	r := runStepq(t, repoRoot, "run", "--data", "cmd/stepq/testdata/dupkey", "examples/shop.step")
	r.want(t, 1)
	if !strings.Contains(r.stderr, "duplicate primary key") || !strings.Contains(r.stderr, "tv") {
		t.Errorf("stderr does not report the duplicate key tv:\n%s", r.stderr)
	}
}

// TestRunBadProgram checks that run fails as check does on a bad program.
func TestRunBadProgram(t *testing.T) {
	check := runStepq(t, ".", "check", "testdata/three_errors.step")
	run := runStepq(t, ".", "run", "testdata/three_errors.step")
	run.want(t, 1)
	if run.stderr != check.stderr || run.stdout != "" {
		t.Errorf("run of a bad program printed\nstdout:\n%s\nstderr:\n%s\nwant check's errors:\n%s", run.stdout, run.stderr, check.stderr)
	}
}

// TestRunRuntimeErrorShowsWhere runs a program whose second step divides
// by zero: the run fails with status 1, printing the outputs of the last
// step that succeeded and the error placed in the program as a type
// error is, file:line:col with the source line and a caret under the
// 100 / qty.
func TestRunRuntimeErrorShowsWhere(t *testing.T) {
	r := runStepq(t, "testdata", "run", "shares.step")
	r.want(t, 1)
	if want := "shares.step:4:41: step 2: view per: division by zero\n"; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr does not start with %q:\n%s", want, r.stderr)
	}
	golden.Check(t, "testdata/run_shares.golden", "-- stdout\n"+r.stdout+"-- stderr\n"+r.stderr)
}

// TestRunReportsLateRows runs a program whose table declares a watermark
// over a data file with a row that comes too late: the outputs leave it
// out, and stderr says so.
func TestRunReportsLateRows(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clicks.step", `table clicks (id int8, at timestamp, primary key (id)) watermark at - interval "5 minutes"
view per_hour = clicks | group by hour = date_trunc("hour", at) { n = count() }
`)
	if err := os.Mkdir(filepath.Join(dir, "clicks"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join("clicks", "clicks.csv"), `id,at,_step
1,2024-03-01 10:00:00,1
2,2024-03-01 10:30:00,1
3,2024-03-01 10:20:00,2
4,2024-03-01 11:10:00,2
`)
	r := runStepq(t, dir, "run", "clicks.step")
	r.want(t, 0)
	if want := "stepq run: table clicks: dropped 1 late row of a change (before the watermark when it came; the watermark is now 2024-03-01 11:05:00, the latest at less interval \"00:05:00\")\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if !strings.Contains(r.stdout, "2024-03-01 10:00:00 | 2") || !strings.Contains(r.stdout, "2024-03-01 11:00:00 | 1") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}
