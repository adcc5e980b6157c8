package runtime

import (
	"slices"
	"testing"
	"time"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/zset"
)

// TestRankedRowsKeepNoBatchArray checks where the rows a ranking keeps
// find their order keys: in the row itself when the keys are columns in
// order, or else in an array of their own, never in the array of a whole
// batch's keys, which one row kept for years would hold alive.
func TestRankedRowsKeepNoBatchArray(t *testing.T) {
	for _, tc := range []struct {
		name, view string
		inRow      bool // the keys are a slice of the row
	}{
		{"one column", "s | top 2 by at desc per u", true},
		{"columns in order", "s | top 2 by at, n per u", true},
		{"columns out of order", "s | top 2 by n, at per u", false},
		{"computed", "s | top 2 by n * 2 per u", false},
		{"window", "s | window by at per u { prev = lag(n) }", true},
		{"window, computed", "s | window by -n per u { prev = lag(n) }", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := rankedOp(t, "table s (u int8, at timestamp, n int8)\nview v = "+tc.view+"\n")
			base := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
			var d batch
			for i := range 8 {
				d = append(d, zset.Entry{Row: zset.Row{int64(i % 2), base.Add(time.Duration(i) * time.Hour), int64(i)}, Weight: 1})
			}
			rb, _, _, err := routeRanked(op, d)
			if err != nil {
				t.Fatal(err)
			}
			for i := range int32(len(d)) {
				it := rb.kept(i)
				if inRow := &it.Sort[0] == &it.Row[1]; inRow != tc.inRow {
					t.Errorf("row %v: order keys in the row %v, want %v", it.Row, inRow, tc.inRow)
				}
				for j := range rb.sorts {
					if &it.Sort[0] == &rb.sorts[j] {
						t.Errorf("row %v: order keys kept in the batch's array", it.Row)
					}
				}
				if want := rb.row(i).Sort; !slices.Equal(it.Sort, want) {
					t.Errorf("row %v: order keys %v, want %v", it.Row, it.Sort, want)
				}
			}
		})
	}
}

// rankedOp lowers src and returns its top-k or window as a TopK.
func rankedOp(t *testing.T, src string) *ir.TopK {
	t.Helper()
	c := lower(t, src)
	for _, n := range c.Nodes {
		switch op := n.Op.(type) {
		case *ir.TopK:
			return op
		case *ir.Window:
			return &ir.TopK{By: op.By, Per: op.Per}
		}
	}
	t.Fatal("no top-k or window")
	return nil
}

// lower parses, checks and lowers src.
func lower(t *testing.T, src string) *ir.Circuit {
	t.Helper()
	f, err := lang.Parse("test.step", src)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := typecheck.Check(f, &typecheck.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ir.Lower(checked)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
