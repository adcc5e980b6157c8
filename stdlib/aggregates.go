package stdlib

import (
	"fmt"

	"github.com/stepping-io/stepping/types"
)

var aggregates = map[string]*Aggregate{
	"count": {
		Name: "count", New: newCount, Signature: "count([distinct] [x]) int8", Doc: "Number of rows, of rows where x is not NULL, or of distinct non-NULL values of x.",
		Distinct: true,
		Check: func(args []types.Type) (types.Type, error) {
			if len(args) > 1 {
				return types.Type{}, fmt.Errorf("count takes at most 1 argument, got %d", len(args))
			}
			return types.Of(types.Int8), nil
		},
	},
	"sum": {
		Name: "sum", New: newSum, Signature: "sum(x number) number", Doc: "Sum of x: int8 for int2/int4, numeric for int8 and numeric, float8 for floats.",
		Check: func(args []types.Type) (types.Type, error) {
			t, err := oneNumber("sum", args)
			if err != nil {
				return t, err
			}
			return SumType(t), nil
		},
	},
	"avg": {
		Name: "avg", New: newAvg, Signature: "avg(x number) number", Doc: "Mean of x: numeric for integers and numeric, float8 for floats.",
		Check: func(args []types.Type) (types.Type, error) {
			t, err := oneNumber("avg", args)
			if err != nil {
				return t, err
			}
			k := types.Numeric
			if t.Kind == types.Float4 || t.Kind == types.Float8 {
				k = types.Float8
			}
			return types.Type{Kind: k, Nullable: t.Nullable, Scale: -1}, nil
		},
	},
	"stddev": {Name: "stddev", New: newStddev, Signature: "stddev(x int|numeric) numeric?",
		Doc: "Sample standard deviation of x, exact in numeric as Postgres's stddev (stddev_samp); NULL for fewer than 2 non-NULL values.", Check: exactNumber("stddev")},
	"variance": {Name: "variance", New: newVariance, Signature: "variance(x int|numeric) numeric?",
		Doc: "Sample variance of x, exact in numeric as Postgres's variance (var_samp); NULL for fewer than 2 non-NULL values.", Check: exactNumber("variance")},
	"min":      {Name: "min", New: newMin, Signature: "min(x T) T", Doc: "Least value of x.", Check: orderable("min")},
	"max":      {Name: "max", New: newMax, Signature: "max(x T) T", Doc: "Greatest value of x.", Check: orderable("max")},
	"bool_and": {Name: "bool_and", New: newBoolAnd, Signature: "bool_and(x bool) bool", Doc: "True when every non-NULL x is true.", Check: oneBool("bool_and")},
	"bool_or":  {Name: "bool_or", New: newBoolOr, Signature: "bool_or(x bool) bool", Doc: "True when some x is true.", Check: oneBool("bool_or")},
	"array_agg": {
		Name: "array_agg", New: newArrayAgg, Signature: "array_agg(x T [order by k, ...]) T[]", Ordered: true,
		Doc: "The values of x, NULLs included, in the order given (by default by value), as an array.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("array_agg", args, 1); err != nil {
				return types.Type{}, err
			}
			switch args[0].Kind {
			case types.Null:
				return types.Type{}, fmt.Errorf("array_agg of null: the element type is unknown")
			case types.Array:
				return types.Type{}, fmt.Errorf("array_agg of arrays (%s) is not supported: Postgres arrays hold no arrays; collect records holding them, array_agg({a = x})", args[0])
			}
			return types.ArrayOf(args[0]), nil
		},
	},
	"string_agg": {
		Name: "string_agg", New: newStringAgg, Signature: "string_agg(x text, sep text [order by k, ...]) text", Ordered: true,
		Doc: "The non-NULL values of x in the order given (by default by value), joined, each after the first preceded by its row's sep.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("string_agg", args, 2); err != nil {
				return types.Type{}, err
			}
			for _, a := range args {
				if a.Kind != types.Text && a.Kind != types.Null {
					return types.Type{}, fmt.Errorf("string_agg wants (text, text), got %s", typeList(args))
				}
			}
			if args[0].Kind == types.Null {
				return types.Type{}, fmt.Errorf("string_agg of null is always null")
			}
			return types.Type{Kind: types.Text, Nullable: args[0].Nullable, Scale: -1}, nil
		},
	},
	"first": {Name: "first", New: newFirst, Signature: "first(x T order by k, ...) T", Doc: "x of the first row in the order given.",
		Ordered: true, NeedsOrder: true, Check: anyValue("first")},
	"last": {Name: "last", New: newLast, Signature: "last(x T order by k, ...) T", Doc: "x of the last row in the order given.",
		Ordered: true, NeedsOrder: true, Check: anyValue("last")},
}

// SumType is the type sum() gives for an argument of type t (Postgres's).
func SumType(t types.Type) types.Type {
	k := types.Numeric
	switch t.Kind {
	case types.Int2, types.Int4:
		k = types.Int8
	case types.Float4, types.Float8:
		k = types.Float8
	}
	return types.Type{Kind: k, Nullable: t.Nullable, Scale: -1}
}

func oneNumber(name string, args []types.Type) (types.Type, error) {
	if err := arity(name, args, 1); err != nil {
		return types.Type{}, err
	}
	if !args[0].IsNumeric() {
		return types.Type{}, fmt.Errorf("%s wants a number, got %s", name, args[0])
	}
	return args[0], nil
}

func orderable(name string) func([]types.Type) (types.Type, error) {
	return func(args []types.Type) (types.Type, error) {
		if err := arity(name, args, 1); err != nil {
			return types.Type{}, err
		}
		switch args[0].Kind {
		case types.Record, types.JSONB, types.Array, types.Null:
			return types.Type{}, fmt.Errorf("%s is not defined on %s", name, args[0])
		}
		return args[0], nil
	}
}

func oneBool(name string) func([]types.Type) (types.Type, error) {
	return func(args []types.Type) (types.Type, error) {
		if err := arity(name, args, 1); err != nil {
			return types.Type{}, err
		}
		if args[0].Kind != types.Bool {
			return types.Type{}, fmt.Errorf("%s wants bool, got %s", name, args[0])
		}
		return args[0], nil
	}
}

func anyValue(name string) func([]types.Type) (types.Type, error) {
	return func(args []types.Type) (types.Type, error) {
		if err := arity(name, args, 1); err != nil {
			return types.Type{}, err
		}
		if args[0].Kind == types.Null {
			return types.Type{}, fmt.Errorf("%s of null: the type is unknown", name)
		}
		return args[0], nil
	}
}

// Orderable reports whether values of type t can be an order key: every
// type but jsonb, which has no order.
func Orderable(t types.Type) bool { return t.Kind != types.JSONB }
