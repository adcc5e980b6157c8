package stepping_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/goconv"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/types"
)

// TestEnginePostgres runs the shop program through the embedding API on
// Postgres: Insert, Update and Delete write the source tables with SQL,
// Step applies the log, Read and Lookup read the output table, and a
// subscription receives each step's changes.
func TestEnginePostgres(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`); err != nil {
		t.Fatal(err)
	}
	prog, err := stepping.CompileDB(ctx, "shop.step", shopSrc, pool)
	if err != nil {
		t.Fatal(err)
	}
	progSchema := schema + "_api"
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{progSchema}.Sanitize()+" CASCADE")
	})
	eng, err := prog.OpenPostgres(ctx, pool, stepping.PostgresOptions{Schema: progSchema})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sub, err := eng.Subscribe(ctx, "basket_totals")
	if err != nil {
		t.Fatal(err)
	}

	price := decimal.RequireFromString
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(eng.Insert(ctx, "products", Product{"tv", price("3.0")}, Product{"radio", price("5.0")}))
	must(eng.Insert(ctx, "line_items", LineItem{1, "radio", 4}, LineItem{1, "tv", 1}, LineItem{2, "tv", 2}))
	batches, err := eng.Step(ctx)
	must(err)
	if len(batches) != 1 || batches[0].View != "basket_totals" || len(batches[0].Changes) != 2 {
		t.Fatalf("first step: %+v", batches)
	}

	// The source tables hold what the API wrote, as SQL sees it.
	var n int
	must(pool.QueryRow(ctx, "SELECT count(*) FROM line_items").Scan(&n))
	if n != 3 {
		t.Errorf("line_items has %d rows, want 3", n)
	}

	must(eng.Update(ctx, "products", Product{"tv", price("4.0")}))
	must(eng.Delete(ctx, "line_items", map[string]any{"basket_id": 1, "product_name": "radio"}))
	_, err = eng.Step(ctx)
	must(err)

	rows, err := eng.Read(ctx, "basket_totals")
	must(err)
	var totals []BasketTotal
	must(rows.ScanAll(&totals))
	want := []BasketTotal{{1, price("4.0"), 1}, {2, price("8.0"), 1}}
	if len(totals) != 2 || totals[0].BasketID != 1 || !totals[0].Total.Equal(want[0].Total) || totals[0].Items != 1 ||
		totals[1].BasketID != 2 || !totals[1].Total.Equal(want[1].Total) {
		t.Errorf("basket_totals: %+v, want %+v", totals, want)
	}
	got, err := eng.Lookup(ctx, "basket_totals", map[string]any{"basket_id": int64(2)})
	must(err)
	if got.Len() != 1 || got.Rows[0][0] != int64(2) {
		t.Errorf("lookup basket 2: %v", got.Rows)
	}
	if _, err := eng.Read(ctx, "products"); err == nil {
		t.Error("reading a table on Postgres should fail: only outputs are stored")
	}

	// The subscription saw both steps, in order.
	var steps []int64
	timeout := testwait.Expired(t)
	for len(steps) < 2 {
		select {
		case b := <-sub.C:
			steps = append(steps, b.Step)
			if b.Step == 2 && len(b.Changes) != 4 {
				t.Errorf("step 2 changes: %+v", b.Changes)
			}
		case <-timeout:
			t.Fatalf("subscription got steps %v before the test's deadline, want 1 and 2", steps)
		}
	}
	if steps[0] != 1 || steps[1] != 2 {
		t.Errorf("steps %v, want [1 2]", steps)
	}

	// A duplicate key fails at once: it is an SQL insert.
	if err := eng.Insert(ctx, "products", Product{"tv", price("1")}); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Errorf("duplicate insert: %v", err)
	}

	must(eng.Close())
	if _, open := <-sub.C; open {
		t.Error("subscription still open after Close")
	}
	if err := eng.Insert(ctx, "products", Product{"lamp", price("1")}); !errors.Is(err, stepping.ErrClosed) {
		t.Errorf("insert after close: %v", err)
	}
}

// TestScanConversions checks how values reach Go fields: integers into
// narrower ints, NULL into pointers and sql.Null types, arrays into
// slices, jsonb into []byte, and the errors for what does not fit.
func TestScanConversions(t *testing.T) {
	cols := []stepping.Column{
		{Name: "id", Type: "int8"},
		{Name: "note", Type: "text", Nullable: true},
		{Name: "tags", Type: "text[]"},
		{Name: "doc", Type: "jsonb"},
		{Name: "amount", Type: "numeric", Nullable: true},
		{Name: "at", Type: "date"},
	}
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	row := stepping.Row{int64(7), nil, []any{"a", "b"}, `{"k":1}`, nil, day}
	var dst struct {
		ID     int16
		Note   *string
		Tags   []string
		Doc    []byte
		Amount decimal.NullDecimal
		At     time.Time
		Skip   string `stepping:"-"`
	}
	if err := stepping.ScanRow(cols, row, &dst); err != nil {
		t.Fatal(err)
	}
	if dst.ID != 7 || dst.Note != nil || len(dst.Tags) != 2 || dst.Tags[1] != "b" || string(dst.Doc) != `{"k":1}` || dst.Amount.Valid || !dst.At.Equal(day) {
		t.Errorf("scanned %+v", dst)
	}
	var withNull sql.NullString
	if err := stepping.ScanRow(cols, row, &struct {
		Note sql.NullString `stepping:"note"`
	}{withNull}); err != nil {
		t.Errorf("sql.NullString: %v", err)
	}
	for _, bad := range []any{
		&struct{ Note string }{}, // NULL into a string
		&struct {
			Missing int `stepping:"missing"`
		}{}, // no such column
		&struct{ At int }{}, // a date into an int
	} {
		if err := stepping.ScanRow(cols, row, bad); err == nil {
			t.Errorf("scanning into %T: no error", bad)
		}
	}
	if err := stepping.ScanRow(cols, row, &struct{ ID int8 }{}); err != nil {
		t.Errorf("7 into an int8 field: %v", err)
	}
	big := stepping.Row{int64(1000), nil, []any{}, `{}`, nil, day}
	if err := stepping.ScanRow(cols, big, &struct{ ID int8 }{}); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("overflow: %v", err)
	}
}

// TestFromGo checks the public conversion of Go values into the values
// of a program's columns, as the API describes them.
func TestFromGo(t *testing.T) {
	prog, err := stepping.Compile("shop.step", shopSrc)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := prog.Columns("products")
	if err != nil {
		t.Fatal(err)
	}
	if cols[1].Name != "price" || cols[1].Type != "numeric" || cols[1].Nullable {
		t.Fatalf("columns of products: %+v", cols)
	}
	if v, err := stepping.FromGo("12.50", cols[1]); err != nil || types.Format(v, types.Of(types.Numeric)) != "12.50" {
		t.Errorf("FromGo(\"12.50\", price) = %v, %v", v, err)
	}
	if _, err := stepping.FromGo(nil, cols[1]); err == nil {
		t.Errorf("FromGo(nil) into a non-null column: no error")
	}
	if _, err := prog.Columns("nothere"); !errors.Is(err, stepping.ErrNotFound) {
		t.Errorf("Columns of an unknown name: %v", err)
	}
}

// TestConvert checks the conversions of Go values into column values.
func TestConvert(t *testing.T) {
	numeric := types.Of(types.Numeric)
	tests := []struct {
		v    any
		t    types.Type
		want string // types.Format of the result, or "error"
	}{
		{3, types.Of(types.Int4), "3"},
		{uint8(3), types.Of(types.Int8), "3"},
		{int64(1) << 40, types.Of(types.Int4), "error"},
		{3, numeric, "3"},
		{"12.50", numeric, "12.50"},
		{decimal.RequireFromString("1.5"), numeric, "1.5"},
		{1.5, numeric, "error"},
		{float32(0.5), types.Of(types.Float8), "0.5"},
		{"2024-03-01", types.Of(types.Date), "2024-03-01"},
		{time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC), types.Of(types.Timestamptz), "2024-03-01 12:30:00+00"},
		{90 * time.Minute, types.Of(types.Interval), "01:30:00"},
		{[]string{"a", "b"}, types.ArrayOf(types.Of(types.Text)), "{a,b}"},
		{nil, types.Of(types.Text), "error"},
		{nil, types.Of(types.Text).OrNull(), ""},
		{(*string)(nil), types.Of(types.Text).OrNull(), ""},
		{sql.NullInt64{Int64: 4, Valid: true}, types.Of(types.Int8), "4"},
		{[]byte(`{"a": 1}`), types.Of(types.JSONB), `{"a": 1}`},
		{"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", types.Of(types.UUID), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{struct{}{}, types.Of(types.Text), "error"},
	}
	for _, tt := range tests {
		got, err := goconv.Convert(tt.v, tt.t)
		switch {
		case tt.want == "error" && err == nil:
			t.Errorf("FromGo(%#v, %s) = %v, want an error", tt.v, tt.t, got)
		case tt.want != "error" && err != nil:
			t.Errorf("FromGo(%#v, %s): %v", tt.v, tt.t, err)
		case tt.want == "" && got != nil:
			t.Errorf("FromGo(%#v, %s) = %v, want NULL", tt.v, tt.t, got)
		case tt.want != "error" && tt.want != "" && types.Format(got, tt.t) != tt.want:
			t.Errorf("FromGo(%#v, %s) = %s, want %s", tt.v, tt.t, types.Format(got, tt.t), tt.want)
		}
	}
}

// TestEmbedExample builds and runs examples/embed, the small program the
// README points to, and checks what it prints.
func TestEmbedExample(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "embed")
	build := exec.Command("go", "build", "-o", bin, "./examples/embed")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building examples/embed: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Dir = "examples/embed"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running examples/embed: %v\n%s", err, out)
	}
	want, err := os.ReadFile("examples/embed/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("examples/embed printed\n%s\nwant (examples/embed/expected.txt)\n%s", out, want)
	}
}

// TestConstantsFromTheStart checks that a view of constants holds its
// rows as soon as the engine is open, before any step, and keeps them,
// alone or beside a table's rows.
func TestConstantsFromTheStart(t *testing.T) {
	tests := []struct {
		name, src string
		view      string
		want      int
	}{
		{"values", "view c = values [{x = 1}, {x = 2}]\noutput c\n", "c", 2},
		{"values and a table", "table t (x int4)\nview c = t | union all (values [{x = 1}, {x = 2}, {x = 3}])\noutput c\n", "c", 3},
		{"no constants", "table t (x int4)\nview c = t\noutput c\n", "c", 0},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := stepping.Compile("c.step", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			eng := prog.OpenMemory()
			defer eng.Close()
			for _, when := range []string{"at open", "after an empty step"} {
				rows, err := eng.Read(ctx, tt.view)
				if err != nil {
					t.Fatal(err)
				}
				if rows.Len() != tt.want {
					t.Errorf("%s: %s has %d rows, want %d", when, tt.view, rows.Len(), tt.want)
				}
				if _, err := eng.Step(ctx); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestGraphNamesOperators checks that Graph shows operators and set
// stages by their spelling, as a program writes them, not by number.
func TestGraphNamesOperators(t *testing.T) {
	prog, err := stepping.Compile("g.step", `table ev (id int4, at timestamp, primary key (id))
table old (id int4, at timestamp)
view recent = ev | where at > now() - interval "7 days"
view gone = ev | except old
`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := json.NewEncoder(&b).Encode(prog.Graph()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"op":"\u003e"`, `"op":"except"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("graph lacks %s:\n%s", want, b.String())
		}
	}
}

// TestEngineExtend adds a view to a running engine: only the new view
// is computed, from the rows there, and the engine goes on with both; a
// program that changes more is refused and changes nothing.
func TestEngineExtend(t *testing.T) {
	ctx := context.Background()
	prog, err := stepping.Compile("shop.step", shopSrc)
	if err != nil {
		t.Fatal(err)
	}
	eng := prog.OpenMemory()
	defer eng.Close()
	price := decimal.RequireFromString
	if err := eng.Insert(ctx, "products", Product{"tv", price("3.0")}, Product{"radio", price("5.0")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Step(ctx); err != nil {
		t.Fatal(err)
	}
	more, err := stepping.Compile("shop.step", shopSrc+"\nview dear = products | where price > 4 | select { name }\n")
	if err != nil {
		t.Fatal(err)
	}
	batches, err := eng.Extend(ctx, more)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || batches[0].View != "dear" || len(batches[0].Changes) != 1 || batches[0].Changes[0].Row[0] != "radio" {
		t.Fatalf("extending with dear gave %+v", batches)
	}
	if eng.Program() != more {
		t.Errorf("the engine does not run the extended program")
	}
	if err := eng.Insert(ctx, "products", Product{"lamp", price("9")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Step(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := eng.Read(ctx, "dear")
	if err != nil || rows.Len() != 2 {
		t.Fatalf("dear after a step: %v, %v", rows, err)
	}
	changed, err := stepping.Compile("shop.step", strings.Replace(shopSrc, "sum(", "max(", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Extend(ctx, changed); !errors.Is(err, stepping.ErrNotExtension) {
		t.Errorf("a changed view extended the engine: %v", err)
	}
	if eng.Program() != more {
		t.Errorf("a refused extension changed the engine's program")
	}
}
