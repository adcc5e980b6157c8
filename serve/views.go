package serve

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/types"
)

const (
	defaultLimit = 1000
	maxLimit     = 100000
)

// serveView routes /api/views/{view} and /api/views/{view}/changes.
func (s *Server) serveView(w http.ResponseWriter, r *http.Request, rest string) string {
	name, sub, _ := strings.Cut(rest, "/")
	route := "/api/views/{view}"
	if sub == "changes" {
		route += "/changes"
	}
	v, ok := s.views[name]
	if !ok || (sub != "" && sub != "changes") {
		writeError(w, errNotFound(fmt.Sprintf("no view %q: the views are the program's outputs (%s)", name, strings.Join(s.prog.Outputs(), ", "))))
		return route
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, errMethod("a view is read with GET", "GET"))
		return route
	}
	if sub == "changes" {
		s.serveChanges(w, r, v)
		return route
	}
	s.serveRows(w, r, v)
	return route
}

// serveRows answers GET /api/views/{view}: the rows, filtered, in order,
// a page at a time, as JSON or CSV.
func (s *Server) serveRows(w http.ResponseWriter, r *http.Request, v *relation) {
	q := r.URL.Query()
	limit := defaultLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxLimit {
			writeError(w, errBadRequest("limit", fmt.Sprintf("limit: want a number from 1 to %d, got %q", maxLimit, l)))
			return
		}
		limit = n
	}
	var cur *cursor
	if c := q.Get("cursor"); c != "" {
		var err error
		if cur, err = decodeCursor(c); err != nil {
			writeError(w, errBadRequest("cursor", "cursor: not one this server gave"))
			return
		}
	}
	key := map[string]any{}
	for name, vals := range q {
		if name == "limit" || name == "cursor" || name == accessTokenParam {
			continue
		}
		i := v.column(name)
		if i < 0 || !v.filters[i] {
			writeError(w, errBadRequest(name, fmt.Sprintf("%s cannot be filtered on %s: filter on %s", v.name, name, filterNames(v))))
			return
		}
		if len(vals) != 1 {
			writeError(w, errBadRequest(name, fmt.Sprintf("%s: give one value, not %d", name, len(vals))))
			return
		}
		x, err := v.cols[i].ParseText(vals[0])
		if err != nil {
			writeError(w, errBadRequest(name, fmt.Sprintf("%s.%s: want %s, got %q", v.name, name, v.cols[i].Type, vals[0])))
			return
		}
		key[name] = x
	}
	rows, step, err := s.eng.Snapshot(r.Context(), v.name, key)
	if err != nil {
		writeError(w, s.failure(err))
		return
	}
	list := rows.Rows
	order := sortKey(v)
	sortRows(list, order)
	if cur != nil {
		list = cur.after(list, order)
	}
	var next *cursor
	if len(list) > limit {
		next = cursorAt(list[:limit], order)
		list = list[:limit]
	}
	w.Header().Set("X-Stepping-Step", strconv.FormatInt(step, 10))
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if next != nil {
			w.Header().Set("X-Stepping-Next", next.encode())
		}
		_, _ = w.Write(appendCSV(nil, v, list))
		return
	}
	b := []byte(`{"view":`)
	b = appendString(b, v.name)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, step, 10)
	b = append(b, `,"columns":`...)
	b = appendColumns(b, v)
	b = append(b, `,"rows":`...)
	b = appendRows(b, v, list)
	b = append(b, `,"next":`...)
	if next == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, next.encode())
	}
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func filterNames(v *relation) string {
	var names []string
	for i, c := range v.cols {
		if v.filters[i] {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "nothing (the output declares no primary key or index)"
	}
	return strings.Join(names, ", ")
}

// wantsCSV reports whether the request's Accept header prefers CSV.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// sortKey is the columns a view's rows are ordered by: its primary key,
// else all of them.
func sortKey(v *relation) []int {
	if len(v.key) > 0 {
		return v.key
	}
	all := make([]int, len(v.cols))
	for i := range all {
		all[i] = i
	}
	return all
}

func keyOf(row stepping.Row, order []int) []any {
	k := make([]any, len(order))
	for j, i := range order {
		k[j] = row[i]
	}
	return k
}

func sortRows(rows []stepping.Row, order []int) {
	sort.SliceStable(rows, func(a, b int) bool {
		return types.CompareRows(keyOf(rows[a], order), keyOf(rows[b], order)) < 0
	})
}

// cursor is where a page ended: the sort key of its last row, and how
// many rows with that key it held (rows without a primary key may be
// equal).
type cursor struct {
	key  []any
	seen int64
}

func cursorAt(page []stepping.Row, order []int) *cursor {
	last := keyOf(page[len(page)-1], order)
	c := &cursor{key: last}
	for i := len(page) - 1; i >= 0 && types.CompareRows(keyOf(page[i], order), last) == 0; i-- {
		c.seen++
	}
	return c
}

// after returns the rows, sorted, that follow the cursor.
func (c *cursor) after(rows []stepping.Row, order []int) []stepping.Row {
	i := sort.Search(len(rows), func(i int) bool { return types.CompareRows(keyOf(rows[i], order), c.key) >= 0 })
	for skip := c.seen; skip > 0 && i < len(rows) && types.CompareRows(keyOf(rows[i], order), c.key) == 0; skip-- {
		i++
	}
	return rows[i:]
}

// encode writes the cursor opaquely: the storage encoding of its key and
// count, in URL-safe base64.
func (c *cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString(types.EncodeRow(append(slices.Clone(c.key), c.seen)))
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	row, err := types.DecodeRow(b)
	if err != nil || len(row) == 0 {
		return nil, fmt.Errorf("bad cursor")
	}
	seen, ok := row[len(row)-1].(int64)
	if !ok || seen < 0 {
		return nil, fmt.Errorf("bad cursor")
	}
	return &cursor{key: row[:len(row)-1], seen: seen}, nil
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	return types.AppendJSON(b, s, types.Of(types.Text))
}

func appendColumns(b []byte, v *relation) []byte {
	b = append(b, '[')
	for i, c := range v.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, c.Name)
		b = append(b, `,"type":`...)
		b = appendString(b, c.Type)
		b = append(b, `,"nullable":`...)
		b = strconv.AppendBool(b, c.Nullable)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendRows(b []byte, v *relation, rows []stepping.Row) []byte {
	b = append(b, '[')
	for i, row := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, v, row)
	}
	return append(b, ']')
}

// appendRow appends a row as a JSON object keyed by column name.
func appendRow(b []byte, v *relation, row stepping.Row) []byte {
	b = append(b, '{')
	for i, c := range v.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.Name)
		b = append(b, ':')
		b = c.AppendJSON(b, row[i])
	}
	return append(b, '}')
}

// appendCSV writes a header of column names and the rows in their
// types' text forms, NULL as an empty unquoted field and an empty text
// as "".
func appendCSV(b []byte, v *relation, rows []stepping.Row) []byte {
	for i, c := range v.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, c.Name, false)
	}
	b = append(b, '\n')
	for _, row := range rows {
		for i, x := range row {
			if i > 0 {
				b = append(b, ',')
			}
			if x == nil {
				continue
			}
			b = appendCSVField(b, v.cols[i].FormatText(x), true)
		}
		b = append(b, '\n')
	}
	return b
}

func appendCSVField(b []byte, s string, quoteEmpty bool) []byte {
	if !(s == "" && quoteEmpty) && !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}
