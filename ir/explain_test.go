package ir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
)

// TestExplainGolden lowers every testdata/explain/*.step program and
// compares ir.Explain of its circuit with the .golden file beside it.
func TestExplainGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "explain", "*.step"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/explain/*.step files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".step")
		t.Run(name, func(t *testing.T) {
			c := lower(t, file)
			got := ir.Explain(c)
			if again := ir.Explain(c); again != got {
				t.Errorf("Explain is not deterministic:\n%s\n---\n%s", got, again)
			}
			golden.Check(t, strings.TrimSuffix(file, ".step")+".golden", got)
		})
	}
}

// TestCircuitShape checks invariants of every lowered circuit: nodes are
// numbered in order and come after their inputs, every view and input
// has a node of the circuit, and each node's columns match its view's.
func TestCircuitShape(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "explain", "*.step"))
	for _, file := range files {
		c := lower(t, file)
		in := map[*ir.Node]bool{}
		for i, n := range c.Nodes {
			if n.ID != i {
				t.Errorf("%s: node %d has ID %d", file, i, n.ID)
			}
			for _, x := range n.Inputs {
				if !in[x] {
					t.Errorf("%s: n%d reads n%d, which is not before it", file, n.ID, x.ID)
				}
			}
			in[n] = true
		}
		for _, input := range c.Inputs {
			if !in[input.Node] {
				t.Errorf("%s: input %s has no node in the circuit", file, input.Name)
			}
			if _, ok := input.Node.Op.(*ir.Source); !ok {
				t.Errorf("%s: input %s is computed by %s, want source", file, input.Name, input.Node.Op.Name())
			}
		}
		for _, v := range c.Views {
			if !in[v.Node] {
				t.Errorf("%s: view %s has no node in the circuit", file, v.Name)
				continue
			}
			if len(v.Node.Cols) != len(v.Columns) {
				t.Errorf("%s: view %s has %d columns, its node %d", file, v.Name, len(v.Columns), len(v.Node.Cols))
			}
		}
		for _, o := range c.Outputs {
			if o.View == nil {
				t.Errorf("%s: output without a view", file)
			}
		}
		checkBodies(t, file, c)
	}
}

// checkBodies checks the nested circuit of every fixpoint: the body holds
// its Recurse and Out nodes, its nodes read only one another except an
// Import, which reads one outer node, and no node is in two bodies.
func checkBodies(t *testing.T, file string, c *ir.Circuit) {
	owner := map[*ir.Node]*ir.Node{}
	for _, n := range c.Nodes {
		if fp, ok := n.Op.(*ir.Fixpoint); ok {
			for _, b := range fp.Body {
				if owner[b] != nil {
					t.Errorf("%s: n%d is in the bodies of n%d and n%d", file, b.ID, owner[b].ID, n.ID)
				}
				owner[b] = n
			}
		}
	}
	for _, n := range c.Nodes {
		fp, ok := n.Op.(*ir.Fixpoint)
		if !ok {
			continue
		}
		if len(n.Inputs) != 1 || owner[n.Inputs[0]] != nil {
			t.Errorf("%s: fixpoint n%d must read one outer node, its base", file, n.ID)
		}
		if owner[fp.Rec] != n || owner[fp.Out] != n {
			t.Errorf("%s: fixpoint n%d: its recurse and out nodes are not in its body", file, n.ID)
		}
		for _, b := range fp.Body {
			_, isImport := b.Op.(*ir.Import)
			for _, in := range b.Inputs {
				if isImport != (owner[in] == nil) {
					t.Errorf("%s: body node n%d (%s) reads n%d across its fixpoint's boundary", file, b.ID, b.Op.Name(), in.ID)
				}
			}
		}
	}
}

func lower(t *testing.T, file string) *ir.Circuit {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	f, err := lang.Parse(filepath.ToSlash(file), src)
	if err == nil {
		var p *typecheck.Program
		p, err = typecheck.Check(f, nil)
		if err == nil {
			c, err := ir.Lower(p)
			if err != nil {
				t.Fatalf("%s: Lower: %v", file, err)
			}
			return c
		}
	}
	var list lang.ErrorList
	if errors.As(err, &list) {
		t.Fatalf("%s does not compile:\n%s", file, list.Format(src))
	}
	t.Fatalf("%s: %v", file, err)
	return nil
}
