package stdlib

import (
	"fmt"
	"math"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

func init() {
	register(&Func{
		Name: "abs", Signature: "abs(x number) number", Doc: "Absolute value.", Strict: true,
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("abs", args, 1); err != nil {
				return types.Type{}, err
			}
			if !args[0].IsNumeric() {
				return types.Type{}, fmt.Errorf("abs wants a number, got %s", args[0])
			}
			return types.Type{Kind: args[0].Kind, Nullable: args[0].Nullable, Scale: -1}, nil
		},
		Bind: func(ts []types.Type) Impl {
			k := ts[0].Kind
			return func(a []any) (any, error) {
				switch x := a[0].(type) {
				case int64:
					if x < 0 {
						return types.CheckInt(-x, k)
					}
					if x == math.MinInt64 {
						return nil, fmt.Errorf("%s out of range", k)
					}
					return x, nil
				case float64:
					return math.Abs(x), nil
				case decimal.Decimal:
					return x.Abs(), nil
				}
				return nil, fmt.Errorf("abs: unexpected %T", a[0])
			}
		},
	})
	register(rounding("round", "Rounds half away from zero (a float half to even) to places digits after the point (default 0; negative rounds to tens, hundreds...).",
		func(d decimal.Decimal, places int32) decimal.Decimal { return d.Round(places) }, math.RoundToEven))
	register(rounding("trunc", "Truncates toward zero to places digits after the point (default 0).",
		truncate, math.Trunc))
	register(wholeFunc("floor", "The greatest whole number not greater than x.", decimal.Decimal.Floor, math.Floor))
	register(wholeFunc("ceil", "The least whole number not less than x.", decimal.Decimal.Ceil, math.Ceil))
	register(wholeFunc("ceiling", "ceil(x).", decimal.Decimal.Ceil, math.Ceil))
}

// roundingType is the result type of round, trunc, floor and ceil, as
// Postgres resolves them: numeric for a numeric, float8 for a float and
// for an integer (Postgres prefers float8 among the candidates), and
// numeric whenever places are given.
func roundingType(name string, args []types.Type, withPlaces bool) (types.Type, error) {
	if len(args) == 0 || len(args) > 2 || len(args) == 2 && !withPlaces {
		if withPlaces {
			return types.Type{}, fmt.Errorf("%s takes 1 or 2 arguments, got %d", name, len(args))
		}
		return types.Type{}, arity(name, args, 1)
	}
	x := args[0]
	if !x.IsNumeric() && x.Kind != types.Null {
		return types.Type{}, fmt.Errorf("%s wants a number, got %s", name, x)
	}
	k := types.Float8
	if x.Kind == types.Numeric {
		k = types.Numeric
	}
	if len(args) == 2 {
		if !args[1].IsInteger() && args[1].Kind != types.Null {
			return types.Type{}, fmt.Errorf("%s wants integer places, got %s", name, args[1])
		}
		if x.Kind == types.Float4 || x.Kind == types.Float8 {
			return types.Type{}, fmt.Errorf("%s(%s, places) does not exist: cast x to numeric", name, x.NotNull())
		}
		k = types.Numeric
	}
	return types.Type{Kind: k, Nullable: anyNullable(args), Scale: -1}, nil
}

// rounding makes round or trunc: (x) or (x, places).
func rounding(name, doc string, num func(decimal.Decimal, int32) decimal.Decimal, float func(float64) float64) *Func {
	return &Func{
		Name: name, Signature: name + "(x number [, places int4]) number", Doc: doc, Strict: true,
		Check: func(args []types.Type) (types.Type, error) { return roundingType(name, args, true) },
		Bind: func(ts []types.Type) Impl {
			t, _ := roundingType(name, ts, true)
			from := ts[0].Kind
			if t.Kind == types.Float8 {
				conv := Convert(from, types.Float8)
				return func(a []any) (any, error) { return float(conv(a[0]).(float64)), nil }
			}
			conv := Convert(from, types.Numeric)
			return func(a []any) (any, error) {
				places := int64(0)
				if len(a) == 2 {
					places = a[1].(int64)
				}
				if places > 1000 || places < -1000 {
					return nil, fmt.Errorf("%s: places %d out of range", name, places)
				}
				return num(conv(a[0]).(decimal.Decimal), int32(places)), nil
			}
		},
	}
}

// wholeFunc makes floor or ceil.
func wholeFunc(name, doc string, num func(decimal.Decimal) decimal.Decimal, float func(float64) float64) *Func {
	return &Func{
		Name: name, Signature: name + "(x number) number", Doc: doc, Strict: true,
		Check: func(args []types.Type) (types.Type, error) { return roundingType(name, args, false) },
		Bind: func(ts []types.Type) Impl {
			if ts[0].Kind == types.Numeric {
				return func(a []any) (any, error) { return num(a[0].(decimal.Decimal)), nil }
			}
			conv := Convert(ts[0].Kind, types.Float8)
			return func(a []any) (any, error) { return float(conv(a[0]).(float64)), nil }
		},
	}
}

// truncate drops the digits after places (before the point when places
// is negative), keeping a scale of max(places, 0).
func truncate(d decimal.Decimal, places int32) decimal.Decimal {
	if places >= 0 {
		return d.Truncate(places).Round(places)
	}
	return d.Shift(places).Truncate(0).Shift(-places)
}
