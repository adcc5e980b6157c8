package genrt

import (
	"fmt"
	"net/url"
)

// Key returns the query of a key: the columns at the indexes idx, one
// field of a generated type each, in their text form. Every field must
// hold a value.
func Key(cols []Column, idx []int, fields ...any) (url.Values, error) {
	q := url.Values{}
	for i, k := range idx {
		c := cols[k]
		v, err := Value(fields[i], c.Type.NotNull())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		s, err := Text(v, c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		q.Set(c.Name, s)
	}
	return q, nil
}

// KeyOf returns the query of the key of a row of values: its columns at
// the indexes idx.
func KeyOf(cols []Column, idx []int, row []any) (url.Values, error) {
	q := url.Values{}
	for _, k := range idx {
		s, err := Text(row[k], cols[k].Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cols[k].Name, err)
		}
		q.Set(cols[k].Name, s)
	}
	return q, nil
}

// Filters returns the query of a view's filters: the columns at the
// indexes idx, one pointer field each, nil for a column not filtered.
func Filters(cols []Column, idx []int, fields ...any) (url.Values, error) {
	q := url.Values{}
	for i, k := range idx {
		c := cols[k]
		v, err := Value(fields[i], c.Type.OrNull())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if v == nil {
			continue
		}
		s, err := Text(v, c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		q.Set(c.Name, s)
	}
	return q, nil
}
