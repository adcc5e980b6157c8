package stepping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// TestFrontEndLinksNoDriver checks that the front end (parsing, checking,
// lowering, and the value packages they share), the engine and the
// memory backend do no I/O by construction: none of them depends on the
// pgx driver. The catalog reaches typecheck through its Catalog
// interface; only pgcatalog reads it from Postgres. The test asks the go command for the import graph,
// so that an import added anywhere below these packages is caught.
func TestFrontEndLinksNoDriver(t *testing.T) {
	goCmd := goCommand(t)
	const module = "github.com/stepping-io/stepping/"
	for _, pkg := range []string{"lang", "typecheck", "ir", "ir/lockfile", "stdlib", "types", "zset", "runtime", "runtime/memory"} {
		t.Run(pkg, func(t *testing.T) {
			cmd := exec.Command(goCmd, "list", "-deps", "-json=ImportPath,Imports", module+pkg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, stderr.String())
			}
			if why := importersOfPgx(t, out); len(why) > 0 {
				t.Errorf("%s depends on the pgx driver; these packages import it:\n\t%s",
					pkg, strings.Join(why, "\n\t"))
			}
		})
	}
}

// importersOfPgx returns, from go list -json output, each package outside
// pgx that imports a pgx package directly, with what it imports: where to
// look to cut the dependency.
func importersOfPgx(t *testing.T, listJSON []byte) []string {
	t.Helper()
	isPgx := func(path string) bool { return strings.HasPrefix(path, "github.com/jackc/pgx") }
	var why []string
	dec := json.NewDecoder(bytes.NewReader(listJSON))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list -json: %v", err)
		}
		if isPgx(p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			if isPgx(imp) {
				why = append(why, p.ImportPath+" imports "+imp)
			}
		}
	}
	sort.Strings(why)
	return why
}

// TestPublicAPIStandsAlone checks that the root package's documented API
// names none of the pipeline's insides: callers see its own types, the
// standard library's, decimal.Decimal and pgx's pool.
func TestPublicAPIStandsAlone(t *testing.T) {
	out, err := exec.Command(goCommand(t), "doc", "-all", ".").Output()
	if err != nil {
		t.Fatalf("go doc: %v", err)
	}
	insides := []string{"ir.", "zset.", "runtime.", "typecheck.", "lang.", "types.", "compile.", "postgres.", "memory."}
	for i, line := range strings.Split(string(out), "\n") {
		for _, inside := range insides {
			if strings.Contains(line, " "+inside) || strings.Contains(line, "*"+inside) || strings.Contains(line, "("+inside) || strings.Contains(line, "]"+inside) {
				t.Errorf("go doc line %d names %s: %s", i+1, strings.TrimSuffix(inside, "."), strings.TrimSpace(line))
			}
		}
	}
}

// goCommand returns the go command these tests ask about the module: a
// skip without one, but under CI a failure.
func goCommand(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to read the module: %v", err)
		}
		t.Skipf("no go command to read the module: %v", err)
	}
	return goCmd
}
