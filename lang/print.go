package lang

import (
	"fmt"
	"strconv"
	"strings"
)

// Dump renders a syntax tree as an indented S-expression with the start
// position of each declaration, stage and expression. Golden tests compare
// parser output in this form.
func Dump(n Node) string {
	var p printer
	p.node(n, 0)
	return p.b.String()
}

type printer struct{ b strings.Builder }

func (p *printer) line(depth int, n Node, format string, args ...any) {
	pos, _ := n.Span()
	fmt.Fprintf(&p.b, "%s%s @%d:%d\n", strings.Repeat("  ", depth), fmt.Sprintf(format, args...), pos.Line, pos.Column)
}

func names(ids []*Ident) string {
	var s []string
	for _, id := range ids {
		s = append(s, id.Name)
	}
	return strings.Join(s, ",")
}

func (p *printer) watermark(w *Watermark, d int) {
	switch {
	case w == nil:
	case w.Lateness == nil:
		p.line(d, w, "watermark %s", w.Column.Name)
	default:
		p.line(d, w, "watermark %s - %s %q", w.Column.Name, w.Lateness.Type.Name, w.Lateness.Value)
	}
}

func (p *printer) node(n Node, d int) {
	switch n := n.(type) {
	case *File:
		p.line(d, n, "file %s", n.Name)
		for _, x := range n.Decls {
			p.node(x, d+1)
		}
	case *TableDecl:
		p.line(d, n, "table %s pk(%s)", n.Name.Name, names(n.PrimaryKey))
		for _, c := range n.Columns {
			p.line(d+1, c, "column %s %s", c.Name.Name, c.Type)
		}
		p.watermark(n.Watermark, d+1)
	case *SourceDecl:
		p.line(d, n, "source %s = table %s pk(%s)", n.Name.Name, strings.Join(n.Table.Parts, "."), names(n.PrimaryKey))
		for _, c := range n.Columns {
			p.line(d+1, c, "column %s %s", c.Name.Name, c.Type)
		}
		p.watermark(n.Watermark, d+1)
	case *ViewDecl:
		p.line(d, n, "view %s", n.Name.Name)
		p.node(n.Query, d+1)
	case *OutputDecl:
		table := ""
		if n.Table != nil {
			table = " to " + strings.Join(n.Table.Parts, ".")
		}
		var ix []string
		for _, i := range n.Indexes {
			ix = append(ix, "("+names(i)+")")
		}
		p.line(d, n, "output %s%s index%s pk(%s)", n.Name.Name, table, strings.Join(ix, ""), names(n.PrimaryKey))
	case *FuncDecl:
		var ps []string
		for _, c := range n.Params {
			ps = append(ps, c.Name.Name+" "+c.Type.String())
		}
		p.line(d, n, "fn %s(%s) %s", n.Name.Name, strings.Join(ps, ", "), n.Result)
		p.node(n.Body, d+1)
	case *Pipeline:
		p.line(d, n, "pipeline")
		p.node(n.From, d+1)
		for _, s := range n.Stages {
			p.node(s, d+1)
		}
	case *RelRef:
		p.line(d, n, "ref %s%s", n.Name.Name, alias(n.Alias))
	case *ValuesTerm:
		p.line(d, n, "values%s", alias(n.Alias))
		for _, r := range n.Rows {
			p.node(r, d+1)
		}
	case *SubPipeline:
		p.line(d, n, "sub%s", alias(n.Alias))
		p.node(n.Query, d+1)
	case *WhereStage:
		p.line(d, n, "where")
		p.node(n.Cond, d+1)
	case *SelectStage:
		p.line(d, n, "select")
		p.fields(n.Fields, d+1)
	case *JoinStage:
		p.line(d, n, "join %s", n.Kind)
		p.node(n.Right, d+1)
		if n.On != nil {
			p.node(n.On, d+1)
		}
	case *GroupStage:
		p.line(d, n, "group")
		p.fields(n.Keys, d+1)
		p.line(d+1, n, "aggregates")
		p.fields(n.Aggs, d+2)
	case *DistinctStage:
		p.line(d, n, "distinct")
	case *SetStage:
		all := ""
		if n.All {
			all = " all"
		}
		p.line(d, n, "%s%s", n.Op, all)
		p.node(n.Right, d+1)
	case *TopStage:
		p.line(d, n, "top %d", n.N)
		for _, k := range n.By {
			p.node(k, d+1)
		}
		for _, x := range n.Per {
			p.line(d+1, x, "per")
			p.node(x, d+2)
		}
	case *WindowStage:
		p.line(d, n, "window")
		for _, k := range n.By {
			p.node(k, d+1)
		}
		for _, x := range n.Per {
			p.line(d+1, x, "per")
			p.node(x, d+2)
		}
		p.fields(n.Fields, d+1)
	case *SessionStage:
		p.line(d, n, "session")
		p.node(n.Time, d+1)
		p.node(n.Gap, d+1)
		for _, x := range n.Per {
			p.line(d+1, x, "per")
			p.node(x, d+2)
		}
	case *StampStage:
		p.line(d, n, "stamp %s", n.Name.Name)
	case *TumbleStage:
		p.line(d, n, "tumble")
		p.node(n.Time, d+1)
		p.node(n.Every, d+1)
	case *HopStage:
		p.line(d, n, "hop")
		p.node(n.Time, d+1)
		p.node(n.Every, d+1)
		p.node(n.Size, d+1)
	case *FlattenStage:
		p.line(d, n, "flatten %s", n.Name.Name)
		p.node(n.Value, d+1)
	case *OrderKey:
		dir := "asc"
		if n.Desc {
			dir = "desc"
		}
		p.line(d, n, "order %s", dir)
		p.node(n.X, d+1)
	case *Name:
		p.line(d, n, "name %s", n.Name)
	case *Selector:
		p.line(d, n, "select .%s", n.Sel.Name)
		p.node(n.X, d+1)
	case *Literal:
		p.line(d, n, "lit %s", strconv.Quote(n.Value))
	case *Unary:
		p.line(d, n, "unary %s", n.Op)
		p.node(n.X, d+1)
	case *Binary:
		p.line(d, n, "binary %s", n.Op)
		p.node(n.X, d+1)
		p.node(n.Y, d+1)
	case *IsNull:
		p.line(d, n, "isnull not=%v", n.Not)
		p.node(n.X, d+1)
	case *Call:
		p.line(d, n, "call %s distinct=%v", n.Fun.Name, n.Distinct)
		for _, a := range n.Args {
			p.node(a, d+1)
		}
		for _, k := range n.OrderBy {
			p.node(k, d+1)
		}
		if n.Filter != nil {
			p.line(d+1, n.Filter, "filter")
			p.node(n.Filter, d+2)
		}
		if n.Frame != nil {
			p.line(d+1, n, "rows %d preceding", *n.Frame)
		}
	case *IndexExpr:
		p.line(d, n, "index")
		p.node(n.X, d+1)
		p.node(n.Index, d+1)
	case *IfExpr:
		p.line(d, n, "if")
		p.node(n.Cond, d+1)
		p.node(n.Then, d+1)
		p.node(n.Else, d+1)
	case *TypedLit:
		p.line(d, n, "lit %s %s", n.Type.Name, strconv.Quote(n.Value))
	case *CaseExpr:
		p.line(d, n, "case")
		if n.Subject != nil {
			p.line(d+1, n.Subject, "subject")
			p.node(n.Subject, d+2)
		}
		for _, w := range n.Whens {
			p.line(d+1, w, "when")
			p.node(w.When, d+2)
			p.node(w.Then, d+2)
		}
		if n.Else != nil {
			p.line(d+1, n.Else, "else")
			p.node(n.Else, d+2)
		}
	case *LetExpr:
		p.line(d, n, "let")
		for _, b := range n.Bindings {
			p.line(d+1, b, "bind %s", b.Name.Name)
			p.node(b.Value, d+2)
		}
		p.node(n.Body, d+1)
	case *CastExpr:
		p.line(d, n, "cast %s", n.Type)
		p.node(n.X, d+1)
	case *ParenExpr:
		p.line(d, n, "paren")
		p.node(n.X, d+1)
	case *RecordLit:
		p.line(d, n, "record")
		p.fields(n.Fields, d+1)
	default:
		fmt.Fprintf(&p.b, "%s<unknown %T>\n", strings.Repeat("  ", d), n)
	}
}

func (p *printer) fields(fs []*Field, d int) {
	for _, f := range fs {
		name := "_"
		if f.Name != nil {
			name = f.Name.Name
		}
		p.line(d, f, "field %s", name)
		p.node(f.Value, d+1)
	}
}

func alias(a *Ident) string {
	if a == nil {
		return ""
	}
	return " as " + a.Name
}

// String renders a type as written: numeric(12,2)[]?.
func (t *TypeExpr) String() string {
	s := t.Name
	if len(t.Args) > 0 {
		var as []string
		for _, a := range t.Args {
			as = append(as, strconv.Itoa(a))
		}
		s += "(" + strings.Join(as, ",") + ")"
	}
	if t.Array {
		s += "[]"
	}
	if t.Nullable {
		s += "?"
	}
	return s
}
