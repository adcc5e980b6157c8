package openapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stepping-io/stepping"
)

// kindOf returns the Postgres type name a column's type is of: "array"
// for an array, "record" for a record, and otherwise its Type without
// modifiers ("numeric" for numeric(10,2)).
func kindOf(c stepping.Column) string {
	if _, ok := c.Elem(); ok {
		return "array"
	}
	if strings.HasPrefix(c.Type, "{") {
		return "record"
	}
	kind, _, _ := strings.Cut(c.Type, "(")
	return kind
}

// numericScale returns the declared precision and scale of a numeric
// column's type (numeric(10,2)), ok false when it declares none.
func numericScale(c stepping.Column) (precision, scale int, ok bool) {
	args, found := strings.CutPrefix(c.Type, "numeric(")
	if !found {
		return 0, 0, false
	}
	p, s, _ := strings.Cut(strings.TrimSuffix(args, ")"), ",")
	precision, err1 := strconv.Atoi(p)
	scale, err2 := strconv.Atoi(s)
	return precision, scale, err1 == nil && err2 == nil
}

// writtenType is the type as a program writes it, ? and all.
func writtenType(c stepping.Column) string {
	if c.Nullable {
		return c.Type + "?"
	}
	return c.Type
}

// Patterns of the values whose JSON is a string of a fixed form.
const (
	numericPattern   = `^-?[0-9]+(\.[0-9]+)?$`
	timestampPattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$`
	byteaPattern     = `^\\x([0-9a-f]{2})*$`
)

// columnSchema returns the JSON Schema of a column's values as
// docs/serve.md writes them, NULL included when the column is nullable,
// marked with the column's stepping type (x-stepping-type). For input (a
// table's rows) a numeric's pattern admits any scale: the server rounds
// to a declared scale, and writes it out exactly.
func columnSchema(c stepping.Column, input bool) (object, error) {
	s, err := valueSchema(c, input)
	if err != nil {
		return nil, err
	}
	if c.Nullable {
		s = orNull(s)
	}
	s.set("x-stepping-type", writtenType(c))
	return s, nil
}

// valueSchema is the schema of a column's non-NULL values.
func valueSchema(c stepping.Column, input bool) (object, error) {
	switch kind := kindOf(c); kind {
	case "bool":
		return object{{"type", "boolean"}}, nil
	case "int2":
		return object{{"type", "integer"}, {"format", "int32"}, {"minimum", -32768}, {"maximum", 32767}}, nil
	case "int4":
		return object{{"type", "integer"}, {"format", "int32"}}, nil
	case "int8":
		return object{{"type", "integer"}, {"format", "int64"}}, nil
	case "float4", "float8":
		format := map[string]string{"float4": "float", "float8": "double"}[kind]
		return object{{"oneOf", []any{
			object{{"type", "number"}, {"format", format}},
			object{{"type", "string"}, {"enum", []string{"NaN", "Infinity", "-Infinity"}}},
		}}}, nil
	case "numeric":
		return object{{"type", "string"}, {"pattern", numericPatternOf(c, input)},
			{"description", "an exact decimal in Postgres's text form, its scale kept"}}, nil
	case "text":
		return object{{"type", "string"}}, nil
	case "uuid":
		return object{{"type", "string"}, {"format", "uuid"}}, nil
	case "jsonb":
		return object{{"description", "any JSON value"}}, nil
	case "date":
		return object{{"type", "string"}, {"format", "date"}}, nil
	case "timestamp":
		return object{{"type", "string"}, {"pattern", timestampPattern},
			{"description", "RFC 3339 without an offset, microseconds when not zero"}}, nil
	case "timestamptz":
		return object{{"type", "string"}, {"format", "date-time"}}, nil
	case "interval":
		return object{{"type", "string"}, {"description", "an interval in Postgres's text form, such as 1 day 02:00:00"}}, nil
	case "bytea":
		return object{{"type", "string"}, {"pattern", byteaPattern}, {"description", "bytes in Postgres's hex form"}}, nil
	case "array":
		elem, _ := c.Elem()
		items, err := columnSchema(elem, input)
		if err != nil {
			return nil, err
		}
		return object{{"type", "array"}, {"items", items}}, nil
	case "record":
		props := object{}
		var required []string
		for _, f := range c.Fields() {
			fs, err := columnSchema(f, input)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			props = append(props, member{f.Name, fs})
			required = append(required, f.Name)
		}
		s := object{{"type", "object"}, {"properties", props}}
		if required != nil {
			s.set("required", required)
		}
		s.set("additionalProperties", false)
		return s, nil
	default:
		return nil, fmt.Errorf("no JSON schema for type %s", c.Type)
	}
}

// numericPatternOf is the pattern of a numeric's text: with a declared
// scale, exactly that many digits after the point and at most
// precision − scale before it.
func numericPatternOf(c stepping.Column, input bool) string {
	p, s, ok := numericScale(c)
	if !ok || input {
		return numericPattern
	}
	whole := fmt.Sprintf("[0-9]{1,%d}", max(1, p-s))
	if s == 0 {
		return "^-?" + whole + "$"
	}
	return fmt.Sprintf(`^-?%s\.[0-9]{%d}$`, whole, s)
}

// orNull makes a schema admit null: its type becomes [T, "null"], or a
// oneOf gains a null branch; a schema of any value admits null already.
func orNull(s object) object {
	if t, ok := s.get("type").(string); ok {
		s.set("type", []string{t, "null"})
		return s
	}
	if alts, ok := s.get("oneOf").([]any); ok {
		s.set("oneOf", append(alts, object{{"type", "null"}}))
	}
	return s
}

// filterSchema is the schema of a query parameter filtering a column:
// the value in its type's text form, which for scalars reads as the
// JSON schema says and for arrays, records and jsonb is a string.
func filterSchema(c stepping.Column) (object, error) {
	c.Nullable = false
	switch kindOf(c) {
	case "array", "record", "jsonb":
		return object{{"type", "string"}, {"description", "the value in Postgres's text form"}, {"x-stepping-type", c.Type}}, nil
	}
	return columnSchema(c, true)
}
