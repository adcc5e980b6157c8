package typecheck_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
)

// memCatalog holds, in memory, what package pgcatalog's test reads from
// Postgres, so that the checker's use of a catalog is tested without a
// database.
func memCatalog() typecheck.MapCatalog {
	typ := func(k types.Kind, nullable bool) types.Type {
		t := types.Of(k)
		t.Nullable = nullable
		return t
	}
	total := types.Of(types.Numeric)
	total.Precision, total.Scale = 12, 2
	orders := &typecheck.CatalogTable{
		Schema: "shop", Name: "orders", PrimaryKey: []string{"id"},
		Columns: []typecheck.CatalogColumn{
			{Name: "id", Type: typ(types.Int8, false)},
			{Name: "customer", Type: typ(types.Text, false)},
			{Name: "total", Type: total},
			{Name: "note", Type: typ(types.Text, true)},
		},
	}
	return typecheck.MapCatalog{
		"orders":      orders,
		"shop.orders": orders,
		"odd": {
			Schema: "shop", Name: "odd", PrimaryKey: []string{"id"},
			Columns: []typecheck.CatalogColumn{
				{Name: "id", Type: typ(types.Int4, false)},
				{Name: "pos", Unsupported: "point"},
			},
		},
		"t": {
			Schema: "shop", Name: "t", PrimaryKey: []string{"id"},
			Columns: []typecheck.CatalogColumn{{Name: "id", Type: typ(types.Int4, false)}},
		},
	}
}

// TestCheckCatalog checks programs against a catalog held in memory: the
// checker reaches tables only through the Catalog interface.
func TestCheckCatalog(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // columns of view v and its source's table, or the errors
	}{
		{
			name: "row type from the catalog",
			src:  "source o = table orders\nview v = o\n",
			want: "id int8, customer text, total numeric(12,2), note text? from shop.orders key [0]",
		},
		{
			name: "schema-qualified name",
			src:  "source o = table shop.orders\nview v = o\n",
			want: "id int8, customer text, total numeric(12,2), note text? from shop.orders key [0]",
		},
		{
			name: "declared columns agree, key from the catalog",
			src:  "source o = table orders (id int8, total numeric(12,2))\nview v = o\n",
			want: "id int8, total numeric(12,2) from shop.orders key [0]",
		},
		{
			name: "declared columns leave the key out",
			src:  "source o = table orders (customer text)\nview v = o\n",
			want: "customer text from shop.orders key []",
		},
		{
			name: "declared table is the database's",
			src:  "table t (id int4)\nview v = t\n",
			want: "id int4 from shop.t key [0]",
		},
		{
			name: "declared type disagrees, column missing, table missing",
			src:  "source o = table orders (id int4, totl numeric(12,2))\nsource p = table nowhere\nview v = o\n",
			want: "2:29: column id is declared int4 but is int8 in the database (declare it as int8)\n" +
				"2:35: table orders in the database has no column totl (did you mean total?)\n" +
				"3:18: the database has no table nowhere",
		},
		{
			name: "declared non-null, nullable in the database",
			src:  "source o = table orders (id int8, note text)\nview v = o\n",
			want: "2:40: column note is declared text but is text? in the database (declare it as text?, or make the table's column NOT NULL: ALTER TABLE orders ALTER COLUMN note SET NOT NULL)",
		},
		{
			name: "unsupported type",
			src:  "source x = table odd\nview v = x\n",
			want: "2:18: column pos of odd has type point, which stepping does not support yet (declare the columns you need, leaving this one out)",
		},
		{
			name: "unsupported type declared",
			src:  "source x = table odd (id int4, pos text)\nview v = x\n",
			want: "2:36: column pos has type point in the database, which stepping does not support yet",
		},
		{
			name: "unsupported column left out",
			src:  "source x = table odd (id int4)\nview v = x\n",
			want: "id int4 from shop.odd key [0]",
		},
		{
			name: "three-part name",
			src:  "source x = table a.b.c\nview v = x\n",
			want: "2:18: a table name has at most two parts, schema.table",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "# test\n" + tt.src
			f, err := lang.Parse("t.step", src)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := typecheck.Check(f, &typecheck.Config{Catalog: memCatalog()})
			if got := checked(prog, err); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// checked renders view v's columns with its input table's source and key,
// or the errors without the file name.
func checked(prog *typecheck.Program, err error) string {
	if err != nil {
		var lines []string
		for _, e := range err.(lang.ErrorList) {
			lines = append(lines, strings.TrimPrefix(e.Error(), "t.step:"))
		}
		return strings.Join(lines, "\n")
	}
	var cols []string
	for _, c := range prog.View("v").Columns {
		cols = append(cols, c.Name+" "+c.Type.String())
	}
	tab := prog.Tables[0]
	return fmt.Sprintf("%s from %s.%s key %v", strings.Join(cols, ", "), tab.Source.Schema, tab.Source.Name, tab.PrimaryKey)
}

func TestCatalogNames(t *testing.T) {
	tests := []struct {
		name, src string
		want      [][]string
	}{
		{"sources and tables in order", "source a = table shop.orders\ntable t (id int4)\nsource b = table odd\n",
			[][]string{{"shop", "orders"}, {"t"}, {"odd"}}},
		{"each name once", "source a = table orders\nsource b = table orders\nsource c = table shop.orders\n",
			[][]string{{"orders"}, {"shop", "orders"}}},
		{"three parts left out", "source a = table x.y.z\n", nil},
		{"views and functions ask nothing", "table t (id int4)\nview v = t\n", [][]string{{"t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := lang.Parse("t.step", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := typecheck.CatalogNames(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
