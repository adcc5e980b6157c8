package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// JSON is a decoded jsonb value: nil (JSON null), bool, decimal.Decimal
// (every number, exactly), string, []JSON (an array) or *JSONObject.
type JSON = any

// JSONObject is a jsonb object: its keys in jsonb's order (shorter keys
// first, then byte order), each once, and their values.
type JSONObject struct {
	Keys   []string
	Values map[string]JSON
}

// Get returns the value of key and whether the object has it.
func (o *JSONObject) Get(key string) (JSON, bool) {
	v, ok := o.Values[key]
	return v, ok
}

// NormalizeJSON reads JSON text and returns it in the form Postgres prints
// a jsonb value: object keys sorted as jsonb stores them (by length, then
// bytes), a repeated key keeping its last value, numbers as numerics
// (1.50 stays 1.50, 1e2 is 100), ", " and ": " between items, and
// non-ASCII characters as themselves. A jsonb value is held in this form,
// so two equal documents are equal strings.
func NormalizeJSON(s string) (string, error) {
	v, err := DecodeJSON(s)
	if err != nil {
		return "", err
	}
	return EncodeJSON(v), nil
}

// DecodeJSON parses JSON text into a JSON value.
func DecodeJSON(s string) (JSON, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeJSONValue(dec)
	if err != nil {
		return nil, fmt.Errorf("invalid input syntax for type json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid input syntax for type json: text after the value")
	}
	return v, nil
}

func decodeJSONValue(dec *json.Decoder) (JSON, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			list := []JSON{}
			for dec.More() {
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token()
			return list, err
		}
		obj := &JSONObject{Values: map[string]JSON{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			v, err := decodeJSONValue(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := obj.Values[k]; !dup {
				obj.Keys = append(obj.Keys, k)
			}
			obj.Values[k] = v
		}
		sort.Slice(obj.Keys, func(i, j int) bool { return jsonKeyLess(obj.Keys[i], obj.Keys[j]) })
		_, err := dec.Token()
		return obj, err
	case json.Number:
		// jsonb keeps numbers as numeric, with its range.
		d, err := ParseNumeric(t.String())
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return tok, nil // bool, string or nil
}

// jsonKeyLess orders object keys as jsonb does: shorter first.
func jsonKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// EncodeJSON prints a JSON value in Postgres's jsonb text form.
func EncodeJSON(v JSON) string {
	var b bytes.Buffer
	encodeJSON(&b, v)
	return b.String()
}

func encodeJSON(b *bytes.Buffer, v JSON) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case decimal.Decimal:
		b.WriteString(FormatNumeric(x))
	case string:
		quoteJSON(b, x)
	case []JSON:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			encodeJSON(b, e)
		}
		b.WriteByte(']')
	case *JSONObject:
		b.WriteByte('{')
		for i, k := range x.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			quoteJSON(b, k)
			b.WriteString(": ")
			encodeJSON(b, x.Values[k])
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("types.EncodeJSON: unexpected %T", v))
	}
}

// quoteJSON writes s as a JSON string the way Postgres's escape_json does
// (see appendJSONString).
func quoteJSON(b *bytes.Buffer, s string) {
	b.Write(appendJSONString(b.AvailableBuffer(), s))
}
