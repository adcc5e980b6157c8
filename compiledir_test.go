package stepping_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
)

// writeDir writes files (a name with a slash: in a subdirectory) into a
// new directory named name under a temporary one and returns its path.
func writeDir(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, text := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCompileDir compiles programs split over files: declarations refer
// across files in any order, and each diagnostic names its own file.
func TestCompileDir(t *testing.T) {
	tables := "table products (name text, price numeric, primary key (name))\n"
	tests := []struct {
		name  string
		files map[string]string
		views []string // in declaration order, files by name
		diags []string // "file:line:col: message", the file relative to the directory
	}{
		{
			name: "views before the tables they read",
			files: map[string]string{
				"a.step":       "view cheap = products | where price < 10\n",
				"b.step":       "view names = cheap | select { name }\n",
				"c.step":       tables,
				"notes.txt":    "not a program",
				"sub/d.step":   "view ignored = nothing | distinct\n",
				"products.csv": "name,price\n",
			},
			views: []string{"cheap", "names"},
		},
		{
			name:  "declared in two files",
			files: map[string]string{"a.step": tables, "b.step": "\n" + tables},
			diags: []string{"b.step:2:7: products is already declared at DIR/a.step:1:7"},
		},
		{
			name:  "defined nowhere",
			files: map[string]string{"a.step": tables, "b.step": "view v = orders | distinct\n"},
			diags: []string{"b.step:1:10: unknown table or view orders"},
		},
		{
			name: "syntax errors in two files",
			files: map[string]string{
				"a.step": "view v = products |\n" + tables,
				"b.step": "view w =\n",
			},
			diags: []string{"a.step:2:1: syntax error", "b.step:1:9: syntax error: unexpected end of file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, "My-Shop", tt.files)
			prog, err := stepping.CompileDir(dir)
			var got []string
			for _, d := range stepping.Diagnostics(err) {
				s := strings.TrimPrefix(d.String(), dir+string(filepath.Separator))
				got = append(got, strings.ReplaceAll(s, dir, "DIR"))
			}
			if len(tt.diags) > 0 || err != nil {
				if len(got) != len(tt.diags) {
					t.Fatalf("err %v; diagnostics %q, want %q", err, got, tt.diags)
				}
				for i := range got {
					if !strings.HasPrefix(got[i], tt.diags[i]) {
						t.Errorf("diagnostic %d: %q, want it to begin %q", i, got[i], tt.diags[i])
					}
				}
				return
			}
			if !slices.Equal(prog.Views(), tt.views) {
				t.Errorf("views %q, want %q", prog.Views(), tt.views)
			}
			if prog.Filename() != dir {
				t.Errorf("Filename %q, want %q", prog.Filename(), dir)
			}
			if s := stepping.DefaultSchema(prog.Filename()); s != "stepping_my_shop" {
				t.Errorf("DefaultSchema %q, want stepping_my_shop", s)
			}
		})
	}
}

// TestCompileDirEmpty: a directory without a .step file is an error, not
// an empty program.
func TestCompileDirEmpty(t *testing.T) {
	dir := writeDir(t, "empty", map[string]string{"readme.txt": "x"})
	if _, err := stepping.CompileDir(dir); err == nil || !strings.Contains(err.Error(), "no .step files") {
		t.Fatalf("err %v, want no .step files", err)
	}
}

// TestCompileDirDB types a directory program's source from the catalog.
func TestCompileDirDB(t *testing.T) {
	pool, _ := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "create table multifile_items (id int8 primary key, label text)"); err != nil {
		t.Fatal(err)
	}
	dir := writeDir(t, "items", map[string]string{
		"a.step": "view labels = items | select { label }\n",
		"b.step": "source items = table multifile_items\n",
	})
	prog, err := stepping.CompileDirDB(ctx, dir, pool)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := prog.Columns("labels")
	if err != nil || len(cols) != 1 || cols[0].Name != "label" {
		t.Fatalf("columns %v, %v; want label", cols, err)
	}
}
