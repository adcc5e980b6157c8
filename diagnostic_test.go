package stepping_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
	"github.com/stepping-io/stepping/zset"
)

// TestDiagnosticsOfRuntimeErrors checks that an error of a failed step,
// however it is wrapped (by the engine, by a caller, by the Postgres
// runner's Failure), gives one diagnostic placed at the expression that
// failed, formatted as a type error is; and that errors not about the
// program's text give none.
func TestDiagnosticsOfRuntimeErrors(t *testing.T) {
	const src = "table items (id int4, qty int4, primary key (id))\n" +
		"fn ratio(a int4, b int4) int4 = a / b\n" +
		"view per = items | select { id, share = 100 / qty }\n" +
		"view r = items | where id > 1 | select { id, r = ratio(id, qty - 1) }\n"
	prog, err := compile.Compile(context.Background(), "shares.step", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	fail := func(row zset.Row) error {
		eng := prog.NewEngine(runtime.NewMemoryStore())
		_, err := eng.Step(context.Background(), map[string][]runtime.Change{"items": {{Op: runtime.Insert, Row: row}}})
		if err == nil {
			t.Fatalf("inserting %v did not fail", row)
		}
		return err
	}
	zero, one := fail(zset.Row{int64(1), int64(0)}), fail(zset.Row{int64(2), int64(1)})
	tests := []struct {
		name string
		err  error
	}{
		{"engine", zero},
		{"in a function", one},
		{"wrapped", fmt.Errorf("applying batch 3: %w", zero)},
		{"postgres failure", &postgres.Failure{Program: "stepping_shares", View: "per", Err: zero}},
		{"not about the text", errors.New("connection refused")},
	}
	var out strings.Builder
	for _, tt := range tests {
		ds := stepping.Diagnostics(tt.err)
		fmt.Fprintf(&out, "-- %s: %d diagnostics\n", tt.name, len(ds))
		for _, d := range ds {
			js, _ := json.Marshal(d)
			fmt.Fprintf(&out, "%s\n%s", js, d.Format(src))
		}
	}
	golden.Check(t, filepath.Join("testdata", "diagnostics_runtime.golden"), out.String())
}
