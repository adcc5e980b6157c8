package stdlib

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
)

// JSONArrow returns the type and implementation of j -> key (a jsonb) or
// j ->> key (its text): key is text for an object's field, or an integer
// for an array's element (negative counts from the end). The result is
// NULL when j has no such field or element, and ->> of a JSON null is
// NULL; ->> of a string is the string itself, of anything else its jsonb
// text.
func JSONArrow(op lang.Op, a, b types.Type) (types.Type, func(x, y any) (any, error), error) {
	if a.Kind != types.JSONB && a.Kind != types.Null || b.Kind != types.Text && !b.IsInteger() && b.Kind != types.Null {
		return types.Type{}, nil, fmt.Errorf("operator %s is not defined on %s and %s (want jsonb %s text or integer)", op, a, b, op)
	}
	t := types.Type{Kind: types.JSONB, Nullable: true, Scale: -1}
	asText := op == lang.ArrowText
	if asText {
		t.Kind = types.Text
	}
	return t, func(x, y any) (any, error) { return JSONGet(x.(string), y, asText) }, nil
}

// JSONGet looks key up in the jsonb document doc, as -> (asText false)
// or ->> (asText true) do.
func JSONGet(doc string, key any, asText bool) (any, error) {
	j, err := types.DecodeJSON(doc)
	if err != nil {
		return nil, err
	}
	var v types.JSON
	found := false
	switch k := key.(type) {
	case string:
		if obj, ok := j.(*types.JSONObject); ok {
			v, found = obj.Get(k)
		}
	case int64:
		if list, ok := j.([]types.JSON); ok {
			if k < 0 {
				k += int64(len(list))
			}
			if k >= 0 && k < int64(len(list)) {
				v, found = list[k], true
			}
		}
	}
	switch {
	case !found:
		return nil, nil
	case !asText:
		return types.EncodeJSON(v), nil
	case v == nil:
		return nil, nil
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return types.EncodeJSON(v), nil
}

// jsonTypeOf names the JSON type of a value as jsonb_typeof does.
func jsonTypeOf(v types.JSON) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case decimal.Decimal:
		return "number"
	case string:
		return "string"
	case []types.JSON:
		return "array"
	}
	return "object"
}

func init() {
	register(&Func{
		Name: "jsonb_typeof", Signature: "jsonb_typeof(j jsonb) text", Strict: true,
		Doc:   "The type of a jsonb document: object, array, string, number, boolean or null.",
		Check: fixed("jsonb_typeof", types.Text, types.JSONB),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				j, err := types.DecodeJSON(a[0].(string))
				if err != nil {
					return nil, err
				}
				return jsonTypeOf(j), nil
			}
		},
	})
	register(&Func{
		Name: "jsonb_array_length", Signature: "jsonb_array_length(j jsonb) int4", Strict: true,
		Doc:   "The number of elements of a jsonb array; an error for any other document.",
		Check: fixed("jsonb_array_length", types.Int4, types.JSONB),
		Bind: func([]types.Type) Impl {
			return func(a []any) (any, error) {
				j, err := types.DecodeJSON(a[0].(string))
				if err != nil {
					return nil, err
				}
				list, ok := j.([]types.JSON)
				if !ok {
					return nil, fmt.Errorf("cannot get array length of a non-array")
				}
				return int64(len(list)), nil
			}
		},
	})
}
