package stepping

import "github.com/stepping-io/stepping/types"

// Elem returns the element of an array column as a column without a
// name: its type and whether an element may be NULL. ok is false when
// the column is not an array. With Fields it lets code generators walk a
// column's type without parsing Type.
func (c Column) Elem() (elem Column, ok bool) {
	if c.typ.Kind != types.Array || c.typ.Elem == nil {
		return Column{}, false
	}
	e := *c.typ.Elem
	return Column{Type: e.NotNull().String(), Nullable: e.Nullable, typ: e}, true
}

// Fields returns the fields of a record column, in order, each as a
// column named by the field; nil when the column is not a record.
func (c Column) Fields() []Column {
	if c.typ.Kind != types.Record {
		return nil
	}
	out := make([]Column, len(c.typ.Fields))
	for i, f := range c.typ.Fields {
		out[i] = Column{Name: f.Name, Type: f.Type.NotNull().String(), Nullable: f.Type.Nullable, typ: f.Type}
	}
	return out
}
