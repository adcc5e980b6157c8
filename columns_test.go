package stepping_test

import (
	"testing"

	"github.com/stepping-io/stepping"
)

// TestColumnElemFields walks nested column types: arrays of records of
// arrays, with the nullability of each level.
func TestColumnElemFields(t *testing.T) {
	prog, err := stepping.Compile("nested.step", `table t (k int8, a int4?, b text[], y numeric(10,2)?, primary key (k))
view v = t | group by t.k { xs = array_agg({a = t.a, b = t.b}), ys = array_agg(t.y) }
`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := prog.Columns("v")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cols[0].Elem(); ok || cols[0].Fields() != nil {
		t.Errorf("int8 column has an element or fields")
	}
	xs := cols[1]
	elem, ok := xs.Elem()
	if !ok || xs.Nullable || elem.Type != "{a int4?, b text[]}" || elem.Nullable {
		t.Fatalf("xs = %+v, element %+v, %v; want an array of {a int4?, b text[]}", xs, elem, ok)
	}
	fields := elem.Fields()
	if len(fields) != 2 || fields[0].Name != "a" || fields[0].Type != "int4" || !fields[0].Nullable ||
		fields[1].Name != "b" || fields[1].Type != "text[]" || fields[1].Nullable {
		t.Fatalf("fields = %+v", fields)
	}
	if e, ok := fields[1].Elem(); !ok || e.Type != "text" || e.Nullable {
		t.Errorf("b's element = %+v, %v; want text", e, ok)
	}
	if e, ok := cols[2].Elem(); !ok || e.Type != "numeric(10,2)" || !e.Nullable {
		t.Errorf("ys element = %+v, %v; want nullable numeric(10,2)", e, ok)
	}
}
