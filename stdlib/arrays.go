package stdlib

import (
	"fmt"
	"strings"

	"github.com/stepping-io/stepping/types"
)

// The array functions, as Postgres defines them for one-dimensional
// arrays.
func init() {
	register(&Func{
		Name: "cardinality", Signature: "cardinality(a T[]) int4", Strict: true,
		Doc: "Number of elements of an array, NULL elements included.",
		Check: func(args []types.Type) (types.Type, error) {
			if err := arity("cardinality", args, 1); err != nil {
				return types.Type{}, err
			}
			if args[0].Kind != types.Array {
				return types.Type{}, fmt.Errorf("cardinality wants an array, got %s", args[0])
			}
			return types.Type{Kind: types.Int4, Nullable: args[0].Nullable, Scale: -1}, nil
		},
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) { return int64(len(a[0].([]any))), nil }
		},
	})
	register(&Func{
		Name: "array_to_string", Signature: "array_to_string(a T[], sep text [, null text]) text",
		Doc: "The elements of an array in their text form, joined by sep; NULL elements are skipped, or written as null when it is given and not NULL.",
		Check: func(args []types.Type) (types.Type, error) {
			if len(args) < 2 || len(args) > 3 {
				return types.Type{}, fmt.Errorf("array_to_string takes 2 or 3 arguments, got %d", len(args))
			}
			ok := args[0].Kind == types.Array
			for _, a := range args[1:] {
				ok = ok && (a.Kind == types.Text || a.Kind == types.Null)
			}
			if !ok {
				return types.Type{}, fmt.Errorf("array_to_string wants (array, text [, text]), got %s", typeList(args))
			}
			return types.Type{Kind: types.Text, Nullable: args[0].Nullable || args[1].Nullable, Scale: -1}, nil
		},
		Bind: func(ts []types.Type) Impl {
			elem := *ts[0].Elem
			return func(a []any) (any, error) {
				if a[0] == nil || a[1] == nil {
					return nil, nil
				}
				var null *string
				if len(a) == 3 && a[2] != nil {
					s := a[2].(string)
					null = &s
				}
				var parts []string
				for _, e := range a[0].([]any) {
					switch {
					case e != nil:
						parts = append(parts, types.Format(e, elem))
					case null != nil:
						parts = append(parts, *null)
					}
				}
				return strings.Join(parts, a[1].(string)), nil
			}
		},
	})
}

// Subscript is a[i]: the element of the array a at position i, counting
// from 1, NULL when there is none. The checker calls it for a[i]; it is
// not a function to call by name.
var Subscript = &Func{
	Name: "subscript", Signature: "a[i int] T?", Strict: true,
	Doc: "The element of a at position i, counting from 1; NULL when there is none.",
	Check: func(args []types.Type) (types.Type, error) {
		if len(args) != 2 || args[0].Kind != types.Array && args[0].Kind != types.Null || !accepts(types.Int8, args[1]) {
			return types.Type{}, fmt.Errorf("a subscript wants an array and an integer, got %s", typeList(args))
		}
		if args[0].Kind == types.Null {
			return types.Type{Kind: types.Null, Nullable: true}, nil
		}
		t := *args[0].Elem
		t.Nullable = true
		return t, nil
	},
	Bind: func([]types.Type) Impl {
		return func(a []any) (any, error) {
			arr, i := a[0].([]any), a[1].(int64)
			if i < 1 || i > int64(len(arr)) {
				return nil, nil
			}
			return arr[i-1], nil
		}
	},
}
