// Package goconv converts Go values to the values of stepping's types
// (package types): what the embedding API and stepq's REPL accept as a
// column's value.
package goconv

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/types"
)

// Convert converts a Go value to a value of type t in the mapping package
// types documents. Besides the mapped types themselves it accepts: any
// integer type for integers, numeric (exactly) and floats; float32 for
// floats; a decimal.Decimal for a float, or for an integer when whole; a string in the type's Postgres text form for any type but
// arrays ("2024-03-01" for a date, "12.50" for a numeric); time.Duration
// for an interval; json.RawMessage or []byte for jsonb; any slice for an
// array; a pointer, which is NULL when nil and its element otherwise; and
// a driver.Valuer (sql.NullString, ...), through its value. A float never
// becomes a numeric: give a decimal.Decimal or a string. The result is
// checked against t, nullability included.
func Convert(v any, t types.Type) (any, error) {
	x, err := fromGo(v, t)
	if err != nil {
		return nil, err
	}
	if x == nil {
		if !t.Nullable {
			return nil, fmt.Errorf("NULL in a non-null %s column", t)
		}
		return nil, nil
	}
	if err := runtime.CheckValue(x, t); err != nil {
		return nil, err
	}
	return x, nil
}

func fromGo(v any, t types.Type) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool, types.IntervalValue:
		return x, nil
	case decimal.Decimal:
		switch t.Kind {
		case types.Numeric:
			return types.FitNumeric(x, t)
		case types.Int2, types.Int4, types.Int8:
			if x.IsInteger() && x.BigInt().IsInt64() {
				return types.CheckInt(x.IntPart(), t.Kind)
			}
		case types.Float4, types.Float8:
			f, _ := x.Float64()
			return f, nil
		}
		return nil, fmt.Errorf("want a %s value, got the numeric %s", t, x)
	case string:
		if t.Kind == types.Text {
			return x, nil
		}
		return types.Parse(x, t)
	case json.RawMessage:
		if t.Kind == types.JSONB {
			return types.Parse(string(x), t)
		}
		return []byte(x), nil
	case []byte:
		if t.Kind == types.JSONB {
			return types.Parse(string(x), t)
		}
		return x, nil
	case time.Time:
		switch t.Kind {
		case types.Date:
			y, m, d := x.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		case types.Timestamp:
			// A timestamp has no zone: keep the wall clock as written.
			y, m, d := x.Date()
			return time.Date(y, m, d, x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC).Truncate(time.Microsecond), nil
		}
		return x.UTC().Truncate(time.Microsecond), nil
	case time.Duration:
		return types.IntervalValue{Micros: x.Microseconds()}, nil
	case float32:
		return float64(x), nil
	case float64:
		if t.Kind == types.Numeric {
			return nil, fmt.Errorf("a float64 is not exact: give a numeric as a decimal.Decimal or a string")
		}
		return x, nil
	case []any:
		return listFromGo(reflect.ValueOf(x), t)
	}
	if val, ok := v.(driver.Valuer); ok {
		dv, err := val.Value()
		if err != nil {
			return nil, err
		}
		return fromGo(dv, t)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return fromGo(rv.Elem().Interface(), t)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intFromGo(rv.Int(), t)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > 1<<63-1 {
			return nil, fmt.Errorf("%d is out of range for %s", u, t)
		}
		return intFromGo(int64(u), t)
	case reflect.String:
		return fromGo(rv.String(), t)
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Float32, reflect.Float64:
		return fromGo(rv.Float(), t)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		return listFromGo(rv, t)
	}
	return nil, fmt.Errorf("cannot use a %T as a %s value", v, t)
}

func intFromGo(n int64, t types.Type) (any, error) {
	switch t.Kind {
	case types.Numeric:
		return types.FitNumeric(decimal.NewFromInt(n), t)
	case types.Float4, types.Float8:
		return float64(n), nil
	}
	return types.CheckInt(n, t.Kind)
}

func listFromGo(rv reflect.Value, t types.Type) (any, error) {
	if t.Kind != types.Array {
		return nil, fmt.Errorf("cannot use a %s as a %s value", rv.Type(), t)
	}
	out := make([]any, rv.Len())
	for i := range out {
		x, err := fromGo(rv.Index(i).Interface(), *t.Elem)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i+1, err)
		}
		out[i] = x
	}
	return out, nil
}
