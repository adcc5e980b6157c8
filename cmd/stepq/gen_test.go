package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
)

// TestGenGo checks that stepq gen go writes the files package gogen
// generates (its golden files for the shop example), under the package
// name given or the program's.
func TestGenGo(t *testing.T) {
	dir := t.TempDir()
	r := runStepq(t, repoRoot, "gen", "go", "-o", filepath.Join(dir, "shop"), "examples/shop.step")
	r.want(t, 0)
	for _, name := range []string{"client.go", "engine.go", "models.go"} {
		got := golden.Read(t, filepath.Join(dir, "shop", name))
		want := golden.Read(t, filepath.Join(repoRoot, "gen", "gogen", "testdata", "shop", name+".golden"))
		if got != want {
			t.Errorf("%s differs from gen/gogen/testdata/shop/%s.golden", name, name)
		}
	}
	r = runStepq(t, repoRoot, "gen", "go", "-package", "myshop", "-o", filepath.Join(dir, "other"), "examples/shop.step")
	r.want(t, 0)
	if src := golden.Read(t, filepath.Join(dir, "other", "client.go")); !strings.Contains(src, "\npackage myshop\n") {
		t.Errorf("-package myshop not used:\n%.300s", src)
	}
}

// TestGenUsage checks gen's help (status 0) and misuse (status 2), and a
// program with errors (status 1, its diagnostics printed).
func TestGenUsage(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.step")
	if err := os.WriteFile(bad, []byte("table t (a int8)\nview v = t | select { b }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gen", "--help"}, 0, "Usage: stepq gen go"},
		{[]string{"gen", "go", "--help"}, 0, "-package string"},
		{[]string{"gen"}, 2, "want a language (go)"},
		{[]string{"gen", "rust", "examples/shop.step"}, 2, `unknown language "rust"`},
		{[]string{"gen", "go", "examples/shop.step"}, 2, "-o DIR is needed"},
		{[]string{"gen", "go", "-o", t.TempDir()}, 2, "want one FILE, got 0"},
		{[]string{"gen", "go", "-o", t.TempDir(), bad}, 1, "unknown column b"},
		{[]string{"gen", "go", "-package", "no-name", "-o", t.TempDir(), "examples/shop.step"}, 1, "not a Go identifier"},
	} {
		r := runStepq(t, repoRoot, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("stepq %s: status %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
	h := runStepq(t, repoRoot, "help", "gen")
	h.want(t, 0)
	if !strings.Contains(h.stdout, "Usage: stepq gen go") {
		t.Errorf("stepq help gen: %q", h.stdout)
	}
}

// TestServeDocument checks that stepq serve serves the program's OpenAPI
// document at /openapi.json and its page at /docs: those of package
// serve/openapi.
func TestServeDocument(t *testing.T) {
	s := startServe(t, "examples/shop.step")
	defer s.stop(t)
	want := golden.Read(t, filepath.Join(repoRoot, "serve", "openapi", "testdata", "shop.json"))
	if code, body := s.curl(t, "GET", "/openapi.json", ""); code != 200 || body != want {
		t.Errorf("/openapi.json: %d, not serve/openapi/testdata/shop.json:\n%.300s", code, body)
	}
	want = golden.Read(t, filepath.Join(repoRoot, "serve", "openapi", "testdata", "shop.html"))
	if code, body := s.curl(t, "GET", "/docs", ""); code != 200 || body != want {
		t.Errorf("/docs: %d, not serve/openapi/testdata/shop.html:\n%.300s", code, body)
	}
}
