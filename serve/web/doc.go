// Package web serves stepq serve's live pages: an index of a program's
// outputs and tables, a page per output view whose table of rows
// follows the view's change stream, and, for a view with a text column
// named html and a key, a page per row that shows the row's html and
// replaces it when the row changes.
//
// The pages are server-rendered shells (html/template) around plain
// JavaScript embedded in the binary (no framework, no build step): the
// rows themselves come to the browser from the HTTP API of docs/serve.md
// (GET /api/views/{view}/changes as Server-Sent Events, POST
// /api/tables/{table}), which package serve implements and this package
// only links to. Handler needs the program alone, not an engine: it can
// be mounted beside any server that speaks that API.
//
// Every value of a row is put into the page as text, never as markup,
// since rows come from users; the one exception is the html column of
// a /pages/ page, which is markup by design and which the program must
// build with html_escape around user text (examples/comments.step does).
// The pages send a Content-Security-Policy that allows scripts from
// this server only, so that markup which slips through unescaped cannot
// run script.
package web
