package ir

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Fingerprint renders everything about the circuit that can change what
// its outputs contain or how its state is laid out: every operator with
// every parameter, every expression in full with the type of each part
// (a call of a user-defined function shown with its body, as it runs),
// constants, the columns and types of every node, the inputs, and the
// output declarations (table, indexes, primary key). Two circuits with
// equal fingerprints compute the same thing over the same state, so a
// runtime may resume one's state with the other.
//
// Unlike Explain, which is for people and leaves details out, it is
// meant to be hashed and compared, not read. Comments and layout of the
// source do not reach it.
func Fingerprint(c *Circuit) string {
	f := newFingerprinter(c)
	var b strings.Builder
	for _, s := range f.sections() {
		b.WriteString(s.text)
	}
	// The state is kept per node ID, so the numbering is part of what
	// must match: each node's ID with its place in the sections above.
	b.WriteString("layout\n")
	for _, n := range c.Nodes {
		where, ok := f.where[n]
		if !ok {
			where = "unreached " + n.Op.Name()
		}
		fmt.Fprintf(&b, "  n%d %s\n", n.ID, where)
	}
	return b.String()
}

// ViewFingerprints splits the fingerprint by what it describes: the key
// "" holds the inputs (and the clock), "view NAME" a view, its operators
// and its outputs. A view's part names what it reads of the inputs and
// of earlier views rather than repeating it, so it changes only when the
// view itself does (or the types of what it reads). It lets a caller say
// which views changed; Fingerprint, which also holds the node layout, is
// what decides whether state can be reused.
func ViewFingerprints(c *Circuit) map[string]string {
	out := map[string]string{}
	for _, s := range newFingerprinter(c).sections() {
		out[s.key] = s.text
	}
	return out
}

type section struct{ key, text string }

// fingerprinter renders a circuit's nodes, each once, naming each by
// its owner (an input, the clock, or a view) and its place there.
type fingerprinter struct {
	c     *Circuit
	where map[*Node]string // a rendered node's qualified label
	// Of the section being rendered:
	owner string
	local map[*Node]string
	queue []*Node
}

func newFingerprinter(c *Circuit) *fingerprinter {
	return &fingerprinter{c: c, where: map[*Node]string{}}
}

func (f *fingerprinter) sections() []section {
	var b strings.Builder
	for _, in := range f.c.Inputs {
		fmt.Fprintf(&b, "input %q %s pk=%v", in.Name, canonCols(in.Columns), in.PrimaryKey)
		if in.Postgres != nil {
			fmt.Fprintf(&b, " postgres=%q.%q", in.Postgres.Schema, in.Postgres.Name)
		}
		if w := in.Watermark; w != nil {
			// Not in the node hashes: a watermark added or changed keeps
			// every operator's state, which holds rows on time.
			fmt.Fprintf(&b, " watermark=%d-%s", w.Column, w.Lateness)
		}
		b.WriteString("\n")
		f.where[in.Node] = fmt.Sprintf("input %q", in.Name)
	}
	if f.c.Clock != nil {
		f.where[f.c.Clock] = "clock"
		fmt.Fprintf(&b, "clock %s %s\n", f.op(f.c.Clock), canonCols(f.c.Clock.Cols))
	}
	out := []section{{key: "", text: b.String()}}
	for _, v := range f.c.Views {
		out = append(out, section{key: "view " + v.Name, text: f.view(v)})
	}
	return out
}

// view renders a view's section: its columns, its outputs and every
// node it computes that no input or earlier view owns.
func (f *fingerprinter) view(v *View) string {
	f.owner, f.local, f.queue = fmt.Sprintf("view %q", v.Name), map[*Node]string{}, nil
	var b strings.Builder
	fmt.Fprintf(&b, "view %q %s = %s\n", v.Name, canonCols(v.Columns), f.label(v.Node))
	for _, o := range f.c.Outputs {
		if o.View == v {
			fmt.Fprintf(&b, "  output table=%q indexes=%v pk=%v\n", o.Table, o.Indexes, o.PrimaryKey)
		}
	}
	f.renderQueue(&b, "  ")
	return b.String()
}

// renderQueue renders the queued nodes, and those their operators queue
// in turn (a fixpoint's body), one line each after indent, and returns
// them in the order rendered.
func (f *fingerprinter) renderQueue(b *strings.Builder, indent string) []*Node {
	var rendered []*Node
	for len(f.queue) > 0 {
		n := f.queue[0]
		f.queue = f.queue[1:]
		var ins []string
		for _, in := range n.Inputs {
			ins = append(ins, f.label(in))
		}
		op := f.op(n)
		fmt.Fprintf(b, "%s%s = %s %s <- [%s]\n", indent, f.local[n], op, canonCols(n.Cols), strings.Join(ins, ", "))
		rendered = append(rendered, n)
	}
	return rendered
}

// label names a node: by its owner when an input, the clock or an
// earlier view owns it, otherwise by its order of discovery in this
// view, queueing it to be rendered.
func (f *fingerprinter) label(n *Node) string {
	if l, ok := f.local[n]; ok {
		return l
	}
	if w, ok := f.where[n]; ok {
		return w
	}
	l := fmt.Sprintf("#%d", len(f.local))
	f.local[n] = l
	f.where[n] = f.owner + " " + l
	f.queue = append(f.queue, n)
	return l
}

// op renders an operator with every field, found by reflection so that
// a field added to an operator is fingerprinted without anyone
// remembering to.
func (f *fingerprinter) op(n *Node) string {
	return n.Op.Name() + " " + f.value(reflect.ValueOf(n.Op), n.Cols)
}

var (
	scalarType = reflect.TypeFor[Scalar]()
	nodeType   = reflect.TypeFor[*Node]()
	zsetType   = reflect.TypeFor[*zset.ZSet]()
	typeType   = reflect.TypeFor[types.Type]()
	spanType   = reflect.TypeFor[lang.Span]()
	opType     = reflect.TypeFor[lang.Op]()
	setType    = reflect.TypeFor[lang.SetKind]()
)

// value renders one field's value; cols are the node's columns, which
// type a constant's rows.
func (f *fingerprinter) value(v reflect.Value, cols []Column) string {
	switch v.Type() {
	case scalarType:
		return v.Interface().(Scalar).Canon
	case nodeType:
		if v.IsNil() {
			return "nil"
		}
		return f.label(v.Interface().(*Node))
	case zsetType:
		return canonRows(v.Interface().(*zset.ZSet), cols)
	case typeType:
		return v.Interface().(types.Type).String()
	case opType:
		// By its spelling, as when operators were strings, and not by
		// its number, which would change the fingerprint of every
		// program whenever an operator is added to lang.
		return fmt.Sprintf("%q", v.Interface().(lang.Op).String())
	case setType:
		return fmt.Sprintf("%q", v.Interface().(lang.SetKind).String())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return f.value(v.Elem(), cols)
	case reflect.Struct:
		var fs []string
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			// Where the text is is no part of what it means: a program
			// whose text only moves keeps its fingerprint.
			if !sf.IsExported() || sf.Type.Kind() == reflect.Func || sf.Type == spanType {
				continue
			}
			fs = append(fs, sf.Name+"="+f.value(v.Field(i), cols))
		}
		return "{" + strings.Join(fs, " ") + "}"
	case reflect.Slice, reflect.Array:
		var xs []string
		for i := range v.Len() {
			xs = append(xs, f.value(v.Index(i), cols))
		}
		return "[" + strings.Join(xs, ", ") + "]"
	case reflect.String:
		return fmt.Sprintf("%q", v.String())
	case reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32:
		return fmt.Sprint(v.Interface())
	}
	panic(fmt.Sprintf("ir.Fingerprint: no rendering for a field of type %s", v.Type()))
}

// canonRows renders a constant relation's rows with their weights, in a
// canonical order.
func canonRows(z *zset.ZSet, cols []Column) string {
	var rows []string
	for _, e := range z.Entries() {
		vals := make([]string, len(e.Row))
		for i, x := range e.Row {
			vals[i] = canonValue(x, cols[i].Type)
		}
		rows = append(rows, fmt.Sprintf("%d×(%s)", e.Weight, strings.Join(vals, ", ")))
	}
	sort.Strings(rows)
	return "{" + strings.Join(rows, "; ") + "}"
}

func canonValue(v any, t types.Type) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%q", types.Format(v, t))
}

func canonCols(cols []Column) string {
	var out []string
	for _, c := range cols {
		out = append(out, fmt.Sprintf("%q %s", c.Name, c.Type))
	}
	return "(" + strings.Join(out, ", ") + ")"
}

// canon renders an expression completely, for the fingerprint: every
// part with its type, a user-defined function's call with the body it
// runs, operands in full. Unlike render, it hides nothing.
func canon(e typecheck.Expr) string {
	switch e := e.(type) {
	case *typecheck.ColRef:
		return fmt.Sprintf("col(%d %q %s)", e.Index, e.Name, e.T)
	case *typecheck.Const:
		return fmt.Sprintf("const(%s %s)", canonValue(e.Value, e.T), e.T)
	case *typecheck.Local:
		return fmt.Sprintf("local(%d %s)", e.Slot, e.T)
	case *typecheck.Let:
		return fmt.Sprintf("let(%d %s %s)", e.Slot, canon(e.X), canon(e.Body))
	case *typecheck.Cast:
		return fmt.Sprintf("cast(%s %s)", canon(e.X), e.T)
	case *typecheck.Unary:
		return fmt.Sprintf("unary(%q %s %s)", e.Op.String(), canon(e.X), e.T)
	case *typecheck.IsNull:
		return fmt.Sprintf("isnull(%t %s)", e.Not, canon(e.X))
	case *typecheck.If:
		return fmt.Sprintf("if(%s %s %s %s)", canon(e.Cond), canon(e.Then), canon(e.Else), e.T)
	case *typecheck.Binary:
		return fmt.Sprintf("binary(%q %s %s %s)", e.Op.String(), canon(e.X), canon(e.Y), e.T)
	case *typecheck.Call:
		return fmt.Sprintf("call(%q clock=%t [%s] %s)", e.Func.Name, e.Func.Clock, canonAll(e.Args), e.T)
	case *typecheck.FuncCall:
		fn := e.Func
		return fmt.Sprintf("fn(%q params=%s result=%s frame=%d body=%s [%s] nullif=%v %s)",
			fn.Name, canonParams(fn.Params), fn.Result, fn.Frame, canon(fn.Body), canonAll(e.Args), e.NullIf, e.T)
	case *typecheck.Record:
		return fmt.Sprintf("record([%s] %s)", canonAll(e.Fields), e.T)
	case *typecheck.FieldRef:
		return fmt.Sprintf("field(%s %d %q %s)", canon(e.X), e.Index, e.Name, e.T)
	}
	panic(fmt.Sprintf("ir: no canonical form for %T", e))
}

func canonAll(es []typecheck.Expr) string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = canon(e)
	}
	return strings.Join(out, " ")
}

func canonParams(cols []typecheck.Column) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Type.String() // a parameter is read by its slot: its name is no part of the meaning
	}
	return "(" + strings.Join(out, ", ") + ")"
}
