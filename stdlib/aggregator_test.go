package stdlib_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

// TestAggregatorsBound checks that every aggregate has an implementation.
func TestAggregatorsBound(t *testing.T) {
	for name, a := range stdlib.Aggregates() {
		if a.New == nil {
			t.Errorf("aggregate %s has no New", name)
		}
	}
}

// TestVariance folds values into stddev and variance, with deletions of
// values never inserted undone by their insertion, and compares with
// what Postgres 15 gives for the values present, digit for digit.
func TestVariance(t *testing.T) {
	type row struct {
		v any
		w int64
	}
	d := decimal.RequireFromString
	ints := func(xs ...int64) []row {
		out := make([]row, len(xs))
		for i, x := range xs {
			out[i] = row{x, 1}
		}
		return out
	}
	nums := func(xs ...string) []row {
		out := make([]row, len(xs))
		for i, x := range xs {
			out[i] = row{d(x), 1}
		}
		return out
	}
	tests := []struct {
		name             string
		arg              types.Type
		rows             []row
		variance, stddev string // "NULL" for NULL
	}{
		{"ints", int4, ints(1, 2, 3), "1.00000000000000000000", "1.00000000000000000000"},
		{"int8 large", int8, ints(123456789012, 987654321098, 5), "289590001864854443378682", "538135672359"},
		{"small numerics", numeric, nums("0.001", "0.002", "0.0001"), "0.000000903333333333333333", "0.000950438495292216861394"},
		{"equal spelled apart", numeric, nums("1.5", "1.50"), "0", "0"},
		{"one row", numeric, nums("2"), "NULL", "NULL"},
		{"no rows", numeric, nil, "NULL", "NULL"},
		{"mixed", numeric, nums("-3.7", "12.25", "0", "0", "1e-3"), "37.2821452000000000", "6.1059106773682826"},
		{"mixed, one of scale 4 gone", numeric, append(nums("-3.7", "12.25", "0", "0", "1e-3", "9.1234"), row{d("9.1234"), -1}),
			"37.2821452000000000", "6.1059106773682826"},
		{"weights", int4, []row{{int64(1), 2}, {int64(5), 1}, {int64(9), 1}, {int64(9), -1}}, "5.3333333333333333", "2.3094010767585031"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, want := range map[string]string{"variance": tc.variance, "stddev": tc.stddev} {
				agg, err := stdlib.Bind(name, stdlib.AggCall{Args: []types.Type{tc.arg}})
				if err != nil {
					t.Fatal(err)
				}
				s := stdlib.Linear{Sum: agg.Init()}
				for _, r := range tc.rows {
					s.N += r.w
					agg.Add(&s, r.v, r.w)
				}
				got := "NULL"
				if v := agg.Result(s, nil, s.N); v != nil {
					got = types.FormatNumeric(v.(decimal.Decimal))
				}
				if got != want {
					t.Errorf("%s = %s, want %s", name, got, want)
				}
			}
		})
	}
}

func TestVarianceSignature(t *testing.T) {
	tests := []struct {
		name string
		arg  types.Type
		want string // result type, or the error's start
	}{
		{"stddev", int4, "numeric?"},
		{"variance", numeric.OrNull(), "numeric?"},
		{"variance", types.Of(types.Float8), "variance of float8 is not supported"},
		{"stddev", text, "stddev wants an integer or a numeric"},
	}
	for _, tc := range tests {
		got, err := stdlib.Aggregates()[tc.name].Check([]types.Type{tc.arg})
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			msg = got.String()
		}
		if len(msg) < len(tc.want) || msg[:len(tc.want)] != tc.want {
			t.Errorf("%s(%s) = %q, want %q", tc.name, tc.arg, msg, tc.want)
		}
	}
}

// TestAddSumCoefMatchesAddSum checks that adding a sum as a coefficient
// and an exponent leaves the state, sum spelled alike and scales, that
// AddSum of the decimal leaves, for sum and avg, from a zero start and
// across exponents, small coefficients and ones near overflow.
func TestAddSumCoefMatchesAddSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"sum", "avg"} {
		impl, err := stdlib.Bind(name, stdlib.AggCall{Args: []types.Type{{Kind: types.Numeric}}, Result: types.Type{Kind: types.Numeric}})
		if err != nil {
			t.Fatal(err)
		}
		p := impl.(stdlib.Presummed)
		for trial := range 500 {
			viaDecimal, viaCoef := stdlib.Linear{Sum: impl.Init()}, stdlib.Linear{Sum: impl.Init()}
			for range 1 + r.IntN(6) {
				coef := r.Int64N(1_000_000) - 500_000
				switch r.IntN(5) {
				case 0:
					coef = math.MaxInt64 - r.Int64N(1000)
				case 1:
					coef = math.MinInt64 + r.Int64N(1000)
				}
				exp, n := int32(r.IntN(5)-2), int64(r.IntN(5)-2) // decimal.Zero has exponent 1
				p.AddSum(&viaDecimal, decimal.New(coef, exp), n)
				p.AddSumCoef(&viaCoef, coef, exp, n)
			}
			a, b := viaDecimal.Sum.(decimal.Decimal), viaCoef.Sum.(decimal.Decimal)
			if a.Exponent() != b.Exponent() || a.Cmp(b) != 0 || !slices.Equal(viaDecimal.Scales, viaCoef.Scales) {
				t.Fatalf("%s trial %d: AddSum gives %s (exp %d, scales %v), AddSumCoef %s (exp %d, scales %v)",
					name, trial, a, a.Exponent(), viaDecimal.Scales, b, b.Exponent(), viaCoef.Scales)
			}
		}
	}
}
