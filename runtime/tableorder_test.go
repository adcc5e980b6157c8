package runtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// TestTablesFailInOrder checks which table fails a step whose changes
// to several tables are bad, or name a table there is not: the first in
// order of name, on one worker and with the tables split over workers
// and resolved side by side; and that the failed step changes no table.
func TestTablesFailInOrder(t *testing.T) {
	const src = `
table a (id int8, v int8, primary key (id))
table b (id int8, v int8, primary key (id))
view n = a | join b on a.id == b.id | select { id = a.id, s = a.v + b.v }
`
	prog, err := compile.Compile(context.Background(), "ab.step", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	ins := func(id, v int64) runtime.Change { return runtime.Change{Op: runtime.Insert, Row: zset.Row{id, v}} }
	good := []runtime.Change{ins(10, 1), ins(11, 2), ins(12, 3)}
	bad := []runtime.Change{ins(20, 1), ins(20, 2), ins(21, 3)} // key 20 twice
	tests := []struct {
		name    string
		changes map[string][]runtime.Change
		want    string
	}{
		{"both bad", map[string][]runtime.Change{"a": bad, "b": bad}, "table a"},
		{"second bad", map[string][]runtime.Change{"a": good, "b": bad}, "table b"},
		{"bad before unknown", map[string][]runtime.Change{"a": bad, "zz": good}, "table a"},
		{"unknown after good", map[string][]runtime.Change{"a": good, "b": good, "zz": good}, "unknown table zz"},
	}
	for _, opts := range []runtime.Options{{}, {Workers: 2, ParallelBatch: 1}, {Workers: 3, ParallelBatch: 2}} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("workers=%d/%s", opts.Workers, tt.name), func(t *testing.T) {
				eng := runtime.NewWithOptions(prog.Circuit, runtime.NewMemoryStore(), opts)
				_, err := eng.Step(context.Background(), tt.changes)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one naming %q", err, tt.want)
				}
				for _, table := range []string{"a", "b"} {
					if z, _ := eng.Contents(table); z != nil && !z.IsEmpty() {
						t.Errorf("table %s holds %v after the failed step", table, z.Entries())
					}
				}
				if _, err := eng.Step(context.Background(), map[string][]runtime.Change{"a": good, "b": good}); err != nil {
					t.Fatalf("the next step: %v", err)
				}
				if z, _ := eng.Contents("n"); z.Len() != len(good) {
					t.Errorf("n holds %v, want %d rows", z.Entries(), len(good))
				}
			})
		}
	}
}
