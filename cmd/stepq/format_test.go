package main

import (
	"strings"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestPrinterCSVAndJSON prints rows with a NULL, an empty string and
// text CSV must quote, as COPY ... CSV and JSON write them.
func TestPrinterCSVAndJSON(t *testing.T) {
	note := types.Of(types.Text)
	note.Nullable = true
	cols := []ir.Column{{Name: "id", Type: types.Of(types.Int8)}, {Name: "note", Type: note}}
	z := zset.New()
	z.Add(zset.Row{int64(1), nil}, 1)
	z.Add(zset.Row{int64(2), ""}, 1)
	z.Add(zset.Row{int64(3), `a, "b"`}, -1)
	tests := []struct {
		format outputFormat
		want   string
	}{
		{formatCSV, "step,view,weight,id,note\n4,v,1,1,\n4,v,1,2,\"\"\n4,v,-1,3,\"a, \"\"b\"\"\"\n"},
		{formatJSONL, `{"step":4,"view":"v","weight":1,"row":{"id":1,"note":null}}` + "\n" +
			`{"step":4,"view":"v","weight":1,"row":{"id":2,"note":""}}` + "\n" +
			`{"step":4,"view":"v","weight":-1,"row":{"id":3,"note":"a, \"b\""}}` + "\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		p := &printer{w: &b, format: tt.format}
		if err := p.changes(4, "v", cols, z); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.format, b.String(), tt.want)
		}
	}
}
