package stepping

import (
	"context"
	"reflect"
	"testing"
)

// TestInputShapeKept reads structs of two types, by value and by
// pointer, into a table, and deletes by a struct holding only the key:
// each table, kind of change and struct type is worked out once and kept
// by the program; a struct with a field no column takes fails with the
// same error each time; rows as lists and maps read as before.
func TestInputShapeKept(t *testing.T) {
	ctx := context.Background()
	p, err := Compile("shape.step", `
table items (basket int8, product text, qty int4, primary key (basket, product))
view n = items | group by basket { n = count() }
output n
`)
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		Basket  int64
		Product string
		Qty     int
	}
	type renamed struct {
		B   int64  `stepping:"basket"`
		P   string `stepping:"product"`
		Qty int16
	}
	type key struct {
		Basket  int64
		Product string
	}
	type stray struct {
		Basket int64
		Colour string
	}
	e := p.OpenMemory()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		must(e.Insert(ctx, "items", item{int64(i), "a", 1}, &item{int64(i), "b", 2}))
		must(e.Insert(ctx, "items", renamed{int64(i), "c", 3}))
	}
	must(e.Insert(ctx, "items", []any{int64(9), "d", int64(4)}, map[string]any{"basket": int64(9), "product": "e", "qty": int64(5)}))
	must(e.Delete(ctx, "items", key{0, "a"}))
	var errs []string
	for range 2 {
		err := e.Insert(ctx, "items", stray{1, "red"})
		if err == nil {
			t.Fatal("a struct with a field no column takes was read")
		}
		errs = append(errs, err.Error())
	}
	if errs[0] != errs[1] {
		t.Fatalf("the same struct failed twice differently: %q, %q", errs[0], errs[1])
	}
	if _, err := e.Step(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := e.Read(ctx, "items")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Len() != 10 {
		t.Fatalf("items holds %d rows, want 10", rows.Len())
	}
	shapes := map[shapeKey][]reflect.Type{}
	p.shapes.Range(func(k, v any) bool {
		v.(*inputShape).structs.Range(func(t, _ any) bool {
			shapes[k.(shapeKey)] = append(shapes[k.(shapeKey)], t.(reflect.Type))
			return true
		})
		return true
	})
	if len(shapes[shapeKey{"items", false}]) != 3 || len(shapes[shapeKey{"items", true}]) != 1 || len(shapes) != 2 {
		t.Fatalf("the program keeps the shapes %v; want item, renamed and stray for inserts, key for deletes", shapes)
	}
}
