package types

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// AppendJSON appends v, a value of type t, as JSON in the form package
// doc describes under "Values in JSON": numeric as a string keeping its
// scale, floats as numbers except NaN and the infinities (strings),
// times in RFC 3339, jsonb as the document itself, arrays as arrays,
// records as objects keyed by field name, NULL as null.
func AppendJSON(b []byte, v any, t Type) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.AppendQuote(b, formatFloat(x, 64))
		}
		bits := 64
		if t.Kind == Float4 {
			bits = 32
		}
		// 'g' with the shortest digits is valid JSON for every finite
		// float (1e+21, -0); Postgres's text form can write
		// "1e+15", which JSON also reads.
		return strconv.AppendFloat(b, x, 'g', -1, bits)
	case decimal.Decimal:
		return appendJSONString(b, FormatNumeric(x))
	case string:
		if t.Kind == JSONB {
			// Held in jsonb's text form, which is JSON.
			return append(b, x...)
		}
		return appendJSONString(b, x)
	case time.Time:
		return appendJSONString(b, formatJSONTime(x, t.Kind))
	case IntervalValue, []byte:
		return appendJSONString(b, Format(x, t))
	case []any:
		if t.Kind == Record {
			return appendJSONRecord(b, x, t)
		}
		var et Type
		if t.Kind == Array {
			et = *t.Elem
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, e, et)
		}
		return append(b, ']')
	}
	return appendJSONString(b, fmt.Sprint(v))
}

func appendJSONRecord(b []byte, x []any, t Type) []byte {
	b = append(b, '{')
	for i, e := range x {
		if i > 0 {
			b = append(b, ',')
		}
		name, ft := "f"+strconv.Itoa(i+1), Type{}
		if i < len(t.Fields) {
			name, ft = t.Fields[i].Name, t.Fields[i].Type
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = AppendJSON(b, e, ft)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string the way Postgres's
// escape_json writes one: quote, backslash and control characters
// escaped, everything else as is (not encoding/json's escaping of <, >
// and &), so that text reads as written.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch r {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if r < 0x20 {
				b = fmt.Appendf(b, `\u%04x`, r)
				continue
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// formatJSONTime writes a date as YYYY-MM-DD, a timestamp in RFC 3339
// without an offset and a timestamptz in RFC 3339 in UTC, each with
// fractional seconds only when they are not zero.
func formatJSONTime(t time.Time, k Kind) string {
	t = t.UTC()
	switch k {
	case Date:
		return t.Format("2006-01-02")
	case Timestamptz:
		return t.Format("2006-01-02T15:04:05.999999Z07:00")
	}
	return t.Format("2006-01-02T15:04:05.999999")
}

// JSONValueError is a JSON value that is not a value of the type wanted:
// what DecodeJSONStrict returns, placed by Path within the value.
type JSONValueError struct {
	// Path is where in the value, empty for the value itself: ".a" for a
	// record's field, "[2]" for an array's element.
	Path string
	Want Type // the type expected there
	// Got is the JSON given, shortened; Reason is why it is refused when
	// it has the right shape (an integer out of range, a bad date).
	Got    string
	Reason string
}

func (e *JSONValueError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(strings.TrimPrefix(e.Path, "."))
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "want %s, got %s", e.Want, e.Got)
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	return b.String()
}

// DecodeJSONStrict converts a value decoded by encoding/json (with
// UseNumber) to a value of type t, as the API reads request bodies: a
// value of the JSON kind the type's row of "Values in JSON" names, or a
// string in the type's text form for a number, nothing else (a string
// for a bool, a number for a text, an object with an unknown field);
// null only where t is nullable (and for array elements, which Postgres
// lets be NULL). A numeric written as a JSON number keeps its digits.
func DecodeJSONStrict(v any, t Type) (any, error) {
	return decodeStrict(v, t, "")
}

func decodeStrict(v any, t Type, path string) (any, error) {
	fail := func(reason string) (any, error) {
		return nil, &JSONValueError{Path: path, Want: t, Got: shortJSON(v), Reason: reason}
	}
	if v == nil {
		if t.Nullable || t.Kind == Null {
			return nil, nil
		}
		return fail("")
	}
	switch t.Kind {
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return fail("")
	case Int2, Int4, Int8, Float4, Float8, Numeric:
		var s string
		switch n := v.(type) {
		case json.Number:
			s = n.String()
		case string:
			s = n
		default:
			return fail("")
		}
		x, err := Parse(s, t)
		if err != nil {
			return fail(err.Error())
		}
		return x, nil
	case JSONB:
		b, err := json.Marshal(v)
		if err != nil {
			return fail(err.Error())
		}
		s, err := NormalizeJSON(string(b))
		if err != nil {
			return fail(err.Error())
		}
		return s, nil
	case Array:
		list, ok := v.([]any)
		if !ok {
			return fail("")
		}
		out := make([]any, len(list))
		et := t.Elem.OrNull()
		for i, e := range list {
			x, err := decodeStrict(e, et, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case Record:
		obj, ok := v.(map[string]any)
		if !ok {
			return fail("")
		}
		for k := range obj {
			if !slices.ContainsFunc(t.Fields, func(f Field) bool { return f.Name == k }) {
				return nil, &JSONValueError{Path: path + "." + k, Want: t, Got: shortJSON(obj[k]), Reason: "no such field"}
			}
		}
		out := make([]any, len(t.Fields))
		for i, f := range t.Fields {
			x, err := decodeStrict(obj[f.Name], f.Type, path+"."+f.Name)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	s, ok := v.(string)
	if !ok {
		return fail("")
	}
	if t.Kind == Text {
		return s, nil
	}
	x, err := Parse(s, t)
	if err != nil {
		return fail(err.Error())
	}
	return x, nil
}

// shortJSON renders a decoded JSON value for an error message, cut to 60
// bytes.
func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
