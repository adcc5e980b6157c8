package types

import (
	"encoding/binary"
	"math"
	"time"
)

// OrderKey returns an encoding of v whose byte order (as bytes.Compare
// and Postgres's bytea comparison see it) is the order Compare gives
// values of one type, for the types ordered indexes support: integers,
// floats, text, dates, timestamps and timestamptz. It reports false for
// any other value, and for NULL.
func OrderKey(v any) ([]byte, bool) {
	switch x := v.(type) {
	case int64:
		return binary.BigEndian.AppendUint64(nil, uint64(x)^(1<<63)), true
	case float64:
		if x == 0 {
			x = 0 // -0 equals 0
		}
		bits := math.Float64bits(x)
		switch {
		case x != x:
			bits = math.MaxUint64 // NaN sorts after every number, as in Postgres
		case bits>>63 == 1:
			bits = ^bits
		default:
			bits ^= 1 << 63
		}
		return binary.BigEndian.AppendUint64(nil, bits), true
	case string:
		return []byte(x), true
	case time.Time:
		return binary.BigEndian.AppendUint64(nil, uint64(x.UnixMicro())^(1<<63)), true
	}
	return nil, false
}

// HasOrderKey reports whether values of type t have an OrderKey.
func HasOrderKey(t Type) bool {
	switch t.Kind {
	case Int2, Int4, Int8, Float4, Float8, Text, Date, Timestamp, Timestamptz:
		return true
	}
	return false
}
