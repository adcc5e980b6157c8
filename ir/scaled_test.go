package ir

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// TestScaledMatchesEval checks that, wherever a ScaledFunc gives a
// coefficient, it is the decimal Eval gives, spelled the same, over rows
// of small, large, negative and NULL prices and quantities; and that the
// expressions it does not read get none.
func TestScaledMatchesEval(t *testing.T) {
	numeric, int4, int8 := types.Type{Kind: types.Numeric}, types.Type{Kind: types.Int4}, types.Type{Kind: types.Int8}
	price := &typecheck.ColRef{Index: 0, Name: "price", T: numeric}
	qty := &typecheck.ColRef{Index: 1, Name: "qty", T: int4}
	large := &typecheck.ColRef{Index: 2, Name: "large", T: int8}
	mul := func(x, y typecheck.Expr) typecheck.Expr {
		return &typecheck.Binary{Op: lang.Mul, X: x, Y: y, T: numeric}
	}
	read := []typecheck.Expr{price, mul(price, qty), mul(qty, price), mul(price, large), mul(large, price), mul(mul(price, qty), qty)}
	notRead := []typecheck.Expr{
		qty,
		&typecheck.Binary{Op: lang.Add, X: price, Y: qty, T: numeric},
		mul(price, price),
		mul(price, &typecheck.Const{Value: int64(2), T: int4}),
	}
	for _, e := range notRead {
		if Compile(e).Scaled != nil {
			t.Errorf("%s: has a ScaledFunc", render(e))
		}
	}
	huge := decimal.NewFromBigInt(new(big.Int).Lsh(big.NewInt(1), 70), -2)
	prices := []any{nil, decimal.New(0, 0), decimal.New(1999, -2), decimal.New(-5, -3), decimal.New(1<<53-1, -2), decimal.New(1<<53, -2), huge, decimal.New(7, 3)}
	ints := []any{nil, int64(0), int64(1), int64(-3), int64(1 << 40), int64(math.MaxInt64), int64(math.MinInt64)}
	r := rand.New(rand.NewPCG(1, 2))
	for _, e := range read {
		s := Compile(e)
		if s.Scaled == nil {
			t.Fatalf("%s: no ScaledFunc", render(e))
		}
		readSome := false
		for range 2000 {
			row := zset.Row{prices[r.IntN(len(prices))], ints[r.IntN(len(ints))], ints[r.IntN(len(ints))]}
			want, err := s.Eval(row)
			coef, exp, ok := s.Scaled(row)
			if !ok {
				continue
			}
			readSome = true
			if err != nil {
				t.Fatalf("%s over %v: Scaled gives %de%d, Eval fails: %v", render(e), row, coef, exp, err)
			}
			if got := decimal.New(coef, exp); want == nil || types.RowKey([]any{got}) != types.RowKey([]any{want}) {
				t.Fatalf("%s over %v: Scaled gives %s, Eval %v", render(e), row, got, want)
			}
		}
		if !readSome {
			t.Errorf("%s: Scaled read no row", render(e))
		}
	}
}
