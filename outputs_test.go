package stepping_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/stepping-io/stepping"
)

const outputsProgram = `table t (a int8, b text, c int4, primary key (a))
view keyed = t | select { a, b }
view indexed = t | select { a, b, c }
view plain = t | select { b }
view hidden = t | select { c }
output keyed to table keyed primary key (a)
output indexed to table indexed index (b) index (c, a)
output plain
`

// TestOutputKeys checks the primary key and indexes each output declares,
// and that a view not output, or a table, is ErrNotFound.
func TestOutputKeys(t *testing.T) {
	prog, err := stepping.Compile("outputs.step", outputsProgram)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		view     string
		pk       []string
		indexes  [][]string
		notFound bool
	}{
		{view: "keyed", pk: []string{"a"}},
		{view: "indexed", indexes: [][]string{{"b"}, {"c", "a"}}},
		{view: "plain"},
		{view: "hidden", notFound: true},
		{view: "t", notFound: true},
	} {
		pk, err1 := prog.OutputPrimaryKey(tc.view)
		ix, err2 := prog.OutputIndexes(tc.view)
		if tc.notFound {
			if !errors.Is(err1, stepping.ErrNotFound) || !errors.Is(err2, stepping.ErrNotFound) {
				t.Errorf("%s: errors %v, %v; want ErrNotFound", tc.view, err1, err2)
			}
			continue
		}
		if err1 != nil || err2 != nil || !reflect.DeepEqual(pk, tc.pk) || !reflect.DeepEqual(ix, tc.indexes) {
			t.Errorf("%s: primary key %q, %v; indexes %q, %v; want %q, %q", tc.view, pk, err1, ix, err2, tc.pk, tc.indexes)
		}
	}
}

// TestOutputKeysNoOutputs checks that a program declaring no output
// outputs every view, each without keys.
func TestOutputKeysNoOutputs(t *testing.T) {
	prog, err := stepping.Compile("noout.step", "table t (a int8)\nview v = t | select { a }\n")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := prog.OutputPrimaryKey("v")
	if err != nil || pk != nil {
		t.Errorf("OutputPrimaryKey(v) = %q, %v; want nil, nil", pk, err)
	}
}

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
