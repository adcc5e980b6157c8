package tablefmt_test

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

func TestWriteOptions(t *testing.T) {
	note := types.Of(types.Text)
	note.Nullable = true
	cols := []ir.Column{{Name: "name", Type: types.Of(types.Text)}, {Name: "price", Type: types.Of(types.Numeric)}, {Name: "note", Type: note}}
	z := zset.New()
	z.Add(zset.Row{"東京タワー", decimal.RequireFromString("3.50"), nil}, 1)
	z.Add(zset.Row{"tv", decimal.RequireFromString("10"), ""}, 2)
	tests := []struct {
		name string
		opts tablefmt.Options
		want string
	}{
		{"aligned, wide characters", tablefmt.Options{}, `    name    | price | note
------------+-------+------
 tv         |    10 |
 tv         |    10 |
 東京タワー |  3.50 |
(3 rows)
`},
		{"null shown", tablefmt.Options{Null: "(null)"}, `    name    | price |  note
------------+-------+--------
 tv         |    10 |
 tv         |    10 |
 東京タワー |  3.50 | (null)
(3 rows)
`},
		{"expanded", tablefmt.Options{Expanded: true, Null: "∅"}, `-[ RECORD 1 ]-----
name  | tv
price | 10
note  |
-[ RECORD 2 ]-----
name  | tv
price | 10
note  |
-[ RECORD 3 ]-----
name  | 東京タワー
price | 3.50
note  | ∅
(3 rows)
`},
		{"csv", tablefmt.Options{Format: tablefmt.CSV, Null: `\N`}, `name,price,note
tv,10,
tv,10,
東京タワー,3.50,\N
`},
		{"json", tablefmt.Options{Format: tablefmt.JSON}, `{"name":"tv","price":"10","note":""}
{"name":"tv","price":"10","note":""}
{"name":"東京タワー","price":"3.50","note":null}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tablefmt.WriteOptions(&b, cols, z, false, tt.opts); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
