package stdlib

import (
	"fmt"

	"github.com/stepping-io/stepping/types"
)

var aggregates = map[string]*Aggregate{
	"count": {
		Name: "count", Signature: "count([x]) int8", Doc: "Number of rows, or of rows where x is not NULL.",
		Check: func(args []types.Type) (types.Type, error) {
			if len(args) > 1 {
				return types.Type{}, fmt.Errorf("count takes at most 1 argument, got %d", len(args))
			}
			return types.Of(types.Int8), nil
		},
	},
	"sum": {
		Name: "sum", Signature: "sum(x number) number", Doc: "Sum of x: int8 for int2/int4, numeric for int8 and numeric, float8 for floats.",
		Check: func(args []types.Type) (types.Type, error) {
			t, err := oneNumber("sum", args)
			if err != nil {
				return t, err
			}
			return SumType(t), nil
		},
	},
	"avg": {
		Name: "avg", Signature: "avg(x number) number", Doc: "Mean of x: numeric for integers and numeric, float8 for floats.",
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
	"min": {Name: "min", Signature: "min(x T) T", Doc: "Least value of x.", Check: orderable("min")},
	"max": {Name: "max", Signature: "max(x T) T", Doc: "Greatest value of x.", Check: orderable("max")},
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
