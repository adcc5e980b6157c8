package stepping

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Graph is a program's circuit as data: what stepq explain -json prints
// and explain --dot draws.
type Graph struct {
	Inputs  []GraphInput  `json:"inputs"`
	Views   []GraphView   `json:"views"`
	Outputs []GraphOutput `json:"outputs"`
	Nodes   []GraphNode   `json:"nodes"`
}

// GraphInput is an input table and the source node its changes enter at.
type GraphInput struct {
	Name       string        `json:"name"`
	Node       int           `json:"node"`
	Columns    []GraphColumn `json:"columns"`
	PrimaryKey []string      `json:"primary_key,omitempty"`
	// Table is the Postgres table a source reads, empty for a declared
	// table.
	Table string `json:"table,omitempty"`
}

// GraphView is a view and the node computing its changes.
type GraphView struct {
	Name    string        `json:"name"`
	Node    int           `json:"node"`
	Columns []GraphColumn `json:"columns"`
}

// GraphOutput is an output: the view it materialises and how.
type GraphOutput struct {
	View       string     `json:"view"`
	Table      string     `json:"table,omitempty"`
	Indexes    [][]string `json:"indexes,omitempty"`
	PrimaryKey []string   `json:"primary_key,omitempty"`
}

// GraphColumn is a column and its type as written in .step files.
type GraphColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// GraphNode is one operator: its id, operator name (source, filter, map,
// sum, integrate, delay, join, distinct, aggregate, ...), the ids of its
// inputs, its output columns, and its parameters (predicates, key and
// aggregate expressions, as text).
type GraphNode struct {
	ID         int            `json:"id"`
	Op         string         `json:"op"`
	Inputs     []int          `json:"inputs"`
	Columns    []GraphColumn  `json:"columns"`
	Parameters map[string]any `json:"parameters"`
}

// Graph describes the program's circuit.
func (p *Program) Graph() *Graph {
	c := p.c.Circuit
	g := &Graph{Inputs: []GraphInput{}, Views: []GraphView{}, Outputs: []GraphOutput{}, Nodes: []GraphNode{}}
	for _, in := range c.Inputs {
		gi := GraphInput{Name: in.Name, Node: in.Node.ID, Columns: graphColumns(in.Columns), PrimaryKey: names(in.Columns, in.PrimaryKey)}
		if in.Postgres != nil {
			gi.Table = strings.TrimPrefix(in.Postgres.Schema+"."+in.Postgres.Name, ".")
		}
		g.Inputs = append(g.Inputs, gi)
	}
	for _, v := range c.Views {
		g.Views = append(g.Views, GraphView{Name: v.Name, Node: v.Node.ID, Columns: graphColumns(v.Columns)})
	}
	for _, o := range c.Outputs {
		go_ := GraphOutput{View: o.View.Name, Table: strings.Join(o.Table, "."), PrimaryKey: names(o.View.Columns, o.PrimaryKey)}
		for _, ix := range o.Indexes {
			go_.Indexes = append(go_.Indexes, names(o.View.Columns, ix))
		}
		g.Outputs = append(g.Outputs, go_)
	}
	for _, n := range c.Nodes {
		gn := GraphNode{ID: n.ID, Op: n.Op.Name(), Inputs: []int{}, Columns: graphColumns(n.Cols), Parameters: parameters(n)}
		for _, in := range n.Inputs {
			gn.Inputs = append(gn.Inputs, in.ID)
		}
		g.Nodes = append(g.Nodes, gn)
	}
	return g
}

func graphColumns(cols []ir.Column) []GraphColumn {
	out := make([]GraphColumn, len(cols))
	for i, c := range cols {
		out[i] = GraphColumn{Name: c.Name, Type: c.Type.String()}
	}
	return out
}

func names(cols []ir.Column, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, cols[i].Name)
	}
	return out
}

// parameters renders an operator's exported fields generically, so that
// operators added to the IR describe themselves: an expression as its
// text, a type as written, a Z-set of constant rows as their text form,
// structs field by field, lists element by element. Keys are the field
// names in snake case.
func parameters(n *ir.Node) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(n.Op)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return out
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if x := paramValue(v.Field(i), n.Cols); x != nil {
			out[snake(f.Name)] = x
		}
	}
	if m, ok := n.Op.(*ir.Map); ok {
		// A map's expressions are its output columns: name them.
		exprs := []any{}
		for i, e := range m.Exprs {
			exprs = append(exprs, n.Cols[i].Name+" = "+e.Text)
		}
		out["exprs"] = exprs
	}
	return out
}

var (
	scalarType = reflect.TypeFor[ir.Scalar]()
	typeType   = reflect.TypeFor[types.Type]()
	zsetType   = reflect.TypeFor[*zset.ZSet]()
)

func paramValue(v reflect.Value, cols []ir.Column) any {
	switch {
	case v.Type() == scalarType:
		return v.Interface().(ir.Scalar).Text
	case v.Type() == typeType:
		return v.Interface().(types.Type).String()
	case v.Type() == zsetType:
		z := v.Interface().(*zset.ZSet)
		if z == nil {
			return nil
		}
		rows := []string{}
		for _, e := range z.Entries() {
			var cells []string
			for i, x := range e.Row {
				cells = append(cells, types.Format(x, cols[i].Type))
			}
			rows = append(rows, "("+strings.Join(cells, ", ")+")")
		}
		return rows
	}
	if v.Kind() == reflect.Int && v.CanInterface() {
		// An enum (an operator, a set stage) by its spelling.
		if s, ok := v.Interface().(fmt.Stringer); ok {
			return s.String()
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return paramValue(v.Elem(), cols)
	case reflect.Slice, reflect.Array:
		out := []any{}
		for i := range v.Len() {
			out = append(out, paramValue(v.Index(i), cols))
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() {
				if x := paramValue(v.Field(i), cols); x != nil {
					out[snake(f.Name)] = x
				}
			}
		}
		return out
	case reflect.Func, reflect.Chan, reflect.Map:
		return nil
	}
	return v.Interface()
}

// snake turns LeftKey into left_key.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// WriteDot draws the circuit in Graphviz's dot language: a box per
// operator, labelled with its parameters; inputs as ellipses; the node of
// each view labelled with the view's name (double-bordered for outputs);
// stateful operators (integrate, aggregate, distinct) shaded; and edges
// from each operator's inputs to it.
func (g *Graph) WriteDot(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph circuit {\n")
	b.WriteString("  rankdir=BT;\n  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n  edge [arrowsize=0.7];\n")
	views := map[int][]string{}
	for _, v := range g.Views {
		views[v.Node] = append(views[v.Node], v.Name)
	}
	outputs := map[string]bool{}
	for _, o := range g.Outputs {
		outputs[o.View] = true
	}
	inputs := map[int]string{}
	for _, in := range g.Inputs {
		inputs[in.Node] = in.Name
	}
	for _, n := range g.Nodes {
		label := fmt.Sprintf("n%d %s", n.ID, n.Op)
		if p := dotParams(n.Parameters); p != "" {
			label += "\\n" + p
		}
		attrs := []string{}
		if name, ok := inputs[n.ID]; ok {
			label = fmt.Sprintf("table %s\\nn%d source", dotEscape(name), n.ID)
			attrs = append(attrs, "shape=ellipse")
		}
		switch n.Op {
		case "integrate", "aggregate", "distinct":
			attrs = append(attrs, "style=filled", "fillcolor=\"#dde8f5\"")
		}
		if vs, ok := views[n.ID]; ok {
			peripheries := "1"
			for _, v := range vs {
				label = "view " + dotEscape(v) + "\\n" + label
				if outputs[v] {
					peripheries = "2"
				}
			}
			attrs = append(attrs, "peripheries="+peripheries, "penwidth=1.5")
		}
		attrs = append([]string{"label=\"" + label + "\""}, attrs...)
		fmt.Fprintf(&b, "  n%d [%s];\n", n.ID, strings.Join(attrs, ", "))
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "  n%d -> n%d;\n", in, n.ID)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// dotParams renders parameters compactly for a node label.
func dotParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+": "+dotEscape(compact(p[k])))
	}
	return strings.Join(parts, "\\n")
}

func compact(v any) string {
	switch x := v.(type) {
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, compact(e))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case []string:
		if len(x) > 3 {
			return fmt.Sprintf("%d rows", len(x))
		}
		return strings.Join(x, ", ")
	case map[string]any:
		if name, ok := x["name"]; ok {
			arg := ""
			if a, ok := x["arg"]; ok {
				arg = compact(a)
			}
			return fmt.Sprintf("%v(%s)", name, arg)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+compact(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
