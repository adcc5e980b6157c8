package gogen

import (
	"go/token"
	"strings"
	"unicode"
)

// initialisms are the words Go spells in capitals (basket_id is BasketID).
var initialisms = map[string]bool{
	"id": true, "url": true, "uri": true, "http": true, "https": true, "json": true, "sql": true,
	"uuid": true, "api": true, "html": true, "xml": true, "ip": true, "db": true, "cpu": true,
	"ttl": true, "utc": true, "ui": true, "css": true, "tcp": true, "udp": true,
}

// exported returns a name in Go's exported style: line_items is
// LineItems, basket_id is BasketID; a name that starts with no letter
// is prefixed with X.
func exported(name string) string {
	var b strings.Builder
	for _, w := range words(name) {
		if initialisms[strings.ToLower(w)] {
			b.WriteString(strings.ToUpper(w))
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	s := b.String()
	if s == "" || !unicode.IsLetter([]rune(s)[0]) {
		s = "X" + s
	}
	return s
}

// unexported returns a name in Go's unexported style, safe as a
// parameter: not a keyword, nor a name the generated code uses itself.
func unexported(name string) string {
	ws := words(name)
	var b strings.Builder
	for i, w := range ws {
		switch {
		case i == 0:
			b.WriteString(strings.ToLower(w))
		case initialisms[strings.ToLower(w)]:
			b.WriteString(strings.ToUpper(w))
		default:
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			b.WriteString(string(r))
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter([]rune(s)[0]) {
		s = "x" + s
	}
	if token.IsKeyword(s) || reserved[s] {
		s += "_"
	}
	return s
}

// reserved are the names generated methods use for their own
// parameters and locals, or that shadow what they call.
var reserved = map[string]bool{
	"ctx": true, "c": true, "e": true, "err": true, "key": true, "rows": true, "row": true,
	"values": true, "q": true, "fmt": true, "genrt": true, "stepping": true, "types": true,
	"decimal": true, "json": true, "time": true, "http": true, "context": true, "opts": true,
	"filter": true, "page": true, "found": true, "string": true, "int": true, "any": true,
}

// words splits a name at underscores and at lower-to-upper changes.
func words(name string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == ' ' }) {
		start := 0
		r := []rune(part)
		for i := 1; i < len(r); i++ {
			if unicode.IsUpper(r[i]) && unicode.IsLower(r[i-1]) {
				out = append(out, string(r[start:i]))
				start = i
			}
		}
		out = append(out, string(r[start:]))
	}
	return out
}
