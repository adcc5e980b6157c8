package typecheck

import (
	"github.com/stepping-io/stepping/internal/suggest"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
)

// Config says what a program is checked against. A nil Config, or one
// without a Catalog, checks a self-contained file: its sources must
// declare their columns.
type Config struct {
	// Catalog, when set, describes the database's tables: sources take
	// their row types from it, and declared tables are the database's.
	Catalog Catalog
}

// Check type-checks a parsed file. It returns the typed program and, when
// anything is wrong, a lang.ErrorList with every error found, sorted by
// position. The program is nil exactly when there are errors.
func Check(f *lang.File, conf *Config) (*Program, error) {
	if conf == nil {
		conf = &Config{}
	}
	c := &checker{
		conf:   conf,
		tables: map[string]*Table{},
		views:  map[string]*viewState{},
		funcs:  map[string]*funcState{},
		prog:   &Program{},
	}
	c.collect(f)
	for _, name := range c.funcOrder {
		c.function(c.funcs[name])
	}
	for _, name := range c.viewOrder {
		c.view(c.views[name])
	}
	for _, d := range f.Decls {
		if o, ok := d.(*lang.OutputDecl); ok {
			c.output(o)
		}
	}
	if len(c.errs) > 0 {
		c.errs.Sort()
		return nil, c.errs
	}
	return c.prog, nil
}

type checker struct {
	conf      *Config
	checking  []string // the views being checked, outermost first, to name a cycle
	errs      lang.ErrorList
	tables    map[string]*Table
	views     map[string]*viewState
	viewOrder []string
	funcs     map[string]*funcState
	funcOrder []string
	calling   []string // the functions being checked, outermost first, to name a cycle
	prog      *Program
	rec       *recCtx // the recursive view whose branches are being checked
}

// viewState tracks a view through checking so that a view can be checked
// when first referenced, and a cycle found.
type viewState struct {
	decl     *lang.ViewDecl
	view     *View
	checking bool
	done     bool
	bad      bool
}

func (c *checker) errorf(n lang.Node, format string, args ...any) {
	pos, end := n.Span()
	c.errs.Add(pos, end, "", format, args...)
}

func (c *checker) errorHint(n lang.Node, hint, format string, args ...any) {
	pos, end := n.Span()
	c.errs.Add(pos, end, hint, format, args...)
}

// collect declares every table and view name so that views may be written
// in any order.
func (c *checker) collect(f *lang.File) {
	declared := map[string]lang.Node{}
	declare := func(id *lang.Ident) bool {
		if prev, ok := declared[id.Name]; ok {
			p, _ := prev.Span()
			c.errorf(id, "%s is already declared at %s", id.Name, lang.Elsewhere(p, id.Pos))
			return false
		}
		declared[id.Name] = id
		return true
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *lang.TableDecl:
			switch {
			case !declare(d.Name):
			case c.conf.Catalog != nil:
				// Against a database, a declared table is the database's
				// table of that name, with the declared row type.
				c.source(tableAsSource(d))
			default:
				c.watermark(c.table(d.Name, d.Columns, d.PrimaryKey), d.Watermark)
			}
		case *lang.SourceDecl:
			if declare(d.Name) {
				c.source(d)
			}
		case *lang.ViewDecl:
			if declare(d.Name) {
				c.views[d.Name.Name] = &viewState{decl: d}
				c.viewOrder = append(c.viewOrder, d.Name.Name)
			}
		case *lang.FuncDecl:
			c.declareFunc(d)
		}
	}
}

func (c *checker) table(name *lang.Ident, cols []*lang.ColumnDef, pk []*lang.Ident) *Table {
	t := &Table{Name: name.Name, Pos: name.Pos}
	seen := map[string]bool{}
	for _, col := range cols {
		if seen[col.Name.Name] {
			c.errorf(col.Name, "column %s is declared twice", col.Name.Name)
			continue
		}
		seen[col.Name.Name] = true
		t.Columns = append(t.Columns, Column{Name: col.Name.Name, Type: c.typeExpr(col.Type)})
	}
	t.PrimaryKey = c.columnList(t.Columns, pk, "table "+name.Name)
	for _, i := range t.PrimaryKey {
		if t.Columns[i].Type.Nullable {
			c.errorf(pk[0], "primary key column %s of table %s can't be nullable", t.Columns[i].Name, name.Name)
		}
	}
	c.tables[name.Name] = t
	c.prog.Tables = append(c.prog.Tables, t)
	return t
}

// source checks a Postgres source against the catalog: its row type comes
// from the live table, or, when declared, must agree with it. A source
// that can't be typed is entered as nil, so that reading it reports
// nothing more.
func (c *checker) source(d *lang.SourceDecl) {
	c.tables[d.Name.Name] = nil
	written := qualified(d.Table.Parts)
	if len(d.Table.Parts) > 2 {
		c.errorf(d.Table, "a table name has at most two parts, schema.table")
		return
	}
	cat := c.conf.Catalog
	if cat == nil {
		if len(d.Columns) == 0 {
			c.errorHint(d.Table, "check against a database (--db URL), or declare the columns: source x = table t (col type, ...)",
				"the row type of Postgres table %s is unknown without a database", written)
			return
		}
		t := c.table(d.Name, d.Columns, d.PrimaryKey)
		t.Source = &SourceTable{Schema: schemaOf(d.Table.Parts), Name: d.Table.Parts[len(d.Table.Parts)-1]}
		c.watermark(t, d.Watermark)
		return
	}
	ct := cat.Table(d.Table.Parts)
	if ct == nil {
		c.errorf(d.Table, "the database has no table %s", written)
		return
	}
	if len(d.Columns) > 0 {
		t := c.table(d.Name, d.Columns, d.PrimaryKey)
		c.compareColumns(d, t, ct)
		if len(d.PrimaryKey) == 0 {
			t.PrimaryKey = c.catalogKey(d, t.Columns, ct)
		}
		t.Source = &SourceTable{Schema: ct.Schema, Name: ct.Name}
		c.watermark(t, d.Watermark)
		return
	}
	t := &Table{Name: d.Name.Name, Pos: d.Name.Pos, Source: &SourceTable{Schema: ct.Schema, Name: ct.Name}}
	ok := true
	for _, col := range ct.Columns {
		if col.Unsupported != "" {
			c.errorHint(d.Table, "declare the columns you need, leaving this one out",
				"column %s of %s has type %s, which stepping does not support yet", col.Name, written, col.Unsupported)
			ok = false
			continue
		}
		t.Columns = append(t.Columns, Column{Name: col.Name, Type: col.Type})
	}
	if !ok {
		return
	}
	t.PrimaryKey = c.catalogKey(d, t.Columns, ct)
	c.watermark(t, d.Watermark)
	c.tables[t.Name] = t
	c.prog.Tables = append(c.prog.Tables, t)
}

// watermark checks a table's watermark: a non-null date or timestamp
// column, less a constant interval of days and time, zero or more.
func (c *checker) watermark(t *Table, w *lang.Watermark) {
	if w == nil || t == nil {
		return
	}
	col := -1
	for i, tc := range t.Columns {
		if tc.Name == w.Column.Name {
			col = i
		}
	}
	if col < 0 {
		c.errorf(w.Column, "table %s has no column %s", t.Name, w.Column.Name)
		return
	}
	ty := t.Columns[col].Type
	switch {
	case ty.Kind != types.Timestamp && ty.Kind != types.Timestamptz && ty.Kind != types.Date:
		c.errorf(w.Column, "a watermark's column is a date or a timestamp, and %s is %s", w.Column.Name, ty)
		return
	case ty.Nullable:
		c.errorHint(w.Column, "declare it "+ty.Kind.String()+", without ?, or watermark another column",
			"a watermark's column can't be nullable: a row with NULL there could never be placed in time")
		return
	}
	var lateness types.IntervalValue
	if w.Lateness != nil {
		iv, err := types.ParseInterval(w.Lateness.Value)
		switch {
		case w.Lateness.Type.Name != "interval":
			c.errorHint(w.Lateness, `watermark at - interval "5 minutes"`, "a watermark's lateness is an interval, not %s", w.Lateness.Type.Name)
			return
		case err != nil:
			c.errorf(w.Lateness, "%v", err)
			return
		case iv.Months != 0 || int64(iv.Days)*86_400_000_000+iv.Micros < 0:
			c.errorf(w.Lateness, "a watermark's lateness is an interval of days and time, zero or more, without months or years")
			return
		}
		lateness = iv
	}
	t.Watermark = &Watermark{Column: col, Lateness: lateness}
}

// tableAsSource reads table t (...) as source t = table t (...).
func tableAsSource(d *lang.TableDecl) *lang.SourceDecl {
	q := &lang.QualName{Parts: []string{d.Name.Name}}
	q.Pos, q.End = d.Name.Span()
	return &lang.SourceDecl{Name: d.Name, Table: q, Columns: d.Columns, PrimaryKey: d.PrimaryKey, Watermark: d.Watermark}
}

func schemaOf(parts []string) string {
	if len(parts) == 2 {
		return parts[0]
	}
	return ""
}

// compareColumns reports each declared column that the live table lacks
// or types differently.
func (c *checker) compareColumns(d *lang.SourceDecl, t *Table, ct *CatalogTable) {
	for i, col := range d.Columns {
		var live *CatalogColumn
		for j := range ct.Columns {
			if ct.Columns[j].Name == col.Name.Name {
				live = &ct.Columns[j]
			}
		}
		if live == nil {
			var names []string
			for _, lc := range ct.Columns {
				names = append(names, lc.Name)
			}
			c.errorHint(col.Name, suggest.DidYouMean(col.Name.Name, names), "table %s in the database has no column %s", qualified(d.Table.Parts), col.Name.Name)
			continue
		}
		if i >= len(t.Columns) {
			continue
		}
		declared := t.Columns[i].Type
		switch {
		case live.Unsupported != "":
			c.errorf(col.Type, "column %s has type %s in the database, which stepping does not support yet", col.Name.Name, live.Unsupported)
		case declared.Kind != types.Invalid && !declared.Identical(live.Type):
			hint := "declare it as " + live.Type.String()
			if nonNull := live.Type; nonNull.Nullable && !declared.Nullable {
				nonNull.Nullable = false
				if declared.Identical(nonNull) {
					// Only nullability differs: the table may be the
					// one to change.
					hint += ", or make the table's column NOT NULL: ALTER TABLE " + qualified(d.Table.Parts) + " ALTER COLUMN " + col.Name.Name + " SET NOT NULL"
				}
			}
			c.errorHint(col.Type, hint, "column %s is declared %s but is %s in the database", col.Name.Name, declared, live.Type)
		}
	}
}

// catalogKey maps the live table's primary key onto the source's columns;
// a key column the source leaves out means the source has no usable key.
func (c *checker) catalogKey(d *lang.SourceDecl, cols []Column, ct *CatalogTable) []int {
	var key []int
	for _, name := range ct.PrimaryKey {
		i := -1
		for j, col := range cols {
			if col.Name == name {
				i = j
			}
		}
		if i < 0 {
			return nil
		}
		key = append(key, i)
	}
	return key
}

// columnList resolves a list of column names against cols.
func (c *checker) columnList(cols []Column, ids []*lang.Ident, what string) []int {
	var out []int
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.Name
	}
	for _, id := range ids {
		i := indexOf(names, id.Name)
		if i < 0 {
			c.errorHint(id, suggest.DidYouMean(id.Name, names), "%s has no column %s", what, id.Name)
			continue
		}
		out = append(out, i)
	}
	return out
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func (c *checker) typeExpr(te *lang.TypeExpr) types.Type {
	k, ok := types.LookupKind(te.Name)
	if !ok {
		c.errorHint(te, suggest.DidYouMean(te.Name, types.TypeNames()), "unknown type %s", te.Name)
		return types.Type{}
	}
	t := types.Of(k)
	switch {
	case len(te.Args) > 0 && k != types.Numeric:
		c.errorf(te, "type %s takes no modifiers", te.Name)
	case len(te.Args) == 1:
		t.Precision, t.Scale = te.Args[0], 0
	case len(te.Args) == 2:
		t.Precision, t.Scale = te.Args[0], te.Args[1]
		if t.Scale > t.Precision {
			c.errorf(te, "numeric scale %d is greater than its precision %d", t.Scale, t.Precision)
		}
	case len(te.Args) > 2:
		c.errorf(te, "numeric takes at most a precision and a scale")
	}
	if te.Array {
		t = types.ArrayOf(t)
	}
	t.Nullable = te.Nullable
	return t
}

func (c *checker) view(vs *viewState) *View {
	switch {
	case vs.done:
		return vs.view
	case vs.checking:
		return nil
	}
	vs.checking = true
	c.checking = append(c.checking, vs.decl.Name.Name)
	defer func() { c.checking = c.checking[:len(c.checking)-1] }()
	// Another view's recursive reference means nothing here.
	savedRec := c.rec
	c.rec = nil
	defer func() { c.rec = savedRec }()
	d := vs.decl
	var rel Rel
	if base, ok := recursiveForm(d); ok {
		rel, _ = c.recursive(d, base)
	} else {
		rel, _ = c.pipeline(d.Query, d.Name.Name)
	}
	vs.checking, vs.done = false, true
	if rel == nil {
		vs.bad = true
		return nil
	}
	v := &View{Name: d.Name.Name, Pos: d.Name.Pos, Query: rel, Columns: rel.Cols()}
	seen := map[string]bool{}
	for _, col := range v.Columns {
		if seen[col.Name] {
			c.errorHint(d.Name, "end the pipeline with a select that names each column once",
				"view %s has two columns named %s", d.Name.Name, col.Name)
			vs.bad = true
			return nil
		}
		seen[col.Name] = true
	}
	vs.view = v
	c.prog.Views = append(c.prog.Views, v)
	return v
}

func (c *checker) output(o *lang.OutputDecl) {
	vs, ok := c.views[o.Name.Name]
	if !ok {
		var names []string
		for n := range c.views {
			names = append(names, n)
		}
		c.errorHint(o.Name, suggest.DidYouMean(o.Name.Name, names), "output %s is not a view", o.Name.Name)
		return
	}
	if vs.view == nil {
		return // its errors are reported already
	}
	out := &Output{Pos: o.Pos, View: vs.view}
	if o.Table != nil {
		out.Table = o.Table.Parts
		if src := c.sourceAt(o.Table.Parts); src != nil {
			c.errorHint(o.Table, "write the output to a table of its own",
				"output %s writes table %s, which table %s of this program reads: its writes would feed back into it", vs.view.Name, qualified(o.Table.Parts), src.Name)
		}
	}
	what := "view " + vs.view.Name
	for _, ix := range o.Indexes {
		out.Indexes = append(out.Indexes, c.columnList(vs.view.Columns, ix, what))
	}
	out.PrimaryKey = c.columnList(vs.view.Columns, o.PrimaryKey, what)
	for _, id := range o.PrimaryKey {
		if i := indexOf(columnNames(vs.view.Columns), id.Name); i >= 0 && vs.view.Columns[i].Type.Nullable {
			c.errorHint(id, "give it a non-null type with coalesce, or leave it out of the key",
				"primary key column %s of view %s can't be nullable", id.Name, vs.view.Name)
		}
	}
	for _, prev := range c.prog.Outputs {
		if prev.View == out.View {
			c.errorf(o.Name, "view %s is output twice", vs.view.Name)
		}
	}
	c.prog.Outputs = append(c.prog.Outputs, out)
}

// sourceAt returns the program's table that reads the database table
// named by parts, if any. A name without a schema matches whatever schema
// the other names: the search path decides both.
func (c *checker) sourceAt(parts []string) *Table {
	name, schema := parts[len(parts)-1], schemaOf(parts)
	for _, t := range c.prog.Tables {
		tname, tschema := t.Name, ""
		if t.Source != nil {
			tname, tschema = t.Source.Name, t.Source.Schema
		}
		if tname == name && (schema == "" || tschema == "" || schema == tschema) {
			return t
		}
	}
	return nil
}
