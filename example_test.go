package stepping_test

import (
	"context"
	"fmt"
	"os"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
)

const shopSrc = `
table products (name text, price numeric, primary key (name))
table line_items (basket_id int8, product_name text, qty int4, primary key (basket_id, product_name))

view basket_totals =
  line_items
  | join products on line_items.product_name == products.name
  | group by line_items.basket_id { total = sum(products.price * line_items.qty), items = count() }

output basket_totals index (basket_id)
`

// Product is a row of the products table; fields name their columns.
type Product struct {
	Name  string          `stepping:"name"`
	Price decimal.Decimal `stepping:"price"`
}

// LineItem is a row of line_items. Without tags, fields match columns
// by name, ignoring case and underscores.
type LineItem struct {
	BasketID    int64
	ProductName string
	Qty         int
}

// BasketTotal is a row of the basket_totals view.
type BasketTotal struct {
	BasketID int64           `stepping:"basket_id"`
	Total    decimal.Decimal `stepping:"total"`
	Items    int64           `stepping:"items"`
}

// Open a program in memory, insert rows, step, and read a view into
// structs.
func ExampleProgram_OpenMemory() {
	prog, err := stepping.Compile("shop.step", shopSrc)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	eng := prog.OpenMemory()
	defer eng.Close()

	price := decimal.RequireFromString
	_ = eng.Insert(ctx, "products", Product{"tv", price("3.0")}, Product{"radio", price("5.0")})
	_ = eng.Insert(ctx, "line_items",
		LineItem{BasketID: 1, ProductName: "radio", Qty: 4},
		LineItem{BasketID: 1, ProductName: "tv", Qty: 1},
		map[string]any{"basket_id": 2, "product_name": "tv", "qty": 2}, // a map works too
	)
	if _, err := eng.Step(ctx); err != nil {
		fmt.Println(err)
		return
	}
	rows, _ := eng.Read(ctx, "basket_totals")
	var totals []BasketTotal
	if err := rows.ScanAll(&totals); err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range totals {
		fmt.Printf("basket %d: %s for %d items\n", t.BasketID, t.Total.StringFixed(2), t.Items)
	}
	// Output:
	// basket 1: 23.00 for 2 items
	// basket 2: 6.00 for 1 items
}

// Each step returns the changes of every view it changed: an update is
// the old row with weight -1 and the new one with weight +1.
func ExampleEngine_Step() {
	prog, _ := stepping.Compile("shop.step", shopSrc)
	ctx := context.Background()
	eng := prog.OpenMemory()
	defer eng.Close()
	_ = eng.Insert(ctx, "products", []any{"tv", "3.0"}, []any{"radio", "5.0"})
	_ = eng.Insert(ctx, "line_items", []any{1, "radio", 4}, []any{1, "tv", 1}, []any{2, "tv", 2})
	_, _ = eng.Step(ctx)

	_ = eng.Update(ctx, "products", Product{"tv", decimal.RequireFromString("4.0")})
	batches, err := eng.Step(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range batches {
		fmt.Printf("step %d: %s\n", b.Step, b.View)
		_, _ = b.WriteTo(os.Stdout)
	}
	// Output:
	// step 2: basket_totals
	//  basket_id | total | items | weight
	// -----------+-------+-------+--------
	//          1 |  23.0 |     2 |     -1
	//          1 |  24.0 |     2 |      1
	//          2 |   6.0 |     1 |     -1
	//          2 |   8.0 |     1 |      1
	// (4 rows)
}

// Lookup finds a view's rows by the values of some of its columns; in
// memory the engine keeps an index on them up to date with every step.
func ExampleEngine_Lookup() {
	prog, _ := stepping.Compile("shop.step", shopSrc)
	ctx := context.Background()
	eng := prog.OpenMemory()
	defer eng.Close()
	_ = eng.Insert(ctx, "products", []any{"tv", "3.0"})
	_ = eng.Insert(ctx, "line_items", []any{1, "tv", 1}, []any{2, "tv", 2})
	_, _ = eng.Step(ctx)

	rows, err := eng.Lookup(ctx, "basket_totals", map[string]any{"basket_id": 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	var t BasketTotal
	_ = rows.Scan(0, &t)
	fmt.Println(rows.Len(), "row:", t.BasketID, t.Total.StringFixed(2))

	_ = eng.Delete(ctx, "line_items", LineItem{BasketID: 2, ProductName: "tv"})
	_, _ = eng.Step(ctx)
	rows, _ = eng.Lookup(ctx, "basket_totals", map[string]any{"basket_id": 2})
	fmt.Println(rows.Len(), "rows after the delete")
	// Output:
	// 1 row: 2 6.00
	// 0 rows after the delete
}

// A subscription receives a view's changes, one batch per step that
// changes it, until its context ends.
func ExampleEngine_Subscribe() {
	prog, _ := stepping.Compile("shop.step", shopSrc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng := prog.OpenMemory()
	defer eng.Close()
	sub, err := eng.Subscribe(ctx, "basket_totals")
	if err != nil {
		fmt.Println(err)
		return
	}

	_ = eng.Insert(ctx, "products", []any{"tv", "3.0"})
	_ = eng.Insert(ctx, "line_items", []any{1, "tv", 1})
	_, _ = eng.Step(ctx)
	_ = eng.Update(ctx, "line_items", []any{1, "tv", 5})
	_, _ = eng.Step(ctx)

	for range 2 {
		b := <-sub.C
		for i := range b.Changes {
			var t BasketTotal
			w, _ := b.Scan(i, &t)
			fmt.Printf("step %d: %+d basket %d total %s\n", b.Step, w, t.BasketID, t.Total.StringFixed(2))
		}
	}
	cancel()
	_, open := <-sub.C
	fmt.Println("open after cancel:", open, "error:", sub.Err())
	// Output:
	// step 1: +1 basket 1 total 3.00
	// step 2: -1 basket 1 total 3.00
	// step 2: +1 basket 1 total 15.00
	// open after cancel: false error: <nil>
}

// Errors in a program come back as diagnostics, each positioned, with a
// hint where one helps.
func ExampleDiagnostics() {
	src := "table t (a int4, b text)\nview v = t | where c > 1 | select { x = upper(b) + 1 }\n"
	_, err := stepping.Compile("bad.step", src)
	for _, d := range stepping.Diagnostics(err) {
		fmt.Println(d)
		fmt.Printf("  from %d:%d to %d:%d\n", d.Line, d.Col, d.End.Line, d.End.Col)
	}
	// Output:
	// bad.step:2:20: unknown column c (did you mean a?)
	//   from 2:20 to 2:21
	// bad.step:2:41: operator + is not defined on text and int4
	//   from 2:41 to 2:53
}

// A step that fails applies nothing: here a duplicate primary key.
func ExampleEngine_Step_failure() {
	prog, _ := stepping.Compile("shop.step", shopSrc)
	ctx := context.Background()
	eng := prog.OpenMemory()
	defer eng.Close()
	_ = eng.Insert(ctx, "products", Product{"tv", decimal.RequireFromString("3.0")})
	_, _ = eng.Step(ctx)
	_ = eng.Insert(ctx, "products", Product{"radio", decimal.RequireFromString("5.0")}, Product{"tv", decimal.RequireFromString("9.0")})
	_, err := eng.Step(ctx)
	fmt.Println(err)
	rows, _ := eng.Read(ctx, "products")
	_, _ = rows.WriteTo(os.Stdout)
	// Output:
	// step 2: table products: change 2 (insert): duplicate primary key (name=tv)
	//  name | price
	// ------+-------
	//  tv   |   3.0
	// (1 row)
}
