package genrt

import (
	"fmt"
	"reflect"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// Column is a column of a generated row type: its name and its type.
type Column struct {
	Name string
	Type types.Type
}

// Values converts the fields of a generated row, one per column and in
// column order, to the values of package types (int8 as int64, numeric
// as decimal.Decimal, a record as []any, NULL as nil, ...): the row the
// embedding API takes, and the one JSON is written from.
func Values(cols []Column, fields ...any) ([]any, error) {
	if len(fields) != len(cols) {
		return nil, fmt.Errorf("genrt: %d fields for %d columns", len(fields), len(cols))
	}
	out := make([]any, len(cols))
	for i, c := range cols {
		v, err := Value(fields[i], c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		out[i] = v
	}
	return out, nil
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	decimalType = reflect.TypeFor[decimal.Decimal]()
)

// Value converts one field of a generated type (int16, int32, int64,
// float32, float64, decimal.Decimal, string, bool, time.Time, []byte,
// json.RawMessage, slices, record structs, and pointers to them) to a
// value of type t. A nil pointer or slice is NULL, an error in a column
// that may not hold NULL; interval and uuid fields are strings in their
// text form.
func Value(field any, t types.Type) (any, error) {
	v, err := value(reflect.ValueOf(field), t)
	if err != nil {
		return nil, err
	}
	if v == nil && !t.Nullable {
		return nil, fmt.Errorf("NULL for a non-null %s", t)
	}
	return v, nil
}

func value(rv reflect.Value, t types.Type) (any, error) {
	if !rv.IsValid() {
		return nil, nil
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return value(rv.Elem(), t)
	case reflect.Slice:
		if rv.IsNil() && t.Nullable {
			return nil, nil
		}
	}
	switch t.Kind {
	case types.Bool:
		if rv.Kind() == reflect.Bool {
			return rv.Bool(), nil
		}
	case types.Int2, types.Int4, types.Int8:
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return types.CheckInt(rv.Int(), t.Kind)
		}
	case types.Float4, types.Float8:
		if rv.Kind() == reflect.Float32 || rv.Kind() == reflect.Float64 {
			return rv.Float(), nil
		}
	case types.Numeric:
		if rv.Type() == decimalType {
			return types.FitNumeric(rv.Interface().(decimal.Decimal), t)
		}
	case types.Text:
		if rv.Kind() == reflect.String {
			return rv.String(), nil
		}
	case types.UUID, types.Interval:
		if rv.Kind() == reflect.String {
			return types.Parse(rv.String(), t)
		}
	case types.JSONB:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			if rv.Len() == 0 {
				return "null", nil // a nil json.RawMessage in a non-null column: JSON's null
			}
			return types.NormalizeJSON(string(rv.Bytes()))
		}
	case types.Bytea:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return append([]byte{}, rv.Bytes()...), nil
		}
	case types.Date, types.Timestamp, types.Timestamptz:
		if rv.Type() == timeType {
			return timeValue(rv.Interface().(time.Time), t.Kind), nil
		}
	case types.Array:
		if rv.Kind() == reflect.Slice {
			out := make([]any, rv.Len())
			for i := range out {
				x, err := Value(rv.Index(i).Interface(), *t.Elem)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", i+1, err)
				}
				out[i] = x
			}
			return out, nil
		}
	case types.Record:
		if rv.Kind() == reflect.Struct && rv.NumField() == len(t.Fields) {
			out := make([]any, len(t.Fields))
			for i, f := range t.Fields {
				x, err := Value(rv.Field(i).Interface(), f.Type)
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", f.Name, err)
				}
				out[i] = x
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("a %s does not hold a %s", rv.Type(), t)
}

// timeValue keeps what a value of kind k keeps of a time, as the
// embedding API does: a date its day, a timestamp its wall clock, a
// timestamptz its instant, to the microsecond, all in UTC.
func timeValue(x time.Time, k types.Kind) time.Time {
	switch k {
	case types.Date:
		y, m, d := x.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case types.Timestamp:
		y, m, d := x.Date()
		return time.Date(y, m, d, x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC).Truncate(time.Microsecond)
	}
	return x.UTC().Truncate(time.Microsecond)
}

// Scan stores a row of values of package types into the fields of a
// generated row, given as pointers in column order.
func Scan(cols []Column, row []any, fields ...any) error {
	if len(row) != len(cols) || len(fields) != len(cols) {
		return fmt.Errorf("genrt: a row of %d values and %d fields for %d columns", len(row), len(fields), len(cols))
	}
	for i, c := range cols {
		if err := scan(reflect.ValueOf(fields[i]).Elem(), row[i], c.Type); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}

func scan(dst reflect.Value, v any, t types.Type) error {
	if v == nil {
		switch dst.Kind() {
		case reflect.Pointer, reflect.Slice:
			dst.SetZero()
			return nil
		}
		return fmt.Errorf("NULL does not fit a %s", dst.Type())
	}
	if dst.Kind() == reflect.Pointer {
		p := reflect.New(dst.Type().Elem())
		if err := scan(p.Elem(), v, t); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	switch x := v.(type) {
	case int64:
		switch dst.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if dst.OverflowInt(x) {
				return fmt.Errorf("%d overflows a %s", x, dst.Type())
			}
			dst.SetInt(x)
			return nil
		}
	case float64:
		if dst.Kind() == reflect.Float32 || dst.Kind() == reflect.Float64 {
			dst.SetFloat(x)
			return nil
		}
	case string:
		switch {
		case dst.Kind() == reflect.String:
			dst.SetString(x)
			return nil
		case t.Kind == types.JSONB && dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Uint8:
			dst.SetBytes([]byte(x))
			return nil
		}
	case types.IntervalValue:
		if dst.Kind() == reflect.String {
			dst.SetString(types.Format(x, t))
			return nil
		}
	case []any:
		return scanList(dst, x, t)
	default:
		rv := reflect.ValueOf(v)
		if rv.Type().AssignableTo(dst.Type()) {
			if b, ok := v.([]byte); ok {
				rv = reflect.ValueOf(append([]byte{}, b...))
			}
			dst.Set(rv)
			return nil
		}
	}
	return fmt.Errorf("a %T does not fit a %s", v, dst.Type())
}

// scanList stores an array into a slice, or a record into a struct.
func scanList(dst reflect.Value, x []any, t types.Type) error {
	switch {
	case t.Kind == types.Array && dst.Kind() == reflect.Slice:
		out := reflect.MakeSlice(dst.Type(), len(x), len(x))
		for i, e := range x {
			if err := scan(out.Index(i), e, *t.Elem); err != nil {
				return fmt.Errorf("element %d: %w", i+1, err)
			}
		}
		dst.Set(out)
		return nil
	case t.Kind == types.Record && dst.Kind() == reflect.Struct && dst.NumField() == len(x) && len(x) == len(t.Fields):
		for i, f := range t.Fields {
			if err := scan(dst.Field(i), x[i], f.Type); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("a %s does not fit a %s", t, dst.Type())
}
