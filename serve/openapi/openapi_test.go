package openapi_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/serve/openapi"
)

// everyType returns a program whose tables and output views hold a column of
// every type, nullable and not, with arrays and records nested, keyed
// and indexed outputs, and a table without a primary key.
func everyType(t testing.TB) string { return golden.Read(t, "../../testdata/every_type.step") }

func compile(t *testing.T, name, src string) *stepping.Program {
	t.Helper()
	prog, err := stepping.Compile(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// TestDocumentGolden compares the documents of the shop example and of
// the program of every type with their golden files.
func TestDocumentGolden(t *testing.T) {
	shop, err := stepping.CompileFile("../../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		prog *stepping.Program
	}{
		{"shop", shop},
		{"every_type", compile(t, "every_type.step", everyType(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := openapi.Document(tc.prog)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".json"), string(doc))
			page, err := openapi.DocsPage(doc)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".html"), string(page))
		})
	}
}

// TestDocsPageSelfContained checks that the page loads nothing from
// elsewhere, and that a document's text is escaped on it.
func TestDocsPageSelfContained(t *testing.T) {
	doc, err := openapi.Document(compile(t, "every_type.step", everyType(t)))
	if err != nil {
		t.Fatal(err)
	}
	page, err := openapi.DocsPage(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "src=", "http://", "https://", "<link", "@import"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	page, err = openapi.DocsPage([]byte(`{"openapi": "3.1.0", "info": {"title": "<b>x</b>", "version": "1"}, "paths": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<b>x</b>") || !strings.Contains(string(page), "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("the title is not escaped:\n%s", page)
	}
	if _, err := openapi.DocsPage([]byte(`[1, 2]`)); err == nil {
		t.Errorf("DocsPage of an array: no error")
	}
}
