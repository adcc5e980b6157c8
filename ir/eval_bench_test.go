package ir_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/zset"
)

// BenchmarkEvalCall measures evaluating a select's expressions over a
// row, one built-in call each: the shop's receipt line, and nested
// calls with a let; by Eval, and by EvalIn in a frame lent for all the
// rows, as a select evaluates a batch.
func BenchmarkEvalCall(b *testing.B) {
	const table = "table t (basket_id int8, total numeric, s text)\n"
	row := zset.Row{int64(12345), decimal.New(123456, -2), "Hello"}
	for _, bc := range []struct{ name, expr string }{
		{"format", `format("Basket id: %s total: $%s", basket_id, total)`},
		{"nested", `let u = upper(s) in concat(u, lower(s), length(u))`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			x := mapOf(b, lowerSrc(b, table+"view v = t | select { x = "+bc.expr+" }\n")).Exprs[0]
			b.Run("Eval", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := x.Eval(row); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("EvalIn", func(b *testing.B) {
				frame := make([]any, x.FrameSize())
				b.ReportAllocs()
				for b.Loop() {
					if _, err := x.EvalIn(row, frame); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
