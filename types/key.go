package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// errKey is a string that is not an encoding KeyOf gives.
var errKey = errors.New("not an equality key")

// DecodeKey reads back the values of an equality key made by KeyOf.
// The values equal the ones encoded, though not always as they were
// spelled: a key keeps a numeric without its trailing zeros (1.50 reads
// back as 1.5) and a float's -0 as 0. A time reads back in UTC.
func DecodeKey(key string) ([]any, error) {
	b := []byte(key)
	var out []any
	for len(b) > 0 {
		v, rest, err := decodeKeyValue(b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		b = rest
	}
	return out, nil
}

func decodeKeyValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: truncated", errKey)
	}
	tag, b := b[0], b[1:]
	fixed := func(n int) ([]byte, bool) {
		if len(b) < n {
			return nil, false
		}
		v := b[:n]
		b = b[n:]
		return v, true
	}
	str := func() (s string, ok bool) {
		s, b, ok = cutString(b)
		return s, ok
	}
	switch tag {
	case tagNull:
		return nil, b, nil
	case tagFalse:
		return false, b, nil
	case tagTrue:
		return true, b, nil
	case tagInt:
		if v, ok := fixed(8); ok {
			return int64(binary.LittleEndian.Uint64(v)), b, nil
		}
	case tagFloat:
		if v, ok := fixed(8); ok {
			return math.Float64frombits(binary.LittleEndian.Uint64(v)), b, nil
		}
	case tagNumeric:
		s, ok := str()
		// KeyOf writes decimal.Decimal.String: digits, never an
		// exponent, which NewFromString would expand to all its digits.
		if !ok || s == "" || strings.ContainsAny(s, "eE") {
			break
		}
		d, err := decimal.NewFromString(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errKey, err)
		}
		return d, b, nil
	case tagText:
		if s, ok := str(); ok {
			return s, b, nil
		}
	case tagTime:
		if v, ok := fixed(8); ok {
			return time.UnixMicro(int64(binary.LittleEndian.Uint64(v))).UTC(), b, nil
		}
	case tagInterval:
		if v, ok := fixed(16); ok {
			return IntervalValue{
				Months: int32(binary.LittleEndian.Uint32(v)),
				Days:   int32(binary.LittleEndian.Uint32(v[4:])),
				Micros: int64(binary.LittleEndian.Uint64(v[8:])),
			}, b, nil
		}
	case tagBytes:
		if s, ok := str(); ok {
			return []byte(s), b, nil
		}
	case tagList:
		if list, rest, ok, err := cutList(b, decodeKeyValue); ok || err != nil {
			return list, rest, err
		}
	}
	return nil, nil, fmt.Errorf("%w: bad value (tag %d)", errKey, tag)
}
