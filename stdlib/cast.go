package stdlib

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// CastFunc converts one non-null value; NULL casts to NULL without it.
type CastFunc func(v any) (any, error)

// Cast returns the conversion of values of type from to type to, or an
// error saying that no cast exists. The casts are Postgres's:
//
//   - every type to text (its text form), and text to every scalar type
//     (reading the text form; bad input fails when the value is cast);
//   - between number types: an integer out of the target's range fails,
//     numeric to integer rounds half away from zero, float to integer
//     rounds half to even, float to numeric keeps 15 significant digits;
//     to numeric(p,s) rounds to scale s and fails on overflow;
//   - int4 to bool (zero is false) and bool to int4;
//   - date to timestamp and timestamptz, timestamp and timestamptz to
//     each other (in UTC) and to date (dropping the time of day);
//   - jsonb to bool and to number types, when the document is a JSON
//     boolean or number;
//   - arrays element by element.
func Cast(from, to types.Type) (CastFunc, error) {
	f := cast(from, to)
	if f == nil {
		return nil, fmt.Errorf("cannot cast %s to %s", from.NotNull(), to.NotNull())
	}
	return f, nil
}

func castIdentity(v any) (any, error) { return v, nil }

func cast(from, to types.Type) CastFunc {
	switch {
	case from.Kind == types.Null:
		return castIdentity
	case to.Kind == types.Numeric && to.Scale >= 0 && from.Kind != types.Text:
		toNum := cast(from, types.Of(types.Numeric))
		if toNum == nil {
			return nil
		}
		return func(v any) (any, error) {
			d, err := toNum(v)
			if err != nil {
				return nil, err
			}
			return types.FitNumeric(d.(decimal.Decimal), to)
		}
	case from.Kind == to.Kind && from.Kind != types.Array:
		return castIdentity
	case to.Kind == types.Text:
		return func(v any) (any, error) { return TextOf(v, from), nil }
	case from.Kind == types.Text && to.Kind != types.Array && to.Kind != types.Record:
		return func(v any) (any, error) { return types.Parse(v.(string), to) }
	case from.IsNumeric() && to.IsNumeric():
		return numberCast(from.Kind, to.Kind)
	case from.Kind == types.Int4 && to.Kind == types.Bool:
		return func(v any) (any, error) { return v.(int64) != 0, nil }
	case from.Kind == types.Bool && to.Kind == types.Int4:
		return func(v any) (any, error) {
			if v.(bool) {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case isTime(from.Kind) && isTime(to.Kind):
		if to.Kind == types.Date {
			return func(v any) (any, error) { return truncDay(v.(time.Time)), nil }
		}
		return castIdentity
	case from.Kind == types.JSONB && (to.Kind == types.Bool || to.IsNumeric()):
		return jsonScalarCast(to)
	case from.Kind == types.Array && to.Kind == types.Array:
		return arrayCast(*from.Elem, *to.Elem)
	}
	return nil
}

// TextOf is a value cast to text, as Postgres's cast and || give it: its
// text form, except that a bool is true or false (not t or f).
func TextOf(v any, t types.Type) string {
	if b, ok := v.(bool); ok {
		return strconv.FormatBool(b)
	}
	return types.Format(v, t)
}

func isTime(k types.Kind) bool {
	return k == types.Date || k == types.Timestamp || k == types.Timestamptz
}

func truncDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// numberCast converts between number kinds.
func numberCast(from, to types.Kind) CastFunc {
	toInt := func(n int64) (any, error) { return types.CheckInt(n, to) }
	switch {
	case isInt(from) && isInt(to):
		return func(v any) (any, error) { return toInt(v.(int64)) }
	case isInt(from) && to == types.Numeric:
		return func(v any) (any, error) { return decimal.NewFromInt(v.(int64)), nil }
	case isInt(from):
		return func(v any) (any, error) { return toFloat(float64(v.(int64)), to), nil }
	case from == types.Numeric && isInt(to):
		return func(v any) (any, error) {
			r := v.(decimal.Decimal).Round(0)
			if !r.IsInteger() || r.Abs().Cmp(decimal.New(1, 19)) >= 0 {
				return nil, fmt.Errorf("%s out of range", to)
			}
			return toInt(r.IntPart())
		}
	case from == types.Numeric:
		return func(v any) (any, error) {
			f, _ := v.(decimal.Decimal).Float64()
			return toFloat(f, to), nil
		}
	case isInt(to):
		return func(v any) (any, error) {
			f := math.RoundToEven(v.(float64))
			if f != f || f < math.MinInt64 || f >= math.MaxInt64 {
				return nil, fmt.Errorf("%s out of range", to)
			}
			return toInt(int64(f))
		}
	case to == types.Numeric:
		return func(v any) (any, error) { return FloatToNumeric(v.(float64)) }
	}
	return func(v any) (any, error) { return toFloat(v.(float64), to), nil }
}

func isInt(k types.Kind) bool { return k == types.Int2 || k == types.Int4 || k == types.Int8 }

// toFloat rounds f to the precision of the float kind k.
func toFloat(f float64, k types.Kind) float64 {
	if k == types.Float4 {
		return float64(float32(f))
	}
	return f
}

// FloatToNumeric converts a float as Postgres does: to its 15 significant
// digits. NaN and infinities have no numeric here.
func FloatToNumeric(f float64) (decimal.Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal.Decimal{}, fmt.Errorf("cannot convert %s to numeric", types.FormatFloat(f))
	}
	return decimal.NewFromString(strconv.FormatFloat(f, 'g', 15, 64))
}

// jsonScalarCast converts a jsonb boolean or number to bool or a number
// type; any other document is an error, as in Postgres.
func jsonScalarCast(to types.Type) CastFunc {
	num := numberCast(types.Numeric, to.Kind)
	if to.Kind == types.Numeric {
		num = castIdentity
	}
	return func(v any) (any, error) {
		j, err := types.DecodeJSON(v.(string))
		if err != nil {
			return nil, err
		}
		switch x := j.(type) {
		case bool:
			if to.Kind == types.Bool {
				return x, nil
			}
		case decimal.Decimal:
			if to.Kind != types.Bool {
				return num(x)
			}
		}
		return nil, fmt.Errorf("cannot cast jsonb %s to type %s", jsonTypeOf(j), to.NotNull())
	}
}

// arrayCast converts an array element by element.
func arrayCast(from, to types.Type) CastFunc {
	elem := cast(from, to)
	if elem == nil {
		return nil
	}
	return func(v any) (any, error) {
		list := v.([]any)
		out := make([]any, len(list))
		for i, e := range list {
			if e == nil {
				continue
			}
			x, err := elem(e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
}
