package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/golden"
)

// TestDirectoryProgram runs the subcommands that take FILE on a
// directory: testdata/shop_dir is the shop example split over three
// files whose views come before the tables they read, with its change
// files beside them; testdata/errors_dir has one error in each of three
// files.
func TestDirectoryProgram(t *testing.T) {
	shop, err := os.ReadFile(filepath.Join(repoRoot, "examples", "shop", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, when set
		golden string // of standard error, when set
		inErr  []string
		inOut  []string
	}{
		{name: "check", args: []string{"check", "testdata/shop_dir"}},
		{name: "check trailing slash", args: []string{"check", "testdata/shop_dir/"}},
		{name: "run", args: []string{"run", "testdata/shop_dir"}, stdout: string(shop)},
		{name: "explain", args: []string{"explain", "testdata/shop_dir"}},
		{
			name: "errors in three files", args: []string{"check", "testdata/errors_dir"}, code: 1,
			golden: "testdata/check_errors_dir.golden",
			inErr: []string{
				"testdata/errors_dir/b.step:2:7: products is already declared at testdata/errors_dir/a.step:2:7\n",
				"testdata/errors_dir/b.step:4:43: operator + is not defined on text and int4\n",
				"testdata/errors_dir/c.step:2:13: unknown table or view line_itemz\n",
			},
		},
		{
			name: "errors as JSON", args: []string{"check", "-json", "testdata/errors_dir"}, code: 1,
			inOut: []string{`"file": "testdata/errors_dir/b.step"`, `"file": "testdata/errors_dir/c.step"`},
		},
		{
			name: "no .step files", args: []string{"check", "testdata/jsonl"}, code: 1,
			inErr: []string{"testdata/jsonl: no .step files in the directory\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runStepq(t, ".", tt.args...)
			r.want(t, tt.code)
			if tt.stdout != "" && r.stdout != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tt.stdout)
			}
			for _, want := range tt.inOut {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			for _, want := range tt.inErr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if tt.golden != "" {
				golden.Check(t, tt.golden, r.stderr)
			}
		})
	}
}

// TestDirectoryLock locks a directory program beside the directory and
// checks it against the lock.
func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "shop")
	if err := os.Mkdir(prog, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"1_totals.step", "2_receipts.step", "3_tables.step"} {
		text, err := os.ReadFile(filepath.Join("testdata", "shop_dir", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(prog, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runStepq(t, dir, "lock", "shop").want(t, 0)
	if _, err := os.Stat(filepath.Join(dir, "shop.lock")); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	runStepq(t, dir, "check", "--locked", "shop/").want(t, 0)
	runStepq(t, dir, "plan", "shop").want(t, 0)
}

// TestRunDBDirectory keeps a directory program's outputs in Postgres, as
// stepq run --db does a file's.
func TestRunDBDirectory(t *testing.T) {
	dsn, prog, _ := pgProgram(t)
	runStepq(t, ".", "run", "--db", dsn, "--schema", prog, "--once", "testdata/shop_dir").want(t, 0)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var got string
	if err := conn.QueryRow(context.Background(),
		"SELECT string_agg(basket_id || ':' || total || ':' || items, ' ' ORDER BY basket_id) FROM basket_totals").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "1:23.0:2 2:6.0:1"; got != want {
		t.Errorf("basket_totals %q, want %q", got, want)
	}
}
