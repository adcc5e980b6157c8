package openapi

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
)

// DocsPage renders an OpenAPI document (as Document returns it) as one
// self-contained HTML page: every path and operation with its
// parameters, request body and responses, then every schema with its
// properties. It loads nothing from elsewhere, neither script nor style
// nor font, so it works on a machine without a network.
func DocsPage(doc []byte) ([]byte, error) {
	v, err := decodeOrdered(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: reading the document: %w", err)
	}
	root, ok := v.(object)
	if !ok {
		return nil, fmt.Errorf("openapi: the document is not a JSON object")
	}
	p := &page{}
	p.render(root)
	return []byte(p.String()), nil
}

// page writes HTML; every text that comes from the document goes
// through esc.
type page struct {
	strings.Builder
	parameters object // the document's components/parameters, which operations refer to
}

func esc(s string) string { return html.EscapeString(s) }

func (p *page) f(format string, args ...any) { fmt.Fprintf(p, format, args...) }

const style = `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70em;padding:1em 2em;color:#222}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;margin-top:2em}
.op{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.5em 1em}
.method{display:inline-block;min-width:4.5em;font-weight:bold;text-transform:uppercase}
.get{color:#1565c0}.post{color:#2e7d32}.patch{color:#ef6c00}.delete{color:#c62828}
code,.path{font-family:ui-monospace,monospace}.path{font-weight:bold}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}.muted{color:#777}nav ul{columns:2}`

func (p *page) render(root object) {
	info, _ := root.get("info").(object)
	title := str(info.get("title"))
	p.f("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s: API</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", esc(title), style)
	p.f("<h1>%s</h1>\n<p class=\"muted\">OpenAPI %s, version %s</p>\n", esc(title), esc(str(root.get("openapi"))), esc(str(info.get("version"))))
	if s := str(info.get("summary")); s != "" {
		p.f("<p>%s</p>\n", esc(s))
	}
	if s := str(info.get("description")); s != "" {
		p.f("<p>%s</p>\n", esc(s))
	}
	components, _ := root.get("components").(object)
	p.parameters, _ = components.get("parameters").(object)
	paths, _ := root.get("paths").(object)
	p.f("<nav>\n<ul>\n")
	for _, m := range paths {
		for _, op := range operations(m.value) {
			p.f("<li><a href=\"#%s\"><span class=\"method %s\">%s</span> <span class=\"path\">%s</span></a></li>\n",
				esc(opID(op)), esc(op.key), esc(op.key), esc(m.key))
		}
	}
	p.f("<li><a href=\"#schemas\">Schemas</a></li>\n</ul>\n</nav>\n<h2>Paths</h2>\n")
	for _, m := range paths {
		for _, op := range operations(m.value) {
			p.operation(m.key, op)
		}
	}
	p.f("<h2 id=\"schemas\">Schemas</h2>\n")
	schemas, _ := components.get("schemas").(object)
	for _, m := range schemas {
		p.schema(m.key, m.value)
	}
	p.f("<h2 id=\"errors\">Errors</h2>\n<table>\n<tr><th>response</th><th>meaning</th></tr>\n")
	responses, _ := components.get("responses").(object)
	for _, m := range responses {
		r, _ := m.value.(object)
		p.f("<tr id=\"response-%s\"><td><code>%s</code></td><td>%s</td></tr>\n", esc(m.key), esc(m.key), esc(str(r.get("description"))))
	}
	p.f("</table>\n</body>\n</html>\n")
}

// operations lists the operations of a path item, as members keyed by
// method.
func operations(item any) []member {
	obj, _ := item.(object)
	var out []member
	for _, m := range obj {
		switch m.key {
		case "get", "put", "post", "patch", "delete", "head", "options", "trace":
			out = append(out, m)
		}
	}
	return out
}

func opID(op member) string {
	o, _ := op.value.(object)
	if id := str(o.get("operationId")); id != "" {
		return "op-" + id
	}
	return "op-" + op.key
}

func (p *page) operation(path string, op member) {
	o, _ := op.value.(object)
	p.f("<div class=\"op\" id=\"%s\">\n<p><span class=\"method %s\">%s</span> <span class=\"path\">%s</span></p>\n",
		esc(opID(op)), esc(op.key), esc(op.key), esc(path))
	if s := str(o.get("summary")); s != "" {
		p.f("<p>%s</p>\n", esc(s))
	}
	if s := str(o.get("description")); s != "" {
		p.f("<p class=\"muted\">%s</p>\n", esc(s))
	}
	if params, _ := o.get("parameters").([]any); len(params) > 0 {
		p.f("<table>\n<tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>\n")
		for _, param := range params {
			p.parameter(param)
		}
		p.f("</table>\n")
	}
	if body, ok := o.get("requestBody").(object); ok {
		p.f("<p>Request body:</p>\n")
		p.content(body.get("content"))
	}
	p.f("<table>\n<tr><th>status</th><th>answer</th></tr>\n")
	responses, _ := o.get("responses").(object)
	for _, m := range responses {
		r, _ := m.value.(object)
		p.f("<tr><td>%s</td><td>", esc(m.key))
		if to := str(r.get("$ref")); to != "" {
			name := refName(to)
			p.f("<a href=\"#response-%s\">%s</a>", esc(name), esc(name))
		} else {
			p.f("%s", esc(str(r.get("description"))))
			p.content(r.get("content"))
			if events, ok := r.get("x-stepping-events").(object); ok {
				p.f("<br>events: ")
				for i, e := range events {
					if i > 0 {
						p.f(", ")
					}
					p.f("<code>%s</code> %s", esc(e.key), typeHTML(e.value))
				}
			}
		}
		p.f("</td></tr>\n")
	}
	p.f("</table>\n</div>\n")
}

func (p *page) parameter(v any) {
	param, _ := v.(object)
	if to := str(param.get("$ref")); to != "" {
		param, _ = p.parameters.get(refName(to)).(object)
	}
	req := ""
	if b, _ := param.get("required").(bool); b {
		req = " (required)"
	}
	p.f("<tr><td><code>%s</code>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
		esc(str(param.get("name"))), req, esc(str(param.get("in"))), typeHTML(param.get("schema")), esc(str(param.get("description"))))
}

func (p *page) content(v any) {
	content, _ := v.(object)
	for _, m := range content {
		mt, _ := m.value.(object)
		p.f("<br><code>%s</code>: %s", esc(m.key), typeHTML(mt.get("schema")))
	}
}

func (p *page) schema(name string, v any) {
	s, _ := v.(object)
	p.f("<h3 id=\"schema-%s\"><code>%s</code></h3>\n", esc(name), esc(name))
	if d := str(s.get("description")); d != "" {
		p.f("<p>%s</p>\n", esc(d))
	}
	props, ok := s.get("properties").(object)
	if !ok {
		p.f("<p>%s</p>\n", typeHTML(s))
		return
	}
	required := map[string]bool{}
	list, _ := s.get("required").([]any)
	for _, r := range list {
		required[str(r)] = true
	}
	p.f("<table>\n<tr><th>property</th><th>type</th><th>description</th></tr>\n")
	for _, m := range props {
		req := ""
		if required[m.key] {
			req = " (required)"
		}
		ps, _ := m.value.(object)
		p.f("<tr><td><code>%s</code>%s</td><td>%s</td><td>%s</td></tr>\n", esc(m.key), req, typeHTML(m.value), esc(str(ps.get("description"))))
	}
	p.f("</table>\n")
}

// typeHTML renders a schema in a line: a reference as a link, the
// stepping type when the schema has one, else its JSON type with format
// or pattern, arrays and alternatives spelled out.
func typeHTML(v any) string {
	s, ok := v.(object)
	if !ok {
		return ""
	}
	if to := str(s.get("$ref")); to != "" {
		name := refName(to)
		return fmt.Sprintf("<a href=\"#schema-%s\">%s</a>", esc(name), esc(name))
	}
	var out string
	switch t := s.get("type").(type) {
	case string:
		out = esc(t)
	case []any:
		var names []string
		for _, x := range t {
			names = append(names, str(x))
		}
		out = esc(strings.Join(names, " | "))
	}
	if alts, ok := s.get("oneOf").([]any); ok {
		var parts []string
		for _, a := range alts {
			parts = append(parts, typeHTML(a))
		}
		out = strings.Join(parts, " | ")
	}
	if c := s.get("const"); c != nil {
		out = "<code>" + esc(jsonText(c)) + "</code>"
	}
	if e, ok := s.get("enum").([]any); ok {
		var parts []string
		for _, x := range e {
			parts = append(parts, esc(jsonText(x)))
		}
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	if props, ok := s.get("properties").(object); ok && s.get("x-stepping-type") == nil {
		var parts []string
		for _, m := range props {
			parts = append(parts, "<code>"+esc(m.key)+"</code>: "+typeHTML(m.value))
		}
		out += " {" + strings.Join(parts, ", ") + "}"
	}
	if items := s.get("items"); items != nil {
		out += " of " + typeHTML(items)
	}
	if f := str(s.get("format")); f != "" {
		out += " (" + esc(f) + ")"
	}
	if pat := str(s.get("pattern")); pat != "" {
		out += " matching <code>" + esc(pat) + "</code>"
	}
	if out == "" {
		out = "any"
	}
	if st := str(s.get("x-stepping-type")); st != "" {
		out = "<code>" + esc(st) + "</code>: " + out
	}
	return out
}

func refName(to string) string { return to[strings.LastIndexByte(to, '/')+1:] }

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
