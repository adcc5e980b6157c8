package stepping

import (
	"database/sql"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Column is a column of a table or view.
type Column struct {
	Name string
	// Type is the column's type as a program writes it, without the ?
	// of a nullable one: a Postgres type ("int8", "numeric(10,2)",
	// "text[]") or a record's ("{a int4, b text}").
	Type     string
	Nullable bool // whether it may hold NULL

	typ types.Type
}

// columnsOf returns the API's view of a circuit's columns.
func columnsOf(cols []ir.Column) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = Column{Name: c.Name, Type: c.Type.NotNull().String(), Nullable: c.Type.Nullable, typ: c.Type}
	}
	return out
}

// orNull is the column made nullable: a lookup's key, or a delete's
// non-key column, may be NULL.
func (c Column) orNull() Column {
	c.typ, c.Nullable = c.typ.OrNull(), true
	return c
}

// circuitColumns returns the circuit's columns the API's columns stand for.
func circuitColumns(cols []Column) []ir.Column {
	out := make([]ir.Column, len(cols))
	for i, c := range cols {
		out[i] = ir.Column{Name: c.Name, Type: c.typ}
	}
	return out
}

// Row is one row: a value per column, each of the Go type that package
// types documents for its column's type (int8 as int64, numeric as
// decimal.Decimal, text as string, NULL as nil, ...).
type Row []any

// Rows is a view's contents: its columns and its rows, in ascending order
// of their values. A row present twice (weight 2) appears twice.
type Rows struct {
	Columns []Column
	Rows    []Row
}

// Len returns the number of rows.
func (r *Rows) Len() int { return len(r.Rows) }

// Scan copies row i into dest, a pointer to a struct, by column name (see
// ScanRow).
func (r *Rows) Scan(i int, dest any) error { return ScanRow(r.Columns, r.Rows[i], dest) }

// ScanAll copies every row into dest, a pointer to a slice of structs (or
// of pointers to structs), replacing its contents.
func (r *Rows) ScanAll(dest any) error {
	slice := reflect.ValueOf(dest)
	if slice.Kind() != reflect.Pointer || slice.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("ScanAll: want a pointer to a slice, got %T", dest)
	}
	slice = slice.Elem()
	elem := slice.Type().Elem()
	out := reflect.MakeSlice(slice.Type(), len(r.Rows), len(r.Rows))
	for i, row := range r.Rows {
		target := out.Index(i)
		if elem.Kind() == reflect.Pointer {
			target.Set(reflect.New(elem.Elem()))
			target = target.Elem()
		}
		if err := scanInto(r.Columns, row, target); err != nil {
			return fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	slice.Set(out)
	return nil
}

// WriteTo prints the rows aligned as psql prints a table.
func (r *Rows) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	err := r.Print(cw, PrintOptions{})
	return cw.n, err
}

// PrintOptions say how Rows.Print prints rows; the zero value prints
// them aligned as psql prints a table.
type PrintOptions struct {
	// Format is "aligned" (or empty), "csv" (a header, then a line per
	// row), or "json" (an object per row, one a line, values as the API
	// writes them).
	Format string
	// Null is how a NULL is shown, aligned or in CSV (psql's \pset
	// null); empty by default, as psql shows it.
	Null string
	// Expanded prints each row as a record, a line per column, as
	// psql's \x does.
	Expanded bool
}

// Print prints the rows as opts say, in ascending order of their values.
func (r *Rows) Print(w io.Writer, opts PrintOptions) error {
	switch opts.Format {
	case "", "aligned", "csv", "json":
	default:
		return fmt.Errorf("stepping: unknown format %q (aligned, csv or json)", opts.Format)
	}
	z := zset.New()
	for _, row := range r.Rows {
		z.Add(zset.Row(row), 1)
	}
	return tablefmt.WriteOptions(w, circuitColumns(r.Columns), z, false, tablefmt.Options{Format: tablefmt.Format(opts.Format), Null: opts.Null, Expanded: opts.Expanded})
}

// Weighted is a row with its weight in a batch of changes: +1 for an
// inserted row, -1 for a deleted one, n for n copies.
type Weighted struct {
	Row    Row
	Weight int64
}

// Batch is one committed step's changes to one view: an update of a row
// shows as its old row with weight -1 and its new row with weight +1.
// Rows are in ascending order of their values.
type Batch struct {
	Step    int64
	View    string
	Columns []Column
	Changes []Weighted
}

// Scan copies the row of change i into dest, a pointer to a struct, by
// column name (see ScanRow), and returns the change's weight.
func (b *Batch) Scan(i int, dest any) (weight int64, err error) {
	return b.Changes[i].Weight, ScanRow(b.Columns, b.Changes[i].Row, dest)
}

// WriteTo prints the changes aligned as psql prints a table, with a last
// column weight, as stepq run --changes does.
func (b *Batch) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	err := tablefmt.Write(cw, circuitColumns(b.Columns), b.zset(), true)
	return cw.n, err
}

func (b *Batch) zset() *zset.ZSet {
	z := zset.New()
	for _, c := range b.Changes {
		z.Add(c.Row, c.Weight)
	}
	return z
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// newRows lists a Z-set of contents in order, each row as many times as
// its weight.
func newRows(cols []Column, z *zset.ZSet) *Rows {
	r := &Rows{Columns: cols}
	if z == nil {
		return r
	}
	for _, e := range z.Entries() {
		for range e.Weight {
			r.Rows = append(r.Rows, Row(e.Row))
		}
	}
	return r
}

// newBatch lists a Z-set of changes in order.
func newBatch(step int64, v *ir.View, z *zset.ZSet) Batch {
	b := Batch{Step: step, View: v.Name, Columns: columnsOf(v.Columns)}
	entries := z.Entries()
	if len(entries) == 0 {
		return b
	}
	b.Changes = make([]Weighted, len(entries))
	for i, e := range entries {
		b.Changes[i] = Weighted{Row: Row(e.Row), Weight: e.Weight}
	}
	return b
}

// ScanRow copies a row into dest, a pointer to a struct. Each exported
// field takes the column named by its tag `stepping:"name"`, or, without
// a tag, the column whose name equals the field's name ignoring case and
// underscores (BasketID takes basket_id); a field tagged `stepping:"-"`
// is skipped. A field that matches no column is an error; a column that
// no field takes is ignored, so a struct may read a subset.
//
// A value is stored as itself when the field's type can hold it, and
// otherwise converted: an integer into any integer field it fits, a float
// into float32, a []any array into a slice of the element type, jsonb
// text into []byte or json.RawMessage, a date or timestamp into time.Time.
// NULL needs a field that can be nil (a pointer, interface, slice or
// map) or one whose pointer implements sql.Scanner (sql.NullInt64,
// decimal.NullDecimal, ...), which is also used for any other value the
// field cannot hold directly.
func ScanRow(cols []Column, row Row, dest any) error {
	v := reflect.ValueOf(dest)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("scan: want a non-nil pointer to a struct, got %T", dest)
	}
	return scanInto(cols, row, v.Elem())
}

func scanInto(cols []Column, row Row, st reflect.Value) error {
	if st.Kind() != reflect.Struct {
		return fmt.Errorf("scan: want a struct, got %s", st.Type())
	}
	for _, f := range structFields(st.Type()) {
		i := columnFor(cols, f)
		if i < 0 {
			return fmt.Errorf("scan: field %s: no column %s (columns: %s)", f.field.Name, f.name, columnNames(cols))
		}
		if err := assign(st.FieldByIndex(f.field.Index), row[i]); err != nil {
			return fmt.Errorf("scan: column %s into field %s: %w", cols[i].Name, f.field.Name, err)
		}
	}
	return nil
}

type structField struct {
	field  reflect.StructField
	name   string // the column name, tagged or the field's
	tagged bool
}

// structFields lists the exported fields a struct scans into.
func structFields(t reflect.Type) []structField {
	var out []structField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag, tagged := f.Tag.Lookup("stepping")
		tag, _, _ = strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			out = append(out, structField{field: f, name: f.Name})
			continue
		}
		out = append(out, structField{field: f, name: tag, tagged: tagged})
	}
	return out
}

// columnFor returns the index of the column a field takes, or -1.
func columnFor(cols []Column, f structField) int {
	for i, c := range cols {
		if f.tagged && c.Name == f.name || !f.tagged && looseName(c.Name) == looseName(f.name) {
			return i
		}
	}
	return -1
}

func looseName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

func columnNames(cols []Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

var scannerType = reflect.TypeFor[sql.Scanner]()

// assign stores value v (in the types package's mapping) into dst.
func assign(dst reflect.Value, v any) error {
	if v == nil {
		switch dst.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			dst.SetZero()
			return nil
		}
		if dst.Addr().Type().Implements(scannerType) {
			return dst.Addr().Interface().(sql.Scanner).Scan(nil)
		}
		return fmt.Errorf("NULL does not fit a %s; use a pointer or a sql.Null type", dst.Type())
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.Type().AssignableTo(dst.Type()):
		dst.Set(rv)
		return nil
	case dst.Kind() == reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		if err := assign(p.Elem(), v); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	if ok, err := convertInto(dst, v); ok {
		return err
	}
	if dst.Addr().Type().Implements(scannerType) {
		return dst.Addr().Interface().(sql.Scanner).Scan(scannerValue(v))
	}
	return fmt.Errorf("a %T does not fit a %s", v, dst.Type())
}

// convertInto stores v into dst when a lossless conversion exists.
func convertInto(dst reflect.Value, v any) (bool, error) {
	switch x := v.(type) {
	case int64:
		switch dst.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if dst.OverflowInt(x) {
				return true, fmt.Errorf("%d overflows %s", x, dst.Type())
			}
			dst.SetInt(x)
			return true, nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if x < 0 || dst.OverflowUint(uint64(x)) {
				return true, fmt.Errorf("%d overflows %s", x, dst.Type())
			}
			dst.SetUint(uint64(x))
			return true, nil
		}
	case float64:
		if dst.Kind() == reflect.Float32 || dst.Kind() == reflect.Float64 {
			dst.SetFloat(x)
			return true, nil
		}
	case string:
		switch {
		case dst.Kind() == reflect.String:
			dst.SetString(x)
			return true, nil
		case dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Uint8:
			dst.SetBytes([]byte(x))
			return true, nil
		}
	case []byte:
		if dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Uint8 {
			dst.SetBytes(append([]byte(nil), x...))
			return true, nil
		}
	case bool:
		if dst.Kind() == reflect.Bool {
			dst.SetBool(x)
			return true, nil
		}
	case []any:
		if dst.Kind() != reflect.Slice {
			return false, nil
		}
		out := reflect.MakeSlice(dst.Type(), len(x), len(x))
		for i, e := range x {
			if err := assign(out.Index(i), e); err != nil {
				return true, fmt.Errorf("element %d: %w", i+1, err)
			}
		}
		dst.Set(out)
		return true, nil
	}
	return false, nil
}

// scannerValue gives a sql.Scanner the value in the form database/sql
// drivers use: numerics as their text, the rest as they are.
func scannerValue(v any) any {
	switch x := v.(type) {
	case decimal.Decimal:
		return types.FormatNumeric(x)
	case types.IntervalValue:
		return types.Format(x, types.Of(types.Interval))
	case time.Time, int64, float64, bool, string, []byte:
		return x
	}
	return v
}
