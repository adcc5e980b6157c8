package runtime

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestTableRefusesBadValues steps a keyed table with one row whose value
// is not of its column's type, alone and in the middle of a batch big
// enough to be resolved by partition, on one worker and on two: the step
// must fail naming the column and the Go type given, and the table must
// hold nothing of the batch. The good rows alone must be taken.
func TestTableRefusesBadValues(t *testing.T) {
	c := lower(t, `
table t (k int8, name text, n int4, price numeric, primary key (k))
view s = t | group by name { total = sum(n) }
output s
`)
	good := func(k int64) []any { return []any{k, fmt.Sprint("p", k%7), int64(1), decimal.New(k, -2)} }
	tests := []struct {
		name string
		bad  []any
		want string // in the error
	}{
		{"text in int8", []any{"1", "p", int64(1), decimal.New(1, 0)}, "column k: want a int8 value, got string"},
		{"Go int in int8", []any{1, "p", int64(1), decimal.New(1, 0)}, "column k: want a int8 value, got int"},
		{"int8 in text", []any{int64(1), int64(2), int64(1), decimal.New(1, 0)}, "column name: want a text value, got int64"},
		{"bytes in text", []any{int64(1), []byte("p"), int64(1), decimal.New(1, 0)}, "column name: want a text value, got []uint8"},
		{"int4 out of range", []any{int64(1), "p", int64(1) << 40, decimal.New(1, 0)}, "column n: integer out of range"},
		{"float in numeric", []any{int64(1), "p", int64(1), 1.5}, "column price: want a numeric value, got float64"},
		{"NULL in text", []any{int64(1), nil, int64(1), decimal.New(1, 0)}, "column name: NULL in a non-null column"},
	}
	for _, workers := range []int{1, 2} {
		for _, size := range []int{1, 3000} {
			for _, tt := range tests {
				t.Run(fmt.Sprintf("workers=%d/size=%d/%s", workers, size, tt.name), func(t *testing.T) {
					ctx := context.Background()
					e := NewWithOptions(c, NewMemoryStore(), Options{Workers: workers})
					var changes []Change
					for k := range int64(size - 1) {
						changes = append(changes, Change{Op: Insert, Row: good(k + 10)})
					}
					at := len(changes) / 2
					changes = append(changes[:at], append([]Change{{Op: Insert, Row: tt.bad}}, changes[at:]...)...)
					_, err := e.Step(ctx, map[string][]Change{"t": changes})
					if err == nil || !strings.Contains(err.Error(), tt.want) {
						t.Fatalf("got %v, want an error saying %q", err, tt.want)
					}
					if n := e.tables["t"].contents().Len(); n != 0 {
						t.Fatalf("the failed step left %d rows in the table", n)
					}
					if _, err := e.Step(ctx, map[string][]Change{"t": append(changes[:at:at], changes[at+1:]...)}); err != nil {
						t.Fatalf("the good rows alone: %v", err)
					}
					if n := e.tables["t"].contents().Len(); n != size-1 {
						t.Fatalf("the table holds %d rows, want %d", n, size-1)
					}
				})
			}
		}
	}
}
