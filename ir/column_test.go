package ir

import (
	"testing"

	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
)

// Column tells a plain column reference from any other expression, and
// leaves the fingerprint to Canon.
func TestScalarColumn(t *testing.T) {
	int4 := types.Type{Kind: types.Int4}
	for _, c := range []struct {
		e    typecheck.Expr
		want int
	}{
		{&typecheck.ColRef{Index: 0, Name: "a", T: int4}, 0},
		{&typecheck.ColRef{Index: 3, Name: "b", T: int4}, 3},
		{&typecheck.Const{Value: int64(1), T: int4}, -1},
		{&typecheck.Cast{X: &typecheck.ColRef{Index: 1, Name: "c", T: int4}, T: types.Type{Kind: types.Int8}}, -1},
	} {
		s := Compile(c.e)
		i, ok := s.Column()
		if !ok {
			i = -1
		}
		if i != c.want {
			t.Errorf("%s: Column() = %d, %v; want %d", s.Text, i, ok, c.want)
		}
	}
}
