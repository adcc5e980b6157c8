package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
)

// items is the table the change-file tests load: a key, a numeric and a
// text column.
var items = &ir.Input{
	Name: "items",
	Columns: []ir.Column{
		{Name: "id", Type: types.Of(types.Int8)},
		{Name: "price", Type: types.Of(types.Numeric)},
		{Name: "note", Type: types.Of(types.Text)},
	},
	PrimaryKey: []int{0},
}

// loadFile writes one data file for items into a fresh directory and
// loads it.
func loadFile(t *testing.T, name, content string) (*runtime.Batches, string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := runtime.LoadChangeDir(dir, true, []*ir.Input{items})
	return b, dir, err
}

// TestChangeFileRejects checks data Postgres would refuse: each is an
// error at the file, line and column of the offending value or byte.
func TestChangeFileRejects(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                string // after "DIR/"
	}{
		{"csv numeric overflow", "items.csv", "id,price,note\n1,2.5,a\n2,1e100000000,b\n",
			"items.csv:3:3: column price: value overflows numeric format"},
		{"csv numeric too many digits", "items.csv", "id,price,note\n1," + strings.Repeat("9", 131073) + ",b\n",
			"items.csv:2:3: column price: value overflows numeric format"},
		{"csv numeric scale", "items.csv", "id,price,note\n1,1e-16384,b\n",
			"items.csv:2:3: column price: value overflows numeric format"},
		{"jsonl numeric overflow", "items.jsonl", `{"id": 1, "price": 2.5, "note": "a"}` + "\n" + `{"id": 2, "price": 1e100000000, "note": "b"}` + "\n",
			"items.jsonl:2:20: column price: value overflows numeric format"},
		{"jsonl numeric as string", "items.jsonl", `{"id": 2,` + "\n" + ` "price": "-1e131072", "note": "b"}` + "\n",
			"items.jsonl:2:11: column price: value overflows numeric format"},
		{"csv invalid UTF-8", "items.csv", "id,price,note\n1,2.5,caf\xe9\n",
			"items.csv:2:10: invalid UTF-8: byte 0xe9"},
		{"csv NUL", "items.csv", "id,price,note\n1,2.5,a\x00b\n",
			"items.csv:2:8: a NUL byte"},
		{"csv NUL in header after a BOM", "items.csv", "\xef\xbb\xbfid,pri\x00ce,note\n",
			"items.csv:1:10: a NUL byte"},
		{"jsonl invalid UTF-8", "items.jsonl", `{"id": 1, "price": 2.5, "note": "caf` + "\xe9" + `"}`,
			"items.jsonl:1:37: invalid UTF-8: byte 0xe9"},
		{"jsonl NUL escape", "items.jsonl", `{"id": 1, "price": 2.5, "note": "a\u0000b"}`,
			"items.jsonl:1:33: column note: text can't hold the NUL character"},
		{"jsonl bad step", "items.jsonl", "\n  " + `{"_step": 0, "id": 1, "price": 2.5, "note": "a"}`,
			"items.jsonl:2:3: _step must be a whole number"},
	}
	for _, tt := range tests {
		_, dir, err := loadFile(t, tt.file, tt.content)
		if err == nil {
			t.Errorf("%s: loaded, want error %q", tt.name, tt.want)
			continue
		}
		if got := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// TestChangeFileAccepts checks what loads: a CSV file starting with a
// byte-order mark (not part of the first column's name), and JSONL with
// values over several lines.
func TestChangeFileAccepts(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                string // the rows of step 1
	}{
		{"csv with BOM", "items.csv", "\xef\xbb\xbfid,price,note\n1,2.50,é\n", "[1 2.50 é]"},
		{"csv zero with a huge exponent", "items.csv", "id,price,note\n1,0e100000000,x\n", "[1 0 x]"},
		{"jsonl with BOM", "items.jsonl", "\xef\xbb\xbf" + `{"id": 1, "price": 2.50, "note": "é"}`, "[1 2.50 é]"},
		{"jsonl over lines", "items.jsonl", "{\"id\": 1,\n \"price\": 1e3,\n \"note\": \"x\"}\n\n{\"id\": 2, \"price\": 0.5, \"note\": \"y\"}\n", "[1 1000 x] [2 0.5 y]"},
	}
	for _, tt := range tests {
		b, _, err := loadFile(t, tt.file, tt.content)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var rows []string
		for _, c := range b.Changes[1]["items"] {
			var vs []string
			for i, v := range c.Row {
				vs = append(vs, types.Format(v, items.Columns[i].Type))
			}
			rows = append(rows, "["+strings.Join(vs, " ")+"]")
		}
		if got := strings.Join(rows, " "); got != tt.want {
			t.Errorf("%s: rows %s, want %s", tt.name, got, tt.want)
		}
	}
}
