package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// Value tags of the storage encoding. Unlike the key encoding, it keeps
// everything needed to rebuild the value exactly, a numeric's scale
// included, so state written to a store reads back identical.
const (
	encNull byte = iota
	encFalse
	encTrue
	encInt
	encFloat
	encNumeric
	encText
	encTime
	encInterval
	encBytes
	encList
)

// AppendValue appends the storage encoding of v to buf.
func AppendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, encNull)
	case bool:
		if x {
			return append(buf, encTrue)
		}
		return append(buf, encFalse)
	case int64:
		return binary.AppendVarint(append(buf, encInt), x)
	case float64:
		return binary.LittleEndian.AppendUint64(append(buf, encFloat), math.Float64bits(x))
	case decimal.Decimal:
		buf = binary.AppendVarint(append(buf, encNumeric), int64(x.Exponent()))
		return appendString(buf, x.Coefficient().String())
	case string:
		return appendString(append(buf, encText), x)
	case time.Time:
		return binary.AppendVarint(append(buf, encTime), x.UnixMicro())
	case IntervalValue:
		buf = binary.AppendVarint(append(buf, encInterval), int64(x.Months))
		buf = binary.AppendVarint(buf, int64(x.Days))
		return binary.AppendVarint(buf, x.Micros)
	case []byte:
		return appendString(append(buf, encBytes), string(x))
	case []any:
		buf = binary.AppendUvarint(append(buf, encList), uint64(len(x)))
		for _, e := range x {
			buf = AppendValue(buf, e)
		}
		return buf
	}
	panic(fmt.Sprintf("types.AppendValue: unsupported value %T", v))
}

// EncodeRow returns the storage encoding of a row.
func EncodeRow(row []any) []byte {
	return AppendValue(nil, row)
}

var errCorrupt = errors.New("corrupt value encoding")

// DecodeRow reads a row written by EncodeRow.
func DecodeRow(b []byte) ([]any, error) {
	v, rest, err := decodeValue(b)
	if err != nil {
		return nil, err
	}
	row, ok := v.([]any)
	if !ok || len(rest) != 0 {
		return nil, errCorrupt
	}
	return row, nil
}

// DecodeValue reads one value written by AppendValue and returns the rest
// of the buffer.
func DecodeValue(b []byte) (any, []byte, error) { return decodeValue(b) }

func decodeValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errCorrupt
	}
	tag, b := b[0], b[1:]
	varint := func() (int64, bool) {
		n, k := binary.Varint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return n, true
	}
	str := func() (s string, ok bool) {
		s, b, ok = cutString(b)
		return s, ok
	}
	switch tag {
	case encNull:
		return nil, b, nil
	case encFalse:
		return false, b, nil
	case encTrue:
		return true, b, nil
	case encInt:
		if n, ok := varint(); ok {
			return n, b, nil
		}
	case encFloat:
		if len(b) >= 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
		}
	case encNumeric:
		exp, ok := varint()
		if !ok {
			break
		}
		coef, ok := str()
		if !ok {
			break
		}
		// Not decimal.NewFromString: a coefficient spelt 1e99999999
		// would be expanded to all its digits.
		d, err := numericFromCoefficient(coef, exp)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return d, b, nil
	case encText:
		if s, ok := str(); ok {
			return s, b, nil
		}
	case encTime:
		if n, ok := varint(); ok {
			return time.UnixMicro(n).UTC(), b, nil
		}
	case encInterval:
		m, ok1 := varint()
		d, ok2 := varint()
		us, ok3 := varint()
		if ok1 && ok2 && ok3 {
			return IntervalValue{Months: int32(m), Days: int32(d), Micros: us}, b, nil
		}
	case encBytes:
		if s, ok := str(); ok {
			return []byte(s), b, nil
		}
	case encList:
		if list, rest, ok, err := cutList(b, decodeValue); ok || err != nil {
			return list, rest, err
		}
	}
	return nil, nil, errCorrupt
}

// cutString reads a string written by appendString, the encoding both
// the storage and the key encodings use, and returns it with the rest of
// b; ok is false when b is truncated.
func cutString(b []byte) (s string, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", b, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// cutList reads a list written as its length then its values, each read
// by decode, as both the storage and the key encodings write lists; ok is
// false when the length is unreadable or longer than b could hold.
func cutList(b []byte, decode func([]byte) (any, []byte, error)) (list []any, rest []byte, ok bool, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, nil, false, nil
	}
	b = b[k:]
	list = make([]any, n)
	for i := range list {
		if list[i], b, err = decode(b); err != nil {
			return nil, nil, false, err
		}
	}
	return list, b, true, nil
}
