package stepping_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
)

const apiProgram = `table products (name text, price numeric, primary key (name))
table line_items (basket_id int8, product_name text, qty int4, primary key (basket_id, product_name))
table notes (body text)
view totals = line_items
  | join products on line_items.product_name == products.name
  | group by line_items.basket_id { total = sum(products.price * line_items.qty) }
view big = totals | where total > 10
`

func compileAPI(t *testing.T) *stepping.Program {
	t.Helper()
	prog, err := stepping.Compile("api.step", apiProgram)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// TestPrimaryKey checks the key columns of each table, in key order.
func TestPrimaryKey(t *testing.T) {
	prog := compileAPI(t)
	for _, tc := range []struct {
		table    string
		want     []string
		notFound bool
	}{
		{table: "products", want: []string{"name"}},
		{table: "line_items", want: []string{"basket_id", "product_name"}},
		{table: "notes", want: nil},
		{table: "totals", notFound: true},
		{table: "nothing", notFound: true},
	} {
		got, err := prog.PrimaryKey(tc.table)
		if tc.notFound {
			if !errors.Is(err, stepping.ErrNotFound) {
				t.Errorf("PrimaryKey(%s): err %v, want ErrNotFound", tc.table, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("PrimaryKey(%s) = %q, %v; want %q", tc.table, got, err, tc.want)
		}
	}
}

// TestExplainView checks that each view's text is its section of
// Explain's, and that a table or unknown name is ErrNotFound.
func TestExplainView(t *testing.T) {
	prog := compileAPI(t)
	all := prog.Explain()
	for _, tc := range []struct {
		name     string
		prefix   string
		notFound bool
	}{
		{name: "totals", prefix: "view totals (basket_id int8, total numeric)\n"},
		{name: "big", prefix: "view big (basket_id int8, total numeric)\n"},
		{name: "products", notFound: true},
		{name: "nothing", notFound: true},
	} {
		got, err := prog.ExplainView(tc.name)
		if tc.notFound {
			if !errors.Is(err, stepping.ErrNotFound) {
				t.Errorf("ExplainView(%s): err %v, want ErrNotFound", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ExplainView(%s): %v", tc.name, err)
		}
		if !strings.HasPrefix(got, tc.prefix) || !strings.HasSuffix(got, "\n") || !strings.Contains(all, "\n"+got) {
			t.Errorf("ExplainView(%s) =\n%s\nwant a section of Explain starting %q:\n%s", tc.name, got, tc.prefix, all)
		}
		if strings.Contains(got, "\nview ") {
			t.Errorf("ExplainView(%s) holds another view:\n%s", tc.name, got)
		}
	}
}

// TestReadChangeDirApply reads change files and applies them step by
// step, each step to two engines at once (an engine keeps rows of its
// own, so a step's rows, which repeat a product, are not shared between
// them: the race detector would see it); a missing directory is
// fs.ErrNotExist and a file naming no table is an error.
func TestReadChangeDirApply(t *testing.T) {
	prog := compileAPI(t)
	write := func(dir string, files map[string]string) {
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		files   map[string]string // nil: no directory
		steps   []int64
		total   string // basket 1's total at the end
		wantErr string
	}{
		{name: "missing", files: nil, wantErr: "no such file"},
		{name: "empty", files: map[string]string{}, steps: []int64{}},
		{name: "two steps", files: map[string]string{
			"products.csv":   "name,price\ntv,3.0\nradio,5.0\n",
			"line_items.csv": "_step,basket_id,product_name,qty\n1,1,tv,2\n1,2,tv,1\n2,1,radio,1\n",
		}, steps: []int64{1, 2}, total: "11.0"},
		{name: "delete", files: map[string]string{
			"products.csv":   "_step,_op,name,price\n1,insert,tv,3.0\n3,delete,tv,\n1,insert,radio,5.0\n",
			"line_items.csv": "basket_id,product_name,qty\n1,tv,2\n1,radio,1\n",
		}, steps: []int64{1, 3}, total: "5.0"},
		{name: "unknown table", files: map[string]string{"cats.csv": "a\n1\n"}, wantErr: "declares no table cats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tc.files != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				write(dir, tc.files)
			}
			steps, err := prog.ReadChangeDir(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				if tc.files == nil && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err %v is not fs.ErrNotExist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var numbers []int64
			for _, s := range steps {
				numbers = append(numbers, s.Number)
			}
			if !slices.Equal(numbers, tc.steps) && len(numbers)+len(tc.steps) > 0 {
				t.Fatalf("steps %v, want %v", numbers, tc.steps)
			}
			engs := []*stepping.Engine{prog.OpenMemory(), prog.OpenMemory()}
			for _, eng := range engs {
				defer eng.Close()
			}
			for _, s := range steps {
				errs := make([]error, len(engs))
				var wg sync.WaitGroup
				for i, eng := range engs {
					wg.Go(func() { _, errs[i] = eng.Apply(ctx, s) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("step %d: %v", s.Number, err)
				}
			}
			if tc.total == "" {
				return
			}
			for _, eng := range engs {
				rows, err := eng.Lookup(ctx, "totals", map[string]any{"basket_id": 1})
				if err != nil || rows.Len() != 1 {
					t.Fatalf("totals of basket 1: %v, %v", rows, err)
				}
				if got := rows.Rows[0][1].(decimal.Decimal).String(); got != strings.TrimSuffix(tc.total, ".0") && got != tc.total {
					t.Errorf("total %s, want %s", got, tc.total)
				}
			}
		})
	}
}

// TestStepError checks the step, view and cause of failed steps, and
// where Diagnostics places them.
func TestStepError(t *testing.T) {
	ctx := context.Background()
	src := "table t (a int4, b int4, primary key (a))\nview q = t | select { a, r = a / b }\n"
	prog, err := stepping.Compile("q.step", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		rows     []any
		step     int64
		view     string
		why      string
		placed   string // the text Diagnostics points at; "" for none
		isDupKey bool
	}{
		{name: "division by zero", rows: []any{[]any{1, 0}}, step: 2, view: "q", why: "division by zero", placed: "a / b"},
		{name: "duplicate key", rows: []any{[]any{1, 1}, []any{1, 2}}, step: 2, why: "table t: change 2 (insert): duplicate primary key (a=1)", isDupKey: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := prog.OpenMemory()
			defer eng.Close()
			if err := eng.Insert(ctx, "t", []any{5, 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Step(ctx); err != nil {
				t.Fatal(err)
			}
			if err := eng.Insert(ctx, "t", tc.rows...); err != nil {
				t.Fatal(err)
			}
			_, err := eng.Step(ctx)
			var se *stepping.StepError
			if !errors.As(err, &se) {
				t.Fatalf("err %v (%T), want a *StepError", err, err)
			}
			if se.Step != tc.step || se.View != tc.view || se.Err.Error() != tc.why {
				t.Errorf("StepError{Step: %d, View: %q, Err: %q}, want {%d, %q, %q}", se.Step, se.View, se.Err, tc.step, tc.view, tc.why)
			}
			if errors.Is(err, stepping.ErrDuplicateKey) != tc.isDupKey {
				t.Errorf("errors.Is(%v, ErrDuplicateKey) is %v", err, !tc.isDupKey)
			}
			ds := stepping.Diagnostics(err)
			switch {
			case tc.placed == "" && ds != nil:
				t.Errorf("Diagnostics = %v, want none", ds)
			case tc.placed != "" && len(ds) != 1:
				t.Errorf("Diagnostics = %v, want one", ds)
			case tc.placed != "" && src[ds[0].Offset:ds[0].End.Offset] != tc.placed:
				t.Errorf("Diagnostics points at %q, want %q", src[ds[0].Offset:ds[0].End.Offset], tc.placed)
			}
		})
	}
}

// TestReadTable reads live tables through a program compiled against the
// database, and refuses views, unknown names and a program compiled
// without a database.
func TestReadTable(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.Schema(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL, note text);
		INSERT INTO products VALUES ('tv', 3.0, NULL), ('radio', 5.50, 'new');
		CREATE TABLE local (a int4 NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	src := "source products = table products\ntable local (a int4)\nview v = products | select { name }\n"
	mem, err := stepping.Compile("mem.step", "table local (a int4)\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.ReadTable(ctx, pool, "local"); err == nil || !strings.Contains(err.Error(), "compile the program with CompileDB") {
		t.Errorf("ReadTable of a program compiled without a database: err %v", err)
	}
	prog, err := stepping.CompileDB(ctx, "src.step", src, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table   string
		want    string // the rows as WriteTo prints them
		wantErr string
	}{
		{table: "products", want: " name  | price | note\n-------+-------+------\n radio |  5.50 | new\n tv    |   3.0 |\n(2 rows)\n"},
		{table: "local", want: " a\n---\n(0 rows)\n"},
		{table: "v", wantErr: "no table v"},
		{table: "nothing", wantErr: "no table nothing"},
	} {
		rows, err := prog.ReadTable(ctx, pool, tc.table)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ReadTable(%s): err %v, want one saying %q", tc.table, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ReadTable(%s): %v", tc.table, err)
		}
		var b strings.Builder
		if _, err := rows.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("ReadTable(%s) =\n%s\nwant\n%s", tc.table, b.String(), tc.want)
		}
	}
}
