package stepping

import (
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
)

// OutputPrimaryKey returns the columns of an output's declared primary
// key (output v to table t primary key (...)), in the key's order, or nil
// when it declares none. Servers and generated clients filter and look
// up an output's rows by its key and indexes.
func (p *Program) OutputPrimaryKey(view string) ([]string, error) {
	o, err := p.output(view)
	if err != nil || o == nil {
		return nil, err
	}
	return indexColumns(o.View.Columns, o.PrimaryKey), nil
}

// OutputIndexes returns the column lists of an output's declared indexes
// (output v to table t index (...)), in declaration order, or nil when it
// declares none.
func (p *Program) OutputIndexes(view string) ([][]string, error) {
	o, err := p.output(view)
	if err != nil || o == nil {
		return nil, err
	}
	var out [][]string
	for _, ix := range o.Indexes {
		out = append(out, indexColumns(o.View.Columns, ix))
	}
	return out, nil
}

// output returns the output clause of a view the program outputs: nil,
// with no error, for a view output without a clause (a program that
// declares no output outputs every view that way), and ErrNotFound for
// a name that is not an output.
func (p *Program) output(view string) (*ir.Output, error) {
	for _, o := range p.c.Circuit.Outputs {
		if o.View.Name == view {
			return o, nil
		}
	}
	for _, v := range p.c.OutputViews() {
		if v.Name == view {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "output", Name: view})
}

func indexColumns(cols []ir.Column, ix []int) []string {
	if len(ix) == 0 {
		return nil
	}
	out := make([]string, len(ix))
	for i, k := range ix {
		out[i] = cols[k].Name
	}
	return out
}

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
