package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stepping-io/stepping"
)

// Version is the OpenAPI version of the documents Document writes.
const Version = "3.1.0"

// The error codes of docs/serve.md, by status.
var errorCodes = []struct {
	status int
	code   string
	what   string
}{
	{400, "bad_request", "the request is malformed: an unknown or mistyped field or filter, a missing value, a key that is not the full primary key"},
	{401, "unauthorized", "a token is needed (the server runs with --token)"},
	{403, "forbidden", "the token may not do this: a read token may only read"},
	{404, "not_found", "no row has that primary key"},
	{409, "conflict", "a row with that primary key exists"},
	{410, "gone", "the step to resume after is no longer kept: start again with a snapshot"},
	{413, "too_large", "the body is larger than the server's --max-body"},
	{415, "unsupported_media_type", "the body is not application/json"},
	{422, "failed", "the step failed (a division by zero, say); the message names the view and the change"},
	{503, "unavailable", "the program is not ready (its backfill is not done) or is stopping"},
}

// builder builds one document.
type builder struct {
	prog    *stepping.Program
	outputs map[string]stepping.GraphOutput // by view: each output's key and indexes
	schemas object
}

// Document returns the OpenAPI 3.1 JSON document of the API stepq serve
// serves for prog, as docs/serve.md specifies it: its pages, the rows and
// change stream of each output view, and the writes of each table. Each
// table and output view has its own schemas, named after it (products,
// products.patch, basket_totals, basket_totals.rows, ...), so that
// clients generated from the document are typed per view. The document
// depends on the program alone; its info.version is a digest of the
// program's source.
func Document(prog *stepping.Program) ([]byte, error) {
	b := &builder{prog: prog, outputs: map[string]stepping.GraphOutput{}}
	for _, o := range prog.Graph().Outputs {
		b.outputs[o.View] = o
	}
	paths, err := b.paths()
	if err != nil {
		return nil, fmt.Errorf("openapi: %s: %w", prog.Filename(), err)
	}
	b.commonSchemas()
	sum := sha256.Sum256([]byte(prog.Source()))
	name := strings.TrimSuffix(filepath.Base(prog.Filename()), filepath.Ext(prog.Filename()))
	doc := object{
		{"openapi", Version},
		{"info", object{
			{"title", name},
			{"summary", "The HTTP API stepq serve serves for " + filepath.Base(prog.Filename())},
			{"description", "Generated from the program by stepping. Each write is one step; each answer says the step at which its change is visible. Values are written as their column's type says: numeric as a string, never a float; timestamps in RFC 3339."},
			{"version", hex.EncodeToString(sum[:6])},
		}},
		{"tags", []any{
			object{{"name", "views"}, {"description", "the rows and change streams of the program's output views"}},
			object{{"name", "tables"}, {"description", "writes to the program's tables, each one step"}},
			object{{"name", "pages"}, {"description", "HTML pages and this document"}},
			object{{"name", "operations"}, {"description", "health and metrics"}},
		}},
		{"paths", paths},
		{"components", object{
			{"schemas", b.schemas},
			{"responses", errorResponses()},
			{"parameters", commonParameters()},
			{"securitySchemes", object{
				{"bearer", object{{"type", "http"}, {"scheme", "bearer"},
					{"description", "Needed when the server runs with --token (any request) or --read-token (reads only)."}}},
			}},
		}},
		// An empty requirement makes the token optional: a server
		// started without --token answers everyone.
		{"security", []any{object{{"bearer", []string{}}}, object{}}},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return append(out, '\n'), nil
}

// paths lists the API's paths first (each output view's, then each
// table's), then the pages and the operations' endpoints.
func (b *builder) paths() (object, error) {
	paths := object{}
	outputs := b.prog.Outputs()
	for _, v := range outputs {
		if err := b.view(&paths, v); err != nil {
			return nil, fmt.Errorf("view %s: %w", v, err)
		}
	}
	for _, t := range b.prog.Tables() {
		if err := b.table(&paths, t); err != nil {
			return nil, fmt.Errorf("table %s: %w", t, err)
		}
	}
	paths.set("/", object{{"get", htmlOperation("index", "the program's views and tables, with links to their live pages", nil)}})
	for _, v := range outputs {
		paths.set("/views/"+v, object{{"get", htmlOperation("view_page_"+v,
			"the rows of "+v+", updating live from its change stream, changed rows marked", nil)}})
	}
	for _, v := range outputs {
		op, ok, err := b.rowPage(v)
		if err != nil {
			return nil, fmt.Errorf("view %s: %w", v, err)
		}
		if ok {
			paths.set("/pages/"+v, object{{"get", op}})
		}
	}
	paths = append(paths,
		member{"/openapi.json", object{{"get", object{
			{"tags", []string{"pages"}}, {"operationId", "openapi"}, {"summary", "this document"},
			{"responses", object{{"200", object{
				{"description", "the OpenAPI 3.1 document of the API"},
				{"content", jsonContent(object{{"type", "object"}})},
			}}}},
		}}}},
		member{"/docs", object{{"get", htmlOperation("docs", "this document rendered as HTML", nil)}}},
		member{"/metrics", object{{"get", object{
			{"tags", []string{"operations"}}, {"operationId", "metrics"},
			{"summary", "Prometheus metrics: steps applied, rows in and out, step durations, pending changes, lag"},
			{"responses", object{
				{"200", textResponse("the metrics in Prometheus's text format", "text/plain")},
				{"401", ref("#/components/responses/unauthorized")},
				{"403", ref("#/components/responses/forbidden")},
			}},
		}}}},
		member{"/healthz", object{{"get", probe("healthz", "liveness: the process answers")}}},
		member{"/readyz", object{{"get", probe("readyz", "readiness: the program is open and its backfill done")}}},
	)
	return paths, nil
}

// filterColumns returns the columns of an output's primary key and
// indexes, each once, in the order declared: the columns its rows may be
// filtered by.
func (b *builder) filterColumns(view string) ([]stepping.Column, error) {
	o := b.outputs[view] // the zero GraphOutput of an output without a clause has no keys
	cols, err := b.prog.Columns(view)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ix := range append([][]string{o.PrimaryKey}, o.Indexes...) {
		for _, n := range ix {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	var out []stepping.Column
	for _, n := range names {
		for _, c := range cols {
			if c.Name == n {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// filterParameters are the query parameters of a view's filters.
func filterParameters(cols []stepping.Column, required bool, what string) ([]any, error) {
	var out []any
	for _, c := range cols {
		s, err := filterSchema(c)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		out = append(out, object{{"name", c.Name}, {"in", "query"}, {"required", required},
			{"description", fmt.Sprintf(what, c.Name)}, {"schema", s}})
	}
	return out, nil
}

// rowPage is the operation of /pages/{view}, for a view with a text
// column named html; ok is false for another view.
func (b *builder) rowPage(view string) (object, bool, error) {
	cols, err := b.prog.Columns(view)
	if err != nil {
		return nil, false, err
	}
	if !slices.ContainsFunc(cols, func(c stepping.Column) bool { return c.Name == "html" && c.Type == "text" }) {
		return nil, false, nil
	}
	keys, err := b.filterColumns(view)
	if err != nil {
		return nil, false, err
	}
	params, err := filterParameters(keys, false, "the row's %s, in its type's text form")
	if err != nil {
		return nil, false, err
	}
	op := htmlOperation("row_page_"+view, "the html column of one row of "+view+", updating in the browser when the row changes", params)
	responses := op.get("responses").(object)
	responses.set("404", ref("#/components/responses/not_found"))
	return op, true, nil
}

func htmlOperation(id, summary string, params []any) object {
	op := object{{"tags", []string{"pages"}}, {"operationId", id}, {"summary", summary}}
	if params != nil {
		op.set("parameters", params)
	}
	op.set("responses", object{
		{"200", textResponse("an HTML page", "text/html")},
		{"401", ref("#/components/responses/unauthorized")},
		{"403", ref("#/components/responses/forbidden")},
	})
	return op
}

func probe(id, summary string) object {
	return object{
		{"tags", []string{"operations"}}, {"operationId", id}, {"summary", summary},
		{"security", []any{}},
		{"responses", object{
			{"200", textResponse("ok", "text/plain")},
			{"503", textResponse("not ready", "text/plain")},
		}},
	}
}

func textResponse(description, mediaType string) object {
	return object{{"description", description},
		{"content", object{{mediaType, object{{"schema", object{{"type", "string"}}}}}}}}
}

func ref(to string) object { return object{{"$ref", to}} }

func schemaRef(name string) object { return ref("#/components/schemas/" + name) }

func jsonContent(schema object) object {
	return object{{"application/json", object{{"schema", schema}}}}
}

// errors lists the error responses of an operation, by status.
func errorsOf(resp object, codes ...string) object {
	for _, code := range codes {
		for _, e := range errorCodes {
			if e.code == code {
				resp.set(fmt.Sprint(e.status), ref("#/components/responses/"+code))
			}
		}
	}
	return resp
}

// rowSchema is the schema of a row of a table or view: an object with a
// property per column, those that may not be NULL required, no other.
func rowSchema(description string, cols []stepping.Column, input bool) (object, error) {
	props := object{}
	var required []string
	for _, c := range cols {
		s, err := columnSchema(c, input)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		props = append(props, member{c.Name, s})
		if !c.Nullable || !input {
			required = append(required, c.Name)
		}
	}
	s := object{{"type", "object"}, {"description", description}, {"properties", props}}
	if required != nil {
		s.set("required", required)
	}
	s.set("additionalProperties", false)
	return s, nil
}

// view adds the paths of an output view and its schemas.
func (b *builder) view(paths *object, view string) error {
	cols, err := b.prog.Columns(view)
	if err != nil {
		return err
	}
	row, err := rowSchema("a row of view "+view, cols, false)
	if err != nil {
		return err
	}
	b.schemas.set(view, row)
	b.schemas.set(view+".rows", object{
		{"type", "object"},
		{"description", "rows of " + view + " at a step, in order, and the cursor of the rows after them"},
		{"properties", object{
			{"view", object{{"const", view}}},
			{"step", object{{"type", "integer"}, {"format", "int64"}, {"description", "the step whose state the rows show"}}},
			{"columns", object{{"type", "array"}, {"items", schemaRef("stepping.Column")}}},
			{"rows", object{{"type", "array"}, {"items", schemaRef(view)}}},
			{"next", object{{"type", []string{"string", "null"}},
				{"description", "when more rows follow, the cursor that returns them (?cursor=..., with the same filters)"}}},
		}},
		{"required", []string{"view", "step", "columns", "rows", "next"}},
	})
	b.schemas.set(view+".snapshot", object{
		{"type", "object"},
		{"description", "the data of a snapshot event: the rows of " + view + " at a step"},
		{"properties", object{
			{"step", object{{"type", "integer"}, {"format", "int64"}}},
			{"rows", object{{"type", "array"}, {"items", schemaRef(view)}}},
		}},
		{"required", []string{"step", "rows"}},
	})
	b.schemas.set(view+".changes", object{
		{"type", "object"},
		{"description", "the data of a changes event: a step's changes to " + view + ", an update as the old row with weight -1 and the new with +1"},
		{"properties", object{
			{"step", object{{"type", "integer"}, {"format", "int64"}}},
			{"changes", object{{"type", "array"}, {"items", object{
				{"type", "object"},
				{"properties", object{
					{"row", schemaRef(view)},
					{"weight", object{{"type", "integer"}, {"format", "int64"}}},
				}},
				{"required", []string{"row", "weight"}},
			}}}},
		}},
		{"required", []string{"step", "changes"}},
	})

	filters, err := b.filterColumns(view)
	if err != nil {
		return err
	}
	params, err := filterParameters(filters, false, "rows whose %s equals this value, in its type's text form")
	if err != nil {
		return err
	}
	params = append(params, ref("#/components/parameters/limit"), ref("#/components/parameters/cursor"))
	filterable := "no column"
	if len(filters) > 0 {
		var names []string
		for _, c := range filters {
			names = append(names, c.Name)
		}
		filterable = strings.Join(names, ", ")
	}
	paths.set("/api/views/"+view, object{{"get", object{
		{"tags", []string{"views"}},
		{"operationId", "get_" + view},
		{"summary", "the rows of " + view},
		{"description", "Rows in order of the output's primary key, or of all columns; filters (on " + filterable + ") must all hold. With Accept: text/csv, CSV in Postgres's text form."},
		{"parameters", params},
		{"responses", errorsOf(object{
			{"200", object{
				{"description", "the rows"},
				{"headers", stepHeader()},
				{"content", object{
					{"application/json", object{{"schema", schemaRef(view + ".rows")}}},
					{"text/csv", object{{"schema", object{{"type", "string"}}}}},
				}},
			}},
		}, "bad_request", "unauthorized", "forbidden", "unavailable")},
	}}})
	paths.set("/api/views/"+view+"/changes", object{{"get", object{
		{"tags", []string{"views"}},
		{"operationId", "subscribe_" + view},
		{"summary", "the change stream of " + view + " (Server-Sent Events)"},
		{"description", "Events named snapshot (data: " + view + ".snapshot) and changes (data: " + view + ".changes), each with its step as id; a comment line every 15 seconds keeps the connection open. Resume with Last-Event-ID or ?after=N: the changes of every step after N, none lost or repeated, while those steps are kept."},
		{"parameters", []any{
			ref("#/components/parameters/mode"),
			ref("#/components/parameters/after"),
			ref("#/components/parameters/Last-Event-ID"),
		}},
		{"responses", errorsOf(object{
			{"200", object{
				{"description", "the event stream"},
				{"content", object{{"text/event-stream", object{{"schema", object{{"type", "string"}}}}}}},
				{"x-stepping-events", object{
					{"snapshot", schemaRef(view + ".snapshot")},
					{"changes", schemaRef(view + ".changes")},
				}},
			}},
		}, "bad_request", "unauthorized", "forbidden", "gone", "unavailable")},
	}}})
	return nil
}

func stepHeader() object {
	return object{{"X-Stepping-Step", object{
		{"description", "the step whose state the rows show"},
		{"schema", object{{"type", "integer"}, {"format", "int64"}}},
	}}}
}

// table adds the paths of a table and its schemas.
func (b *builder) table(paths *object, table string) error {
	cols, err := b.prog.Columns(table)
	if err != nil {
		return err
	}
	pk, err := b.prog.PrimaryKey(table)
	if err != nil {
		return err
	}
	row, err := rowSchema("a row of table "+table+"; a column left out is NULL, and a number may also be given as a string in its text form", cols, true)
	if err != nil {
		return err
	}
	b.schemas.set(table, row)
	written := object{
		{"description", "the change is visible from the step the answer names"},
		{"content", jsonContent(schemaRef("stepping.Written"))},
	}
	item := object{
		{"post", object{
			{"tags", []string{"tables"}},
			{"operationId", "insert_" + table},
			{"summary", "insert rows into " + table + ", in one step"},
			{"requestBody", object{{"required", true}, {"content", jsonContent(object{{"oneOf", []any{
				schemaRef(table),
				object{{"type", "array"}, {"items", schemaRef(table)}},
			}}})}}},
			{"responses", errorsOf(object{{"201", written}},
				"bad_request", "unauthorized", "forbidden", "conflict", "too_large", "unsupported_media_type", "failed", "unavailable")},
		}},
	}
	if len(pk) == 0 {
		paths.set("/api/tables/"+table, item)
		return nil
	}
	var keyCols, rest []stepping.Column
	for _, c := range cols {
		if slices.Contains(pk, c.Name) {
			keyCols = append(keyCols, c)
		} else {
			rest = append(rest, c)
		}
	}
	// Key columns are given in the key's order.
	slices.SortStableFunc(keyCols, func(a, b stepping.Column) int {
		return slices.Index(pk, a.Name) - slices.Index(pk, b.Name)
	})
	keyParams, err := filterParameters(keyCols, true, "the %s of the row's primary key, in its type's text form")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		patch, err := rowSchema("columns of a row of "+table+" to change, not its key; null sets a nullable column to NULL", rest, true)
		if err != nil {
			return err
		}
		patch = slices.DeleteFunc(patch, func(m member) bool { return m.key == "required" })
		patch.set("minProperties", 1)
		b.schemas.set(table+".patch", patch)
		item.set("patch", object{
			{"tags", []string{"tables"}},
			{"operationId", "update_" + table},
			{"summary", "update the row of " + table + " with this primary key, in one step"},
			{"parameters", keyParams},
			{"requestBody", object{{"required", true}, {"content", jsonContent(schemaRef(table + ".patch"))}}},
			{"responses", errorsOf(object{{"200", written}},
				"bad_request", "unauthorized", "forbidden", "not_found", "too_large", "unsupported_media_type", "failed", "unavailable")},
		})
	}
	item.set("delete", object{
		{"tags", []string{"tables"}},
		{"operationId", "delete_" + table},
		{"summary", "delete the row of " + table + " with this primary key, in one step"},
		{"parameters", keyParams},
		{"responses", errorsOf(object{{"200", written}},
			"bad_request", "unauthorized", "forbidden", "not_found", "failed", "unavailable")},
	})
	paths.set("/api/tables/"+table, item)
	return nil
}

// commonSchemas adds the schemas every document shares.
func (b *builder) commonSchemas() {
	var codes []string
	for _, e := range errorCodes {
		codes = append(codes, e.code)
	}
	b.schemas.set("stepping.Column", object{
		{"type", "object"},
		{"properties", object{
			{"name", object{{"type", "string"}}},
			{"type", object{{"type", "string"}, {"description", "the column's type as the program writes it, without ?"}}},
			{"nullable", object{{"type", "boolean"}}},
		}},
		{"required", []string{"name", "type", "nullable"}},
	})
	b.schemas.set("stepping.Written", object{
		{"type", "object"},
		{"properties", object{
			{"step", object{{"type", "integer"}, {"format", "int64"}, {"description", "the step at which the change is visible, in it and every later one"}}},
			{"rows", object{{"type", "integer"}, {"format", "int64"}, {"description", "the rows written"}}},
		}},
		{"required", []string{"step", "rows"}},
	})
	b.schemas.set("stepping.Error", object{
		{"type", "object"},
		{"properties", object{{"error", object{
			{"type", "object"},
			{"properties", object{
				{"code", object{{"type", "string"}, {"enum", codes}}},
				{"message", object{{"type", "string"}}},
				{"field", object{{"type", "string"}, {"description", "the field or parameter at fault, when one is"}}},
			}},
			{"required", []string{"code", "message"}},
		}}}},
		{"required", []string{"error"}},
	})
}

func errorResponses() object {
	out := object{}
	for _, e := range errorCodes {
		out = append(out, member{e.code, object{
			{"description", fmt.Sprintf("%d %s: %s", e.status, e.code, e.what)},
			{"content", jsonContent(schemaRef("stepping.Error"))},
		}})
	}
	return out
}

func commonParameters() object {
	return object{
		{"limit", object{{"name", "limit"}, {"in", "query"}, {"description", "the most rows to return"},
			{"schema", object{{"type", "integer"}, {"minimum", 1}, {"maximum", 100000}, {"default", 1000}}}}},
		{"cursor", object{{"name", "cursor"}, {"in", "query"}, {"description", "the next of an earlier answer: the rows after it"},
			{"schema", object{{"type", "string"}}}}},
		{"mode", object{{"name", "mode"}, {"in", "query"},
			{"description", "snapshot-and-follow: the rows at a step, then every later step's changes; snapshot: the rows alone; follow: the changes of the steps after the current one"},
			{"schema", object{{"type", "string"}, {"enum", []string{"snapshot-and-follow", "snapshot", "follow"}}, {"default", "snapshot-and-follow"}}}}},
		{"after", object{{"name", "after"}, {"in", "query"}, {"description", "resume: the changes of the steps after this one, no snapshot"},
			{"schema", object{{"type", "integer"}, {"format", "int64"}}}}},
		{"Last-Event-ID", object{{"name", "Last-Event-ID"}, {"in", "header"}, {"description", "resume, as after does: the id of the last event received"},
			{"schema", object{{"type", "integer"}, {"format", "int64"}}}}},
	}
}
