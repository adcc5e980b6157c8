package types

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// IntervalValue is a Postgres interval: months, days and microseconds are kept
// apart because their lengths vary (a month is not 30 days).
type IntervalValue struct {
	Months int32
	Days   int32
	Micros int64
}

// Duration is the length of the interval's days and time, a day being
// 24 hours (as in UTC); its months are not counted. Windows, gaps and
// lateness, which allow no months, are measured by it.
func (iv IntervalValue) Duration() time.Duration {
	return time.Duration(int64(iv.Days)*86_400_000_000+iv.Micros) * time.Microsecond
}

// Compare orders two values of the same type. A NULL value sorts before
// every other value so that printed output is deterministic; SQL
// comparison operators treat NULL separately and never call Compare with
// it. Inside arrays and records, though, a NULL element equals NULL and
// sorts after every other element, as Postgres compares array and
// composite values.
func Compare(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		default:
			return 1
		}
	}
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return compareFloat(x, b.(float64))
	case decimal.Decimal:
		return x.Cmp(b.(decimal.Decimal))
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	case IntervalValue:
		y := b.(IntervalValue)
		return cmp.Compare(x.approxMicros(), y.approxMicros())
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case []any:
		return compareElems(x, b.([]any))
	}
	panic(fmt.Sprintf("types.Compare: unsupported value %T", a))
}

// compareFloat orders floats as Postgres does: NaN equals itself and is
// greater than every other value.
func compareFloat(x, y float64) int {
	xn, yn := x != x, y != y
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	}
	return cmp.Compare(x, y)
}

// approxMicros orders intervals as Postgres does: a month counts 30 days.
func (iv IntervalValue) approxMicros() int64 {
	return (int64(iv.Months)*30+int64(iv.Days))*86400e6 + iv.Micros
}

// CompareRows orders rows column by column.
func CompareRows(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// compareElems orders arrays and records element by element, a NULL
// element after every other, then the shorter first.
func compareElems(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := CompareNullsLast(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// CompareNullsLast is Compare with NULL after every other value: the
// order of ORDER BY x (ascending) in Postgres.
func CompareNullsLast(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return Compare(a, b)
}

// Equal reports whether two values are equal as Postgres's = would say
// (1.50 = 1.5), with NULL equal to NULL: the equality of rows in a Z-set.
func Equal(a, b any) bool { return Compare(a, b) == 0 }

// Value tags of the key encoding.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagNumeric
	tagText
	tagTime
	tagInterval
	tagBytes
	tagList
)

// AppendKey appends an encoding of v to buf such that two values have the
// same encoding exactly when Equal says they are equal (1.50 and 1.5 do).
// Join keys, group keys and primary keys are hashed by this encoding.
func AppendKey(buf []byte, v any) []byte { return appendEncoding(buf, v, false) }

// appendEncoding is AppendKey, or with exact set, the encoding of the
// value as spelled: a numeric's scale counts, so 1.50 and 1.5 differ.
func appendEncoding(buf []byte, v any, exact bool) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, tagNull)
	case bool:
		if x {
			return append(buf, tagTrue)
		}
		return append(buf, tagFalse)
	case int64:
		buf = append(buf, tagInt)
		return binary.LittleEndian.AppendUint64(buf, uint64(x))
	case float64:
		if x == 0 && !exact {
			x = 0 // -0 equals 0, but is a row of its own, as 1.50 is
		}
		bits := math.Float64bits(x)
		if x != x {
			bits = 0x7ff8000000000001 // one NaN, equal to itself as in Postgres
		}
		buf = append(buf, tagFloat)
		return binary.LittleEndian.AppendUint64(buf, bits)
	case decimal.Decimal:
		if exact {
			var tmp [32]byte
			if b, ok := appendNumericFast(tmp[:0], x); ok {
				buf = binary.AppendUvarint(append(buf, tagNumeric), uint64(len(b)))
				return append(buf, b...)
			}
			return appendString(append(buf, tagNumeric), FormatNumeric(x))
		}
		// String trims trailing zeros, so 1.50 and 1.5 share a key.
		return appendString(append(buf, tagNumeric), x.String())
	case string:
		return appendString(append(buf, tagText), x)
	case time.Time:
		buf = append(buf, tagTime)
		return binary.LittleEndian.AppendUint64(buf, uint64(x.UnixMicro()))
	case IntervalValue:
		buf = append(buf, tagInterval)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(x.Months))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(x.Days))
		return binary.LittleEndian.AppendUint64(buf, uint64(x.Micros))
	case []byte:
		return appendString(append(buf, tagBytes), string(x))
	case []any:
		buf = binary.AppendUvarint(append(buf, tagList), uint64(len(x)))
		for _, e := range x {
			buf = appendEncoding(buf, e, exact)
		}
		return buf
	}
	panic(fmt.Sprintf("types.AppendKey: unsupported value %T", v))
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// RowKey returns the identity of a row in a Z-set: the encoding of its
// values as spelled, so that a change of a numeric's scale alone (a sum
// going from 0.00 to 0) is a change of row, as its printed form is.
func RowKey(row []any) string {
	var buf [64]byte
	b := buf[:0]
	for _, v := range row {
		b = appendEncoding(b, v, true)
	}
	return string(b)
}

// AppendRowKey appends RowKey(row) to buf.
func AppendRowKey(buf []byte, row []any) []byte {
	for _, v := range row {
		buf = appendEncoding(buf, v, true)
	}
	return buf
}

// SameRowKey reports whether RowKey(a) == RowKey(b), comparing the rows
// value by value (each value's encoding delimits itself, so the keys are
// equal exactly when every value's is) without building the keys. Two
// rows that are one slice are the same at once: a retraction often
// brings the very row held (an aggregate retracting the row it gave),
// and rows are never changed once made. Nor is a value: one that is a
// single box in both rows (a join's pair and its retraction, made of the
// same rows' values) is the same without a look at it.
func SameRowKey(a, b []any) bool {
	if len(a) != len(b) {
		return RowKey(a) == RowKey(b)
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if !SameBox(a[i], b[i]) && !sameEncoding(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameEncoding reports whether two values' encodings as spelled are
// equal: for the common types by comparing the values as the encoding
// would, else by encoding both.
func sameEncoding(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.UnixMicro() == y.UnixMicro()
	case float64:
		y, ok := b.(float64)
		// The encoding keeps -0 apart from 0 and makes every NaN one.
		return ok && (math.Float64bits(x) == math.Float64bits(y) || x != x && y != y)
	case decimal.Decimal:
		// Of one exponent, the spelling is the coefficient's; else
		// 150 (15e1) and 150 (150e0) may still be spelled alike.
		if y, ok := b.(decimal.Decimal); ok && x.Exponent() == y.Exponent() {
			return x.Cmp(y) == 0
		}
	}
	var ta, tb [64]byte
	return bytes.Equal(appendEncoding(ta[:0], a, true), appendEncoding(tb[:0], b, true))
}

// KeyOf returns the equality key of a tuple of values: tuples have the
// same key exactly when their values are pairwise Equal, as SQL compares
// them in joins, groups and primary keys.
func KeyOf(values []any) string {
	var buf [64]byte
	b := buf[:0]
	for _, v := range values {
		b = AppendKey(b, v)
	}
	return string(b)
}

// AppendFormat appends Format(v, t) to buf, making no string of its own
// for an integer, a text or a numeric of a small coefficient: what a
// format() of ids and totals mostly holds.
func AppendFormat(buf []byte, v any, t Type) []byte {
	switch x := v.(type) {
	case nil:
		return buf
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case string:
		return append(buf, x...)
	case decimal.Decimal:
		if b, ok := appendNumericFast(buf, x); ok {
			return b
		}
	}
	return append(buf, Format(v, t)...)
}

// Format renders a value of type t as Postgres prints it in text form (as
// psql shows it and as a cast to text gives it); NULL is the empty string.
func Format(v any, t Type) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "t"
		}
		return "f"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if t.Kind == Float4 {
			return formatFloat(x, 32)
		}
		return FormatFloat(x)
	case decimal.Decimal:
		return FormatNumeric(x)
	case string:
		return x
	case time.Time:
		return formatTime(x, t.Kind)
	case IntervalValue:
		return formatInterval(x)
	case []byte:
		return `\x` + fmt.Sprintf("%x", x)
	case []any:
		if t.Kind == Record {
			return formatRecord(x, t)
		}
		var et Type
		if t.Kind == Array {
			et = *t.Elem
		}
		return formatArray(x, et)
	}
	return fmt.Sprint(v)
}

// formatArray writes an array as Postgres's array_out does: {1,2,NULL},
// an element in double quotes (with \ before " and \) when it is empty,
// reads NULL, or holds braces, a comma, a quote, a backslash or white
// space.
func formatArray(x []any, et Type) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range x {
		if i > 0 {
			b.WriteByte(',')
		}
		if e == nil {
			b.WriteString("NULL")
			continue
		}
		s := Format(e, et)
		if s != "" && !strings.EqualFold(s, "NULL") && !strings.ContainsAny(s, "{},\"\\ \t\n\r\v\f") {
			b.WriteString(s)
			continue
		}
		b.WriteByte('"')
		for _, c := range []byte(s) {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// formatRecord writes a record as Postgres's record_out does: (1,abc,),
// a NULL field as nothing, a field in double quotes (with " and \
// doubled) when it is empty or holds parentheses, a comma, a quote, a
// backslash or white space.
func formatRecord(x []any, t Type) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, e := range x {
		if i > 0 {
			b.WriteByte(',')
		}
		if e == nil {
			continue
		}
		var ft Type
		if i < len(t.Fields) {
			ft = t.Fields[i].Type
		}
		s := Format(e, ft)
		if s != "" && !strings.ContainsAny(s, "(),\"\\ \t\n\r\v\f") {
			b.WriteString(s)
			continue
		}
		b.WriteByte('"')
		for _, c := range []byte(s) {
			if c == '"' || c == '\\' {
				b.WriteByte(c)
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	b.WriteByte(')')
	return b.String()
}

// FormatFloat prints a float8 as Postgres 15 does: the shortest text that
// reads back to the same value, in exponent form when the exponent is
// below -4 or at least 15 (1e+15, 1e-05, but 100000000000000).
func FormatFloat(f float64) string { return formatFloat(f, 64) }

// formatFloat prints a float8 (bits 64) or a float4 (bits 32, whose
// exponent form starts at 6 digits: 1.234567e+06).
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	e := strconv.FormatFloat(f, 'e', -1, bits)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	limit := 15
	if bits == 32 {
		limit = 6
	}
	if exp < -4 || exp >= limit {
		return e
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// FormatNumeric prints a numeric with its scale, as Postgres does: 24.0
// stays 24.0 and 1.50 stays 1.50.
func FormatNumeric(d decimal.Decimal) string {
	var tmp [32]byte
	if b, ok := appendNumericFast(tmp[:0], d); ok {
		return string(b)
	}
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}

// appendNumericFast appends FormatNumeric(d) to buf without going through
// math/big, when d's coefficient is small (within 2^53) and its exponent
// at most zero and at least -20; ok is false, and buf unchanged, otherwise.
// The digits are those decimal.Decimal.StringFixed writes: the
// coefficient's, with a point -exponent digits from the right and zeros
// before it as needed, and a minus sign for a negative value.
func appendNumericFast(buf []byte, d decimal.Decimal) (_ []byte, ok bool) {
	e := d.Exponent()
	c, small := SmallCoefficient(d)
	if e > 0 || e < -20 || !small {
		return buf, false
	}
	if c < 0 {
		buf = append(buf, '-')
		c = -c
	}
	var digits [24]byte
	ds := strconv.AppendInt(digits[:0], c, 10)
	scale := int(-e)
	if scale == 0 {
		return append(buf, ds...), true
	}
	if len(ds) > scale {
		buf = append(buf, ds[:len(ds)-scale]...)
		buf = append(buf, '.')
		return append(buf, ds[len(ds)-scale:]...), true
	}
	buf = append(buf, '0', '.')
	for range scale - len(ds) {
		buf = append(buf, '0')
	}
	return append(buf, ds...), true
}

func formatTime(t time.Time, k Kind) string {
	t = t.UTC()
	switch k {
	case Date:
		return t.Format("2006-01-02")
	case Timestamptz:
		return t.Format("2006-01-02 15:04:05.999999") + "+00"
	}
	return t.Format("2006-01-02 15:04:05.999999")
}
