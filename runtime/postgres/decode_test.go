package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/valyala/fastjson"
)

// fromLogValue reads every value as encoding/json's path into
// types.FromJSON does: the same value, or an error for the same input.
func TestFromLogValueAgreesWithEncodingJSON(t *testing.T) {
	num := types.Type{Kind: types.Numeric}
	flt := types.Type{Kind: types.Float8}
	for _, c := range []struct {
		json string
		typ  types.Type
	}{
		{`1.50`, num}, {`-0.000`, num}, {`"NaN"`, num}, {`12345678901234567890.123`, num}, {`1e3`, num},
		{`-0`, flt}, {`"Infinity"`, flt}, {`"-Infinity"`, flt}, {`"NaN"`, flt}, {`1.5e300`, flt}, {`5e-324`, flt},
		{`9223372036854775807`, types.Type{Kind: types.Int8}}, {`-32768`, types.Type{Kind: types.Int2}}, {`1.5`, types.Type{Kind: types.Int4}},
		{`"o'neil \"q\" \u00e9 \ud83d\ude00 \n\t"`, types.Type{Kind: types.Text}}, {`""`, types.Type{Kind: types.Text}},
		{`true`, types.Type{Kind: types.Bool}}, {`false`, types.Type{Kind: types.Bool}}, {`"t"`, types.Type{Kind: types.Bool}},
		{`null`, types.Type{Kind: types.Int8, Nullable: true}},
		{`"2024-03-01T09:30:00.123456+00:00"`, types.Type{Kind: types.Timestamptz}}, {`"2024-03-01"`, types.Type{Kind: types.Date}},
		{`"1 day 02:00:00"`, types.Type{Kind: types.Interval}},
		{`"5f1c4f3a-8d2e-4b7a-9c1d-2e3f4a5b6c7d"`, types.Type{Kind: types.UUID}},
		{`{"b": [1, 2.50], "a": "x"}`, types.Type{Kind: types.JSONB}}, {`"just text"`, types.Type{Kind: types.JSONB}},
		{`[1.50, null, 2]`, types.Type{Kind: types.Array, Elem: &num}},
		{`[1, 2]`, types.Type{Kind: types.Int8}}, {`{"a": 1}`, types.Type{Kind: types.Text}},
	} {
		t.Run(c.json+" as "+c.typ.String(), func(t *testing.T) {
			dec := json.NewDecoder(bytes.NewReader([]byte(c.json)))
			dec.UseNumber()
			var x any
			if err := dec.Decode(&x); err != nil {
				t.Fatal(err)
			}
			want, wantErr := fromLogJSON(x, c.typ)
			v, err := fastjson.Parse(c.json)
			if err != nil {
				t.Fatal(err)
			}
			got, gotErr := fromLogValue(v, c.typ)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("error %v, want %v", gotErr, wantErr)
			}
			if wantErr == nil && (types.RowKey([]any{got}) != types.RowKey([]any{want}) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want)) {
				t.Fatalf("got %#v, want %#v", got, want)
			}
		})
	}
}

// The backfill keeps no integral of its last source that only the other
// sources' changes look into (they all come first, when it is empty),
// and keeps one a self-join reads.
func TestBackfillSkipsOnlyUnprobedIntegrals(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      bool
	}{
		{"join of two sources", `table p (name text, price numeric, primary key (name))
table li (basket int8, name text, qty int4, primary key (basket, name))
view v = li | join p on li.name == p.name | group by li.basket { n = count() }
`, true},
		{"self-join", `table li (basket int8, name text, qty int4, primary key (basket, name))
view v = li | join li as other on li.name == other.name | select { li.basket, other.qty }
`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			prog, err := compile.Compile(context.Background(), "test.step", c.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, n := range prog.Circuit.Nodes {
				op, ok := n.Op.(*ir.Integrate)
				if !ok || len(n.Inputs) != 1 {
					continue
				}
				src, ok := n.Inputs[0].Op.(*ir.Source)
				if !ok || src.Table != "li" || len(op.Key) == 0 {
					continue
				}
				found = true
				if got := probedOnlyByOthers(prog.Circuit, n.ID, "li"); got != c.want {
					t.Errorf("integral n%d of li: probed only by other sources = %v, want %v", n.ID, got, c.want)
				}
			}
			if !found {
				t.Fatal("no integral of li")
			}
		})
	}
}
