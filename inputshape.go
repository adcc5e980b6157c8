package stepping

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
)

// inputShape is how the rows a caller gives for one table, in changes
// of one kind, are read: the columns they are read as, and, for each Go
// struct type given, which field fills which column. Working these out
// took longer than the step that applied a single change (reflect lists
// a struct's fields afresh, the columns' names and types are made as
// text), so a program keeps each table's shapes (Program.shapes) once
// made.
type inputShape struct {
	cols []Column
	// structs holds a *structShape by reflect.Type.
	structs sync.Map
}

// shapeKey names an inputShape: a table, and whether its changes are
// deletes, which read a keyed table's other columns as nullable.
type shapeKey struct {
	table  string
	delete bool
}

// structShape is which field of a struct type fills which column, or
// why the type cannot be read as a row of the columns.
type structShape struct {
	fields []fieldColumn
	err    error
}

// fieldColumn is a struct field (by index, for FieldByIndex) and the
// column it fills.
type fieldColumn struct {
	index []int
	col   int
}

// inputShape returns the shape of the rows of changes op to in, making
// it the first time.
func (p *Program) inputShape(in *ir.Input, op runtime.Op) *inputShape {
	key := shapeKey{table: in.Name, delete: op == runtime.Delete}
	if s, ok := p.shapes.Load(key); ok {
		return s.(*inputShape)
	}
	s, _ := p.shapes.LoadOrStore(key, &inputShape{cols: changeColumns(in, op)})
	return s.(*inputShape)
}

// row turns what a caller gives as a row of the table into a Row in
// column order: a struct or a pointer to one by its type's shape (the
// field rules of ScanRow), columns no field fills NULL; anything else
// as rowFrom reads it.
func (s *inputShape) row(row any) (Row, error) {
	v := reflect.ValueOf(row)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return rowFrom(s.cols, row)
	}
	shape := s.structShape(v.Type())
	if shape.err != nil {
		return nil, shape.err
	}
	out := make(Row, len(s.cols))
	for _, f := range shape.fields {
		x, err := FromGo(v.FieldByIndex(f.index).Interface(), s.cols[f.col])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", s.cols[f.col].Name, err)
		}
		out[f.col] = x
	}
	return out, nil
}

// structShape returns the shape of struct type t, making it the first
// time.
func (s *inputShape) structShape(t reflect.Type) *structShape {
	if shape, ok := s.structs.Load(t); ok {
		return shape.(*structShape)
	}
	shape := &structShape{}
	for _, f := range structFields(t) {
		i := columnFor(s.cols, f)
		if i < 0 {
			shape = &structShape{err: fmt.Errorf("field %s: no column %s (columns: %s)", f.field.Name, f.name, columnNames(s.cols))}
			break
		}
		shape.fields = append(shape.fields, fieldColumn{index: f.field.Index, col: i})
	}
	got, _ := s.structs.LoadOrStore(t, shape)
	return got.(*structShape)
}
