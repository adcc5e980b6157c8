package stepping_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/stepping-io/stepping"
)

// TestOpenMemoryWorkers checks that the shop program on four workers
// reads as on one after steps big enough to run on them, and that a step
// failing there commits nothing.
func TestOpenMemoryWorkers(t *testing.T) {
	src, err := os.ReadFile("examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := stepping.Compile("shop.step", string(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	one, four := prog.OpenMemory(), prog.OpenMemoryWith(stepping.MemoryOptions{Workers: 4})
	defer one.Close()
	defer four.Close()
	var products, items []any
	for i := range 100 {
		products = append(products, []any{fmt.Sprint("p", i), fmt.Sprintf("%d.25", i)})
	}
	for i := range 3000 {
		items = append(items, []any{i / 5, fmt.Sprint("p", i%100), 1 + i%3})
	}
	read := func(eng *stepping.Engine) []string {
		t.Helper()
		rows, err := eng.Read(ctx, "basket_totals")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows.Rows {
			out = append(out, fmt.Sprint(r...))
		}
		slices.Sort(out)
		return out
	}
	for _, eng := range []*stepping.Engine{one, four} {
		if err := eng.Insert(ctx, "products", products...); err != nil {
			t.Fatal(err)
		}
		if err := eng.Insert(ctx, "line_items", items...); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := read(one)
	if got := read(four); !slices.Equal(got, want) || len(want) != 600 {
		t.Fatalf("basket_totals on four workers: %d rows, on one %d; equal: %v", len(got), len(want), slices.Equal(got, want))
	}
	// A duplicate key among many new rows fails the step on each.
	var more []any
	for i := range 3000 {
		more = append(more, []any{1000 + i/5, fmt.Sprint("p", i%100), 2})
	}
	more = append(more, items[1234])
	for _, eng := range []*stepping.Engine{one, four} {
		if err := eng.Insert(ctx, "line_items", more...); err != nil {
			t.Fatal(err)
		}
	}
	_, errOne := one.Step(ctx)
	_, errFour := four.Step(ctx)
	if errOne == nil || errFour == nil || errOne.Error() != errFour.Error() {
		t.Fatalf("a duplicate key failed the step with %v on four workers, %v on one", errFour, errOne)
	}
	if got := read(four); !slices.Equal(got, want) {
		t.Fatalf("the failed step changed basket_totals on four workers")
	}
}
