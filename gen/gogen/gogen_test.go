package gogen_test

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/gen/gogen"
	"github.com/stepping-io/stepping/internal/golden"
)

// everyType returns a program with a column of every type, nullable and
// not, arrays and records nested, keyed and indexed outputs, and a
// table without a primary key.
func everyType(t testing.TB) string { return golden.Read(t, "../../testdata/every_type.step") }

// TestGenerateShopGolden compares the code generated for the shop
// example with its golden files.
func TestGenerateShopGolden(t *testing.T) {
	prog, err := stepping.CompileFile("../../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	files, err := gogen.Generate(prog, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "client.go engine.go models.go" {
		t.Errorf("files %v", names)
	}
	for _, name := range names {
		golden.Check(t, filepath.Join("testdata", "shop", name+".golden"), string(files[name]))
	}
}

// TestGenerateRefuses checks the errors of Generate: a package name that
// is not an identifier, and two things of one Go name.
func TestGenerateRefuses(t *testing.T) {
	prog, err := stepping.Compile("clash.step", "table a_b (x int8)\ntable aB (x int8)\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prog *stepping.Program
		pkg  string
		want string
	}{
		{prog, "clash", "both named ABRow"},
		{prog, "not-a-name", "not a Go identifier"},
		{prog, "func", "not a Go identifier"},
	} {
		_, err := gogen.Generate(tc.prog, tc.pkg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Generate(%s): %v, want an error saying %q", tc.pkg, err, tc.want)
		}
	}
}

// repoRoot is the module's root, two levels up.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// writeModule writes a module in dir that requires this one from the
// work tree, with the same versions of its dependencies.
func writeModule(t *testing.T, dir string) {
	t.Helper()
	root := repoRoot(t)
	gomod := golden.Read(t, filepath.Join(root, "go.mod"))
	_, requires, _ := strings.Cut(gomod, "\nrequire")
	mod := "module gentest\n\ngo 1.26.0\n\nrequire github.com/stepping-io/stepping v0.0.0\n\nreplace github.com/stepping-io/stepping => " + root + "\n\nrequire" + requires
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writePackage writes the code generated for prog as package pkg under
// dir.
func writePackage(t *testing.T, dir string, prog *stepping.Program, pkg string) {
	t.Helper()
	files, err := gogen.Generate(prog, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
			t.Errorf("%s/%s is not gofmt-clean (%v)", pkg, name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, pkg, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// goCommand runs the go command in dir, failing the test with its
// output when it fails.
func goCommand(t *testing.T, dir string, args ...string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed: %v", err)
		}
		t.Skipf("no go command: %v", err)
	}
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestGeneratedCodeBuilds generates the code of every example, and of
// the program of every type, into one module, checks that it is
// gofmt-clean, and builds and vets it; then runs tests of the generated
// packages there: testdata/shop_test.go.txt and everytype_test.go.txt
// drive the embedding wrappers on an engine in memory and the JSON of
// every type, and shop_client_test.go.txt drives the real server
// (package serve) through the typed client.
func TestGeneratedCodeBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	dir := t.TempDir()
	writeModule(t, dir)
	examples, err := filepath.Glob("../../examples/*.step")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range examples {
		prog, err := stepping.CompileFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimSuffix(filepath.Base(f), ".step")
		writePackage(t, dir, prog, pkg)
		writeFile(t, filepath.Join(dir, pkg, filepath.Base(f)), prog.Source())
	}
	prog, err := stepping.Compile("every_type.step", everyType(t))
	if err != nil {
		t.Fatal(err)
	}
	writePackage(t, dir, prog, "everytype")
	writeFile(t, filepath.Join(dir, "everytype", "every_type.step"), everyType(t))
	for _, f := range []struct{ pkg, name string }{
		{"shop", "shop_test.go"}, {"shop", "shop_client_test.go"}, {"everytype", "everytype_test.go"},
	} {
		writeFile(t, filepath.Join(dir, f.pkg, f.name), golden.Read(t, filepath.Join("testdata", f.name+".txt")))
	}
	goCommand(t, dir, "vet", "./...")
	goCommand(t, dir, "test", "-count=1", "./shop", "./everytype")
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
