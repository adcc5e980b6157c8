package stepping_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
)

// TestServingAPI checks, in memory, what a server over an engine uses:
// a snapshot's rows with their step, a table's row by key after updates
// and deletes (a lookup of a table follows its changes), the step count
// and backlog, history, and a column's JSON and text forms.
func TestServingAPI(t *testing.T) {
	ctx := context.Background()
	prog := compileAPI(t)
	eng := prog.OpenMemory()
	defer eng.Close()
	price := decimal.RequireFromString
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(eng.Insert(ctx, "products", stepping.Row{"tv", price("3.00")}))
	must(eng.Insert(ctx, "line_items", stepping.Row{int64(1), "tv", int64(4)}))
	if st, err := eng.Status(ctx); err != nil || st.Pending != 2 || st.Steps != 0 || st.HistoryFrom != 1 {
		t.Fatalf("status before the step: %+v %v", st, err)
	}
	_, err := eng.Step(ctx)
	must(err)
	key := map[string]any{"name": "tv"}
	for i, tc := range []struct {
		change func() error
		want   int // rows of products with name tv
	}{
		{func() error { return nil }, 1},
		{func() error { return eng.Update(ctx, "products", stepping.Row{"tv", price("4.00")}) }, 1},
		{func() error { return eng.Delete(ctx, "products", map[string]any{"name": "tv"}) }, 0},
		{func() error { return eng.Insert(ctx, "products", stepping.Row{"tv", price("5.00")}) }, 1},
	} {
		must(tc.change())
		_, err := eng.Step(ctx)
		must(err)
		rows, err := eng.LookupTable(ctx, "products", key)
		must(err)
		if rows.Len() != tc.want {
			t.Fatalf("change %d: %d rows of tv, want %d", i, rows.Len(), tc.want)
		}
	}
	rows, step, err := eng.Snapshot(ctx, "totals", map[string]any{"basket_id": 1})
	must(err)
	if n, _ := eng.Steps(ctx); step != n || step != 5 || rows.Len() != 1 || rows.Rows[0][1].(decimal.Decimal).String() != "20" {
		t.Fatalf("snapshot at step %d: %v", step, rows.Rows)
	}
	if _, _, err := eng.History(ctx, "totals", 2); !errors.Is(err, stepping.ErrNotKept) {
		t.Fatalf("history in memory: %v", err)
	}
	if b, upTo, err := eng.History(ctx, "totals", 5); err != nil || len(b) != 0 || upTo != 5 {
		t.Fatalf("history from the current step: %v %d %v", b, upTo, err)
	}
	if eng.OnPostgres() {
		t.Fatal("an engine in memory says it runs on Postgres")
	}
	cols, err := prog.Columns("totals")
	must(err)
	total := cols[1]
	if got := string(total.AppendJSON(nil, price("12.50"))); got != `"12.50"` {
		t.Errorf("AppendJSON: %s", got)
	}
	if v, err := total.DecodeJSON("1.5"); err != nil || v.(decimal.Decimal).String() != "1.5" {
		t.Errorf("DecodeJSON: %v %v", v, err)
	}
	if _, err := total.DecodeJSON(true); err == nil {
		t.Error("DecodeJSON took a boolean for a numeric")
	}
	if v, err := cols[0].ParseText("7"); err != nil || v != int64(7) || cols[0].FormatText(int64(7)) != "7" {
		t.Errorf("ParseText, FormatText: %v %v", v, err)
	}
}

// TestStatusWatermarks checks that an engine's status gives each
// table's watermark and the late changes it dropped.
func TestStatusWatermarks(t *testing.T) {
	ctx := context.Background()
	prog, err := stepping.Compile("clicks.step", `table clicks (id int8, at timestamp, primary key (id)) watermark at - interval "1 minute"
view n = clicks | group { n = count() }
`)
	if err != nil {
		t.Fatal(err)
	}
	eng := prog.OpenMemory()
	defer eng.Close()
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, rows := range [][]stepping.Row{{{int64(1), at}}, {{int64(2), at.Add(-2 * time.Minute)}, {int64(3), at.Add(-30 * time.Second)}}} {
		for _, r := range rows {
			if err := eng.Insert(ctx, "clicks", r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := eng.Step(ctx); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	st, err := eng.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []stepping.Watermark{{Table: "clicks", Column: "at", At: at.Add(-time.Minute), Lateness: time.Minute, Set: true, Late: 1}}
	if len(st.Watermarks) != 1 || st.Watermarks[0] != want[0] {
		t.Errorf("watermarks %+v, want %+v", st.Watermarks, want)
	}
}
