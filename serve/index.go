package serve

import (
	"net/http"
	"strings"
)

// serveIndex answers GET / without pages: the program's tables and
// views as JSON, with their columns and paths.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, errMethod("the index is read with GET", "GET"))
		return
	}
	b := []byte(`{"program":`)
	b = appendString(b, s.prog.Filename())
	b = append(b, `,"tables":[`...)
	for i, name := range s.prog.Tables() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRelation(b, s.tables[name], "/api/tables/")
	}
	b = append(b, `],"views":[`...)
	for i, name := range s.prog.Outputs() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRelation(b, s.views[name], "/api/views/")
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func appendRelation(b []byte, r *relation, path string) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, r.name)
	b = append(b, `,"path":`...)
	b = appendString(b, path+r.name)
	b = append(b, `,"columns":`...)
	b = appendColumns(b, r)
	var key []string
	for _, k := range r.key {
		key = append(key, r.cols[k].Name)
	}
	b = append(b, `,"primary_key":[`...)
	for i, k := range key {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
	}
	b = append(b, ']')
	if !r.table {
		var f []string
		for i, c := range r.cols {
			if r.filters[i] {
				f = append(f, c.Name)
			}
		}
		b = append(b, `,"filters":[`...)
		if len(f) > 0 {
			b = append(b, `"`+strings.Join(f, `","`)+`"`...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
