package openapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/serve/openapi"
)

// newValidator checks a document against the OpenAPI 3.1 specification
// with libopenapi and returns a validator of requests and responses.
func newValidator(t *testing.T, doc []byte) validator.Validator {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	if v := d.GetVersion(); v != "3.1.0" {
		t.Errorf("version %q, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("building the model: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("invalid document: %s: %s (%v)", e.Message, e.Reason, e.SchemaValidationErrors)
		}
	}
	return v
}

// TestDocumentsValidate checks the document of every example program,
// and of the program of every type, against the OpenAPI 3.1
// specification.
func TestDocumentsValidate(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.step")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	progs := map[string]*stepping.Program{"every_type": compile(t, "every_type.step", everyType(t))}
	for _, f := range files {
		prog, err := stepping.CompileFile(f)
		if err != nil {
			t.Fatal(err)
		}
		progs[filepath.Base(f)] = prog
	}
	for name, prog := range progs {
		t.Run(name, func(t *testing.T) {
			doc, err := openapi.Document(prog)
			if err != nil {
				t.Fatal(err)
			}
			newValidator(t, doc)
		})
	}
}

// TestValidatorRefusesBrokenDocument is the control of
// TestDocumentsValidate: a document the specification forbids fails.
func TestValidatorRefusesBrokenDocument(t *testing.T) {
	d, err := libopenapi.NewDocument([]byte(`{"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": {"200": {}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, _ := v.ValidateDocument(); ok {
		t.Errorf("a document without info.version and a response without description validates")
	}
}

// TestDocumentDescribesShop checks, through the validator, that the shop
// document takes the requests and answers docs/serve.md shows and refuses
// wrong ones: the schemas say what the API says.
func TestDocumentDescribesShop(t *testing.T) {
	prog, err := stepping.CompileFile("../../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi.Document(prog)
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, doc)
	for _, tc := range []struct {
		name   string
		method string
		target string
		body   string
		ok     bool
	}{
		{"insert one", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 2}`, true},
		{"insert several", "POST", "/api/tables/line_items", `[{"basket_id": 1, "product_name": "tv", "qty": 2}]`, true},
		{"insert unknown field", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": 2, "colour": "red"}`, false},
		{"insert missing column", "POST", "/api/tables/line_items", `{"basket_id": 1, "qty": 2}`, false},
		{"insert mistyped", "POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": "two"}`, false},
		{"insert numeric", "POST", "/api/tables/products", `{"name": "tv", "price": "12.50"}`, true},
		{"insert numeric as float", "POST", "/api/tables/products", `{"name": "tv", "price": 12.5}`, false},
		{"patch", "PATCH", "/api/tables/products?name=tv", `{"price": "99.00"}`, true},
		{"patch key", "PATCH", "/api/tables/products?name=tv", `{"name": "radio"}`, false},
		{"patch without key", "PATCH", "/api/tables/products", `{"price": "99.00"}`, false},
		{"delete", "DELETE", "/api/tables/line_items?basket_id=1&product_name=tv", "", true},
		{"delete half a key", "DELETE", "/api/tables/line_items?basket_id=1", "", false},
		{"get filtered", "GET", "/api/views/basket_totals?basket_id=1&limit=10", "", true},
		{"get bad limit", "GET", "/api/views/basket_totals?limit=0", "", false},
		{"stream", "GET", "/api/views/basket_totals/changes?mode=follow&after=3", "", true},
		{"stream bad mode", "GET", "/api/views/basket_totals/changes?mode=sometimes", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.target, nilIfEmpty(body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			ok, errs := v.ValidateHttpRequestSync(req)
			if ok != tc.ok {
				t.Errorf("valid = %v, want %v (%v)", ok, tc.ok, messages(errs))
			}
		})
	}

	for _, tc := range []struct {
		name   string
		target string
		status int
		body   string
		ok     bool
	}{
		{"rows", "/api/views/basket_totals?basket_id=1", 200,
			`{"view": "basket_totals", "step": 12, "columns": [{"name": "basket_id", "type": "int8", "nullable": false}],
			  "rows": [{"basket_id": 1, "total": "12.50", "items": 2}], "next": null}`, true},
		{"numeric as a float", "/api/views/basket_totals", 200,
			`{"view": "basket_totals", "step": 12, "columns": [], "rows": [{"basket_id": 1, "total": 12.5, "items": 2}], "next": null}`, false},
		{"other view's name", "/api/views/basket_totals", 200,
			`{"view": "receipts", "step": 12, "columns": [], "rows": [], "next": null}`, false},
		{"error", "/api/views/basket_totals?qty=1", 400,
			`{"error": {"code": "bad_request", "message": "basket_totals has no filter qty", "field": "qty"}}`, true},
		{"error of no known code", "/api/views/basket_totals", 400,
			`{"error": {"code": "oops", "message": "?"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.target, nil)
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json")
			rec.Header().Set("X-Stepping-Step", "12")
			rec.WriteHeader(tc.status)
			rec.WriteString(tc.body)
			ok, errs := v.ValidateHttpResponse(req, rec.Result())
			if ok != tc.ok {
				t.Errorf("valid = %v, want %v (%v)", ok, tc.ok, messages(errs))
			}
		})
	}
}

func nilIfEmpty(r *strings.Reader) io.Reader {
	if r == nil {
		return http.NoBody
	}
	return r
}

func messages(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		m := e.Message + ": " + e.Reason
		for _, se := range e.SchemaValidationErrors {
			m += "; " + se.FieldPath + ": " + se.Reason
		}
		out = append(out, m)
	}
	return out
}
