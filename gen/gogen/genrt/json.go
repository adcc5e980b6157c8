package genrt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/types"
)

// MarshalRow writes a row of values of package types as the JSON object
// docs/serve.md describes, keyed by column name, in column order.
func MarshalRow(cols []Column, row []any) ([]byte, error) {
	var b []byte
	b = append(b, '{')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c.Name)
		b = append(b, ':')
		var err error
		if b, err = AppendJSON(b, row[i], c.Type); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return append(b, '}'), nil
}

// AppendJSON appends the JSON of a value of type t: numeric as a string
// in Postgres's text form with its scale, floats as numbers or "NaN",
// "Infinity", "-Infinity", a date as YYYY-MM-DD, a timestamp in RFC 3339
// without offset, a timestamptz in RFC 3339 in UTC, an interval in
// Postgres's text form, bytea in its hex form, jsonb as itself, arrays
// as arrays, records as objects, NULL as null.
func AppendJSON(b []byte, v any, t types.Type) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return append(b, `"NaN"`...), nil
		case math.IsInf(x, 1):
			return append(b, `"Infinity"`...), nil
		case math.IsInf(x, -1):
			return append(b, `"-Infinity"`...), nil
		}
		bits := 64
		if t.Kind == types.Float4 {
			bits = 32
		}
		return strconv.AppendFloat(b, x, 'g', -1, bits), nil
	case decimal.Decimal:
		return strconv.AppendQuote(b, types.FormatNumeric(x)), nil
	case string:
		if t.Kind == types.JSONB {
			return append(b, x...), nil
		}
		return appendString(b, x), nil
	case time.Time:
		return appendString(b, formatTime(x, t.Kind)), nil
	case types.IntervalValue:
		return appendString(b, types.Format(x, t)), nil
	case []byte:
		return appendString(b, `\x`+hex.EncodeToString(x)), nil
	case []any:
		return appendList(b, x, t)
	}
	return nil, fmt.Errorf("genrt: no JSON for a %T", v)
}

func appendList(b []byte, x []any, t types.Type) ([]byte, error) {
	var err error
	switch t.Kind {
	case types.Array:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = AppendJSON(b, e, *t.Elem); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case types.Record:
		b = append(b, '{')
		for i, f := range t.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, f.Name)
			b = append(b, ':')
			if b, err = AppendJSON(b, x[i], f.Type); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("genrt: a list is not a %s", t)
}

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// formatTime writes a date, timestamp or timestamptz as docs/serve.md
// says: microseconds only when not zero.
func formatTime(x time.Time, k types.Kind) string {
	x = x.UTC()
	switch k {
	case types.Date:
		return x.Format("2006-01-02")
	case types.Timestamp:
		return x.Format("2006-01-02T15:04:05.999999")
	}
	return x.Format("2006-01-02T15:04:05.999999Z07:00")
}

// UnmarshalRow reads a row's JSON object into values of package types,
// in column order. A column left out is NULL; a member that names no
// column is an error, as the server's strict decoding makes it.
func UnmarshalRow(cols []Column, data []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("genrt: reading a row: %w", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("genrt: a row is a JSON object, not null")
	}
	row := make([]any, len(cols))
	for i, c := range cols {
		v, err := types.FromJSON(obj[c.Name], c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		row[i] = v
		delete(obj, c.Name)
	}
	for k := range obj {
		return nil, fmt.Errorf("genrt: the row has a member %s that names no column", k)
	}
	return row, nil
}

// Text writes a value of type t in the text form a query parameter
// takes (?basket_id=1, ?at=2026-12-01T10:00:00Z): strings as they are,
// numbers and booleans as their JSON, times as their JSON strings, and
// arrays, records and jsonb in Postgres's text form.
func Text(v any, t types.Type) (string, error) {
	switch t.Kind {
	case types.Array, types.Record, types.JSONB:
		return types.Format(v, t), nil
	case types.Text, types.UUID:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	b, err := AppendJSON(nil, v, t)
	if err != nil {
		return "", err
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	return string(b), nil
}

// MarshalSome writes the columns of a row at the indexes keep as a JSON
// object: the body of a PATCH, which leaves out the key.
func MarshalSome(cols []Column, row []any, keep []int) ([]byte, error) {
	sub := make([]Column, len(keep))
	vals := make([]any, len(keep))
	for i, k := range keep {
		sub[i], vals[i] = cols[k], row[k]
	}
	return MarshalRow(sub, vals)
}
