package stepping

import (
	"fmt"

	"github.com/stepping-io/stepping/internal/goconv"
)

// rowFrom turns a row given as a Row or []any (one value per column, in
// order) or a map[string]any (by column name) into a Row in column order;
// columns a map leaves out are NULL. A struct is read by its type's shape
// (inputShape.row). Each value is converted to its column's type (see
// FromGo).
func rowFrom(cols []Column, row any) (Row, error) {
	out := make(Row, len(cols))
	set := func(i int, v any) error {
		x, err := FromGo(v, cols[i])
		if err != nil {
			return fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		out[i] = x
		return nil
	}
	switch r := row.(type) {
	case []any:
		return rowFromList(cols, r, set, out)
	case Row:
		return rowFromList(cols, r, set, out)
	case map[string]any:
		for name, v := range r {
			i := columnIndex(cols, name)
			if i < 0 {
				return nil, fmt.Errorf("no column %s (columns: %s)", name, columnNames(cols))
			}
			if err := set(i, v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("a row is a []any, a map[string]any or a struct, not %T", row)
}

func rowFromList(cols []Column, r []any, set func(int, any) error, out Row) (Row, error) {
	if len(r) != len(cols) {
		return nil, fmt.Errorf("row has %d values, want %d (%s)", len(r), len(cols), columnNames(cols))
	}
	for i, v := range r {
		if err := set(i, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func columnIndex(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// FromGo converts a Go value to a value of a column's type in the
// mapping package types documents. Besides the mapped types themselves it
// accepts: any integer type for integers, numeric (exactly) and floats;
// float32 for floats; a decimal.Decimal for a float, or for an integer
// when whole; a string in the type's Postgres text form for any type but
// arrays ("2024-03-01" for a date, "12.50" for a numeric); time.Duration
// for an interval; json.RawMessage or []byte for jsonb; any slice for an
// array; a pointer, which is NULL when nil and its element otherwise; and
// a driver.Valuer (sql.NullString, ...), through its value. A float never
// becomes a numeric: give a decimal.Decimal or a string. The result is
// checked against the column's type, nullability included.
func FromGo(v any, col Column) (any, error) { return goconv.Convert(v, col.typ) }
