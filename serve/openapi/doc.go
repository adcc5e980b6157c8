// Package openapi generates the OpenAPI 3.1 document of the HTTP API
// that stepq serve serves for a program (docs/serve.md is its reference),
// and renders such a document as a self-contained HTML page.
//
// Document describes the API from the program's declarations alone: one
// path per output view and per table, so that each carries its own
// schemas, with exact types and nullability. It owns no HTTP handling:
// the server (package serve) serves what Document returns at
// /openapi.json and what DocsPage returns at /docs.
package openapi
