package types

import (
	"strconv"
	"strings"
)

// Kind is the kind of a type, one per Postgres base type plus arrays and
// records.
type Kind uint8

// The kinds. Invalid marks an expression whose type could not be found; the
// checker uses it to avoid reporting follow-on errors.
const (
	Invalid Kind = iota
	Null         // the type of the literal null, assignable to any nullable type
	Bool
	Int2
	Int4
	Int8
	Float4
	Float8
	Numeric
	Text
	UUID
	Date
	Timestamp
	Timestamptz
	Interval
	JSONB
	Bytea
	Array
	Record
)

var kindNames = [...]string{
	Invalid: "invalid", Null: "null", Bool: "bool", Int2: "int2", Int4: "int4", Int8: "int8",
	Float4: "float4", Float8: "float8", Numeric: "numeric", Text: "text", UUID: "uuid",
	Date: "date", Timestamp: "timestamp", Timestamptz: "timestamptz", Interval: "interval",
	JSONB: "jsonb", Bytea: "bytea", Array: "array", Record: "record",
}

// String returns the kind's Postgres name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// typeNames maps every accepted spelling of a scalar type to its kind.
// The aliases are Postgres's own.
var typeNames = map[string]Kind{
	"bool": Bool, "boolean": Bool,
	"int2": Int2, "smallint": Int2,
	"int4": Int4, "int": Int4, "integer": Int4,
	"int8": Int8, "bigint": Int8,
	"float4": Float4, "real": Float4,
	"float8": Float8, "float": Float8, "double": Float8,
	"numeric": Numeric, "decimal": Numeric,
	"text": Text, "varchar": Text,
	"uuid":      UUID,
	"date":      Date,
	"timestamp": Timestamp, "timestamptz": Timestamptz,
	"interval": Interval,
	"jsonb":    JSONB, "json": JSONB,
	"bytea": Bytea,
}

// LookupKind returns the kind a type name denotes.
func LookupKind(name string) (Kind, bool) {
	k, ok := typeNames[strings.ToLower(name)]
	return k, ok
}

// TypeNames lists the canonical scalar type names, for hints and completion.
func TypeNames() []string {
	var out []string
	for k := Bool; k <= Bytea; k++ {
		out = append(out, k.String())
	}
	return out
}

// Field is a named, typed member of a record.
type Field struct {
	Name string
	Type Type
}

// Type is a value type. The zero Type is Invalid.
type Type struct {
	Kind     Kind
	Nullable bool
	// Scale is the declared scale of a numeric (numeric(p,s)); -1 when not
	// declared, in which case values keep the scale arithmetic gives them.
	Scale     int
	Precision int
	Elem      *Type   // element type of an Array
	Fields    []Field // fields of a Record
}

// Of returns a non-null scalar type of kind k.
func Of(k Kind) Type { return Type{Kind: k, Scale: -1} }

// ArrayOf returns the non-null array type with elements of type elem.
func ArrayOf(elem Type) Type { return Type{Kind: Array, Elem: &elem, Scale: -1} }

// RecordOf returns the non-null record type with the given fields.
func RecordOf(fields []Field) Type { return Type{Kind: Record, Fields: fields, Scale: -1} }

// OrNull returns t made nullable.
func (t Type) OrNull() Type { t.Nullable = true; return t }

// NotNull returns t without its nullability.
func (t Type) NotNull() Type { t.Nullable = false; return t }

// IsNumeric reports whether t is one of the number types.
func (t Type) IsNumeric() bool {
	switch t.Kind {
	case Int2, Int4, Int8, Float4, Float8, Numeric:
		return true
	}
	return false
}

// IsInteger reports whether t is int2, int4 or int8.
func (t Type) IsInteger() bool { return t.Kind == Int2 || t.Kind == Int4 || t.Kind == Int8 }

// Identical reports whether t and u are the same type, nullability included.
func (t Type) Identical(u Type) bool {
	if t.Kind != u.Kind || t.Nullable != u.Nullable {
		return false
	}
	switch t.Kind {
	case Array:
		return t.Elem.Identical(*u.Elem)
	case Record:
		if len(t.Fields) != len(u.Fields) {
			return false
		}
		for i := range t.Fields {
			if t.Fields[i].Name != u.Fields[i].Name || !t.Fields[i].Type.Identical(u.Fields[i].Type) {
				return false
			}
		}
	case Numeric:
		return t.Scale == u.Scale && t.Precision == u.Precision
	}
	return true
}

// String renders the type as written in .step files: numeric(12,2), text[], int4?.
func (t Type) String() string {
	var s string
	switch t.Kind {
	case Array:
		s = t.Elem.String()
		if t.Elem.Nullable {
			s = "(" + s + ")"
		}
		s += "[]"
	case Record:
		var fs []string
		for _, f := range t.Fields {
			fs = append(fs, f.Name+" "+f.Type.String())
		}
		s = "{" + strings.Join(fs, ", ") + "}"
	case Numeric:
		s = "numeric"
		if t.Scale >= 0 {
			s += "(" + strconv.Itoa(t.Precision) + "," + strconv.Itoa(t.Scale) + ")"
		}
	default:
		s = t.Kind.String()
	}
	if t.Nullable && t.Kind != Null {
		s += "?"
	}
	return s
}
