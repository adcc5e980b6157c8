package types

import (
	"math/big"
	"math/bits"
	"unsafe"

	"github.com/shopspring/decimal"
)

// Values kept in interfaces are boxed: an interface holds a pointer to
// a copy of the value. A decimal.Decimal is a pointer to a big.Int and
// an exponent, and the big.Int holds a slice of words, so a sum made with
// decimal.New and kept in an interface is three objects (the Int, its
// words, the box); a string made from bytes is two (its bytes, the box).
// A step that changes a hundred groups makes one of each per group and
// per formatted row. BoxDecimal and BoxText make them one object each,
// with the box pointing into it.
//
// shopspring/decimal keeps Decimal's fields unexported, so BoxDecimal
// builds them by their layout, which is checked once against a Decimal
// made by decimal.New; should a version of the library lay them out
// otherwise, BoxDecimal falls back to decimal.New.

// decimalFields is decimal.Decimal's layout: its coefficient and its
// exponent.
type decimalFields struct {
	value *big.Int
	exp   int32
}

// decimalBox is a decimal, its coefficient and the coefficient's words
// in one object; an interface holding the decimal points into it.
type decimalBox struct {
	d     decimalFields
	i     big.Int
	words [64 / bits.UintSize]big.Word
}

// decimalLayoutKnown reports whether decimal.Decimal is laid out as
// decimalFields: set once, when the package is initialised, and only
// read after.
var decimalLayoutKnown = func() bool {
	if unsafe.Sizeof(decimal.Decimal{}) != unsafe.Sizeof(decimalFields{}) ||
		unsafe.Alignof(decimal.Decimal{}) != unsafe.Alignof(decimalFields{}) {
		return false
	}
	d := decimal.New(-12345, -2)
	f := (*decimalFields)(unsafe.Pointer(&d))
	return f.value != nil && f.value.Int64() == -12345 && f.exp == -2
}()

// eface is the layout of an interface value of type any.
type eface struct {
	typ, data unsafe.Pointer
}

// SameBox reports whether a and b are one box: the same dynamic type and
// the same data pointer, not merely equal values.
func SameBox(a, b any) bool {
	x, y := (*eface)(unsafe.Pointer(&a)), (*eface)(unsafe.Pointer(&b))
	return x.typ == y.typ && x.data == y.data
}

// decimalType is the type word of an interface holding a decimal.Decimal.
var decimalType = func() unsafe.Pointer {
	var v any = decimal.Decimal{}
	return (*eface)(unsafe.Pointer(&v)).typ
}()

// BoxDecimal returns coef × 10^exp, as decimal.New(coef, exp) gives it,
// in an interface: one allocation rather than three. The decimal is
// like any other; nothing changes it after (decimal's arithmetic makes
// new values).
func BoxDecimal(coef int64, exp int32) any {
	if !decimalLayoutKnown {
		return decimal.New(coef, exp)
	}
	b := new(decimalBox)
	u := uint64(coef)
	if coef < 0 {
		u = -u
	}
	// The coefficient's words, least significant first: one on a 64-bit
	// machine, up to two on a 32-bit one (v's shift is by the word's
	// width, in two halves so that it is not a shift by 64).
	words := b.words[:0]
	for v := u; v != 0; v = v >> (bits.UintSize / 2) >> (bits.UintSize / 2) {
		words = append(words, big.Word(v))
	}
	b.i.SetBits(words)
	if coef < 0 {
		b.i.Neg(&b.i)
	}
	b.d = decimalFields{value: &b.i, exp: exp}
	var v any
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: decimalType, data: unsafe.Pointer(&b.d)}
	return v
}

// CompactDecimal returns v, a decimal.Decimal in an interface, as
// BoxDecimal makes it: the decimal, its coefficient and the
// coefficient's words in one object, rather than the three a decimal
// made by decimal's functions and then boxed is. It is v itself when it
// is one object already, when its coefficient does not fit an int64, or
// when it is not a decimal. The decimal is the same: the same
// coefficient and exponent, so that it encodes and reads alike. A table
// keeps its rows' numerics this way: a third of the objects for the
// collector, in about the bytes of the three (64 against 56), and one
// place in memory to read when a join or a sum reads the value.
func CompactDecimal(v any) any {
	if !decimalLayoutKnown {
		return v
	}
	e := (*eface)(unsafe.Pointer(&v))
	if e.typ != decimalType {
		return v
	}
	f := (*decimalFields)(e.data)
	if f.value == nil || !f.value.IsInt64() {
		return v // the zero Decimal, or a big coefficient
	}
	// Made by BoxDecimal: its big.Int follows it in the box. (Compared
	// as addresses: a standalone decimal's box is smaller than a
	// decimalBox, and must not be read as one.)
	if uintptr(unsafe.Pointer(f.value)) == uintptr(e.data)+unsafe.Offsetof(decimalBox{}.i) {
		return v
	}
	return BoxDecimal(f.value.Int64(), f.exp)
}

// stringType is the type word of an interface holding a string.
var stringType = func() unsafe.Pointer {
	var v any = ""
	return (*eface)(unsafe.Pointer(&v)).typ
}()

// textBox is a string's header and its bytes in one object, the bytes
// in an array of A's size; an interface holding the string points into
// it.
type textBox[A any] struct {
	s     string
	bytes A
}

// BoxText returns b as a string in an interface: for a short string
// (to 112 bytes), one allocation, the box and the bytes together, rather
// than two, the string's bytes and the interface's box. The string takes
// the room string(b) would round up to, or less: the objects are sized
// to the allocator's classes (32 to 128 bytes).
func BoxText(b []byte) any {
	switch n := len(b); {
	case n == 0:
		return ""
	case n <= 16:
		return boxTextIn[[16]byte](b)
	case n <= 32:
		return boxTextIn[[32]byte](b)
	case n <= 48:
		return boxTextIn[[48]byte](b)
	case n <= 64:
		return boxTextIn[[64]byte](b)
	case n <= 112:
		return boxTextIn[[112]byte](b)
	}
	return string(b)
}

// boxTextIn is BoxText in a textBox[A], whose array holds b.
func boxTextIn[A any](b []byte) any {
	t := new(textBox[A])
	room := unsafe.Slice((*byte)(unsafe.Pointer(&t.bytes)), unsafe.Sizeof(t.bytes))
	n := copy(room, b)
	t.s = unsafe.String(&room[0], n)
	var v any
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: stringType, data: unsafe.Pointer(&t.s)}
	return v
}
