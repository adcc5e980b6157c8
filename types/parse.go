package types

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Parse reads a value of type t from its Postgres text form, as found in
// CSV files and COPY text. It does not handle NULL; callers decide how NULL
// is written.
func Parse(s string, t Type) (any, error) {
	switch t.Kind {
	case Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "yes", "on", "1":
			return true, nil
		case "f", "false", "no", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("invalid input for type bool: %q", s)
	case Int2, Int4, Int8:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid input for type %s: %q", t.Kind, s)
		}
		return CheckInt(n, t.Kind)
	case Float4, Float8:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid input for type %s: %q", t.Kind, s)
		}
		return f, nil
	case Numeric:
		d, err := ParseNumeric(s)
		if err != nil {
			return nil, err
		}
		return FitNumeric(d, t)
	case Text:
		return s, nil
	case JSONB:
		return NormalizeJSON(s)
	case UUID:
		return parseUUID(s)
	case Date:
		tm, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("invalid input for type date: %q", s)
		}
		return tm, nil
	case Timestamp, Timestamptz:
		return parseTimestamp(strings.TrimSpace(s), t.Kind)
	case Interval:
		return ParseInterval(s)
	case Bytea:
		if h, ok := strings.CutPrefix(s, `\x`); ok {
			var b []byte
			if _, err := fmt.Sscanf(h, "%x", &b); err != nil && h != "" {
				return nil, fmt.Errorf("invalid input for type bytea: %q", s)
			}
			return b, nil
		}
		return []byte(s), nil
	}
	return nil, fmt.Errorf("reading %s values from text is not supported yet", t)
}

// CheckInt reports an error when n does not fit the integer kind k.
func CheckInt(n int64, k Kind) (any, error) {
	if err := CheckIntRange(n, k); err != nil {
		return nil, err
	}
	return n, nil
}

// CheckIntRange is CheckInt without the value, for a caller that has it
// already: it allocates nothing.
func CheckIntRange(n int64, k Kind) error {
	switch k {
	case Int2:
		if n < -1<<15 || n >= 1<<15 {
			return fmt.Errorf("smallint out of range: %d", n)
		}
	case Int4:
		if n < -1<<31 || n >= 1<<31 {
			return fmt.Errorf("integer out of range: %d", n)
		}
	}
	return nil
}

// FitNumeric rounds a numeric to the declared scale of t, if it has one,
// half away from zero as Postgres does, and fails as Postgres's "numeric
// field overflow" when the result has more than precision − scale digits
// before the point.
func FitNumeric(d decimal.Decimal, t Type) (decimal.Decimal, error) {
	if t.Kind != Numeric || t.Scale < 0 {
		return d, nil
	}
	r := d.Round(int32(t.Scale)) // exactly t.Scale digits after the point
	limit := decimal.New(1, int32(t.Precision-t.Scale))
	if r.Abs().Cmp(limit) >= 0 {
		return decimal.Decimal{}, fmt.Errorf("numeric field overflow: a field with precision %d, scale %d must round to an absolute value less than 10^%d",
			t.Precision, t.Scale, t.Precision-t.Scale)
	}
	return r, nil
}

// timestampLayouts are the forms of timestamp input accepted: a date,
// optionally a time with optional fractional seconds, optionally a zone.
var timestampLayouts = func() []string {
	var out []string
	for _, clock := range []string{" 15:04:05.999999999", "T15:04:05.999999999", " 15:04", "T15:04"} {
		for _, zone := range []string{"", "Z07:00", "Z07", "Z0700"} {
			out = append(out, "2006-01-02"+clock+zone)
		}
	}
	return append(out, "2006-01-02")
}()

// parseTimestamp reads a timestamp or timestamptz. A timestamptz is held
// in UTC; a timestamp ignores a written zone, as Postgres does.
func parseTimestamp(s string, k Kind) (any, error) {
	for _, layout := range timestampLayouts {
		tm, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if k == Timestamp {
			y, m, d := tm.Date()
			h, mi, sec := tm.Clock()
			tm = time.Date(y, m, d, h, mi, sec, tm.Nanosecond(), time.UTC)
		}
		return tm.UTC().Round(time.Microsecond), nil
	}
	return nil, fmt.Errorf("invalid input for type %s: %q", k, s)
}

func parseUUID(s string) (any, error) {
	h := strings.ToLower(strings.Trim(strings.TrimSpace(s), "{}"))
	plain := strings.ReplaceAll(h, "-", "")
	if len(plain) != 32 {
		return nil, fmt.Errorf("invalid input for type uuid: %q", s)
	}
	for _, c := range plain {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return nil, fmt.Errorf("invalid input for type uuid: %q", s)
		}
	}
	return plain[0:8] + "-" + plain[8:12] + "-" + plain[12:16] + "-" + plain[16:20] + "-" + plain[20:], nil
}

// FromJSON converts a value decoded by encoding/json (with UseNumber) to a
// value of type t. JSON null is NULL.
func FromJSON(v any, t Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Kind {
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a JSON boolean for bool, got %v", v)
		}
		return b, nil
	case Int2, Int4, Int8, Float4, Float8, Numeric:
		switch n := v.(type) {
		case json.Number:
			return Parse(n.String(), t)
		case string:
			return Parse(n, t)
		}
		return nil, fmt.Errorf("want a JSON number for %s, got %v", t, v)
	case JSONB:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return NormalizeJSON(string(b))
	case Array:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want a JSON array for %s, got %v", t, v)
		}
		out := make([]any, len(list))
		for i, e := range list {
			x, err := FromJSON(e, *t.Elem)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case Record:
		return recordFromJSON(v, t)
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a JSON string for %s, got %v", t, v)
	}
	return Parse(s, t)
}

// recordFromJSON reads a record from a JSON object keyed by field name, as
// Postgres's to_jsonb writes one; an absent field is NULL.
func recordFromJSON(v any, t Type) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object for %s, got %v", t, v)
	}
	out := make([]any, len(t.Fields))
	for i, f := range t.Fields {
		x, err := FromJSON(obj[f.Name], f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		out[i] = x
	}
	for k := range obj {
		if !slices.ContainsFunc(t.Fields, func(f Field) bool { return f.Name == k }) {
			return nil, fmt.Errorf("%s has no field %s", t, k)
		}
	}
	return out, nil
}
