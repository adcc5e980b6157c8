package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/goconv"
	"github.com/stepping-io/stepping/internal/suggest"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/runtime/postgres"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// decl is one declaration the session holds, as the user wrote it.
type decl struct {
	kind string // table, source, view, output
	name string // the declared name; for an output, its view
	text string
}

func (d *decl) label() string { return d.kind + " " + d.name }

// session is the REPL's state: the declarations typed so far, the
// program they compile to, and an engine holding the tables' rows and
// the views' contents. A change of declarations compiles the whole
// program again and replays the tables' rows into a fresh engine; a
// change of rows is one step of the engine, whose changes are shown.
type session struct {
	ctx   context.Context
	out   io.Writer
	errw  io.Writer
	db    *pgxpool.Pool
	decls []*decl
	prog  *compile.Program // nil while there are no declarations
	// syn maps positions in prog's text to the declarations they come
	// from, to place errors of the steps eng runs.
	syn    *synth
	eng    *runtime.Engine
	failed bool // some statement failed
	quit   bool
	// extended counts the declarations that computed only their new
	// views (see extend), for tests.
	extended int
}

func newSession(ctx context.Context, out, errw io.Writer, db *pgxpool.Pool) *session {
	return &session{ctx: ctx, out: out, errw: errw, db: db}
}

// run executes the statements of one complete input, separated by
// top-level semicolons, reporting each error and going on.
func (s *session) run(text string) {
	st := scan(text)
	start := 0
	for _, end := range append(st.semis, len(text)) {
		stmt := text[start:end]
		start = end + 1
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if err := s.exec(stmt); err != nil {
			s.failed = true
			var re *replError
			if errors.As(err, &re) {
				fmt.Fprint(s.errw, re.format())
			} else {
				fmt.Fprintf(s.errw, "error: %v\n", err)
			}
		}
		if s.quit {
			return
		}
	}
}

// stripComments removes # comments outside strings.
func stripComments(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			if i < len(text) {
				b.WriteByte('\n')
			}
			continue
		case '"', '`':
			j := i + 1
			for j < len(text) && text[j] != c && text[j] != '\n' {
				if c == '"' && text[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(text)-1)
			b.WriteString(text[i : j+1])
			i = j
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// exec runs one statement. A panic inside is a bug; it becomes the
// statement's error, and the session goes on.
func (s *session) exec(stmt string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v (the session goes on; please report this)", p)
		}
	}()
	o := &origin{text: stmt}
	tok := &tokenizer{text: stmt}
	first, at := tok.next()
	switch first {
	case ":":
		return s.meta(stmt[at+1:])
	case "table", "source", "view", "output", "fn":
		return s.declare(o)
	case "insert", "delete", "update":
		save := tok.pos
		second, _ := tok.next()
		third, _ := tok.next()
		fourth, _ := tok.next()
		tok.pos = save
		switch {
		case first == "insert" && second == "into":
			return s.insert(o, tok)
		case first == "delete" && second == "from":
			return s.delete(o, tok)
		case first == "update" && isName(second) && third == "set":
			return s.update(o, tok)
		case first == "update" && isName(second) && fourth == "set":
			// update t as x set ...: say what is wrong rather than
			// reading it as a query.
			return errorAt(o, span{at, len(strings.TrimRight(stmt, " \t\r\n"))}, "update t set col = expr where cond", "an update names a table and then set")
		}
	}
	return s.query(o)
}

// ---- declarations

// declare adds the declarations of a statement to the session: a view
// or output of a name already declared replaces it; a table or source
// must be new.
func (s *session) declare(o *origin) error {
	f, err := lang.Parse("", o.text)
	if err != nil {
		return parseError(o, span{0, len(o.text)}, err)
	}
	decls := append([]*decl(nil), s.decls...)
	var added []*decl
	for _, d := range f.Decls {
		pos, end := d.Span()
		nd := &decl{text: o.text[pos.Offset:end.Offset]}
		var id *lang.Ident
		switch d := d.(type) {
		case *lang.TableDecl:
			nd.kind, id = "table", d.Name
		case *lang.SourceDecl:
			nd.kind, id = "source", d.Name
		case *lang.ViewDecl:
			nd.kind, id = "view", d.Name
		case *lang.OutputDecl:
			nd.kind, id = "output", d.Name
		case *lang.FuncDecl:
			nd.kind, id = "fn", d.Name
		}
		nd.name = id.Name
		replaced := false
		for i, old := range decls {
			switch {
			case old.kind == nd.kind && old.name == nd.name && (nd.kind == "view" || nd.kind == "output"):
				decls[i], replaced = nd, true
			case old.kind != "output" && nd.kind != "output" && old.name == nd.name:
				return errorAt(o, span{id.Pos.Offset, id.End.Offset}, "redefine views freely; :drop "+nd.name+" first to declare it anew",
					"%s is already declared as a %s", nd.name, old.kind)
			}
		}
		if !replaced {
			decls = append(decls, nd)
		}
		added = append(added, nd)
	}
	prog, syn, err := s.compile(decls, func(*synth) {}, o)
	if err != nil {
		return syn.mapError(err)
	}
	res, err := s.extend(decls, prog, syn)
	if err != nil {
		return err
	}
	for _, d := range added {
		s.describeNew(d, res)
	}
	return nil
}

// compile compiles the given declarations, with more text that extra
// appends, against the database when there is one. The statement o, if
// any of its text is compiled, is where errors in it are placed.
func (s *session) compile(decls []*decl, extra func(*synth), o *origin) (*compile.Program, *synth, error) {
	syn := synthOf(decls, o)
	extra(syn)
	if s.db != nil {
		prog, err := compile.Compile(s.ctx, "", syn.String(), s.db)
		return prog, syn, err
	}
	prog, err := compile.Compile(context.Background(), "", syn.String(), nil)
	return prog, syn, err
}

// synthOf is the text of declarations, one a line, mapped to each
// declaration, or to the statement o for those of its text.
func synthOf(decls []*decl, o *origin) *synth {
	syn := &synth{}
	for _, d := range decls {
		do := &origin{name: d.label(), text: d.text}
		if d.text == "" {
			continue
		}
		if o != nil && strings.Contains(o.text, d.text) {
			// A declaration of this very statement: errors point into it.
			i := strings.Index(o.text, d.text)
			syn.copy(o, span{i, i + len(d.text)})
		} else {
			syn.copy(do, span{0, len(d.text)})
		}
		syn.lit("\n", do, len(d.text))
	}
	return syn
}

// install makes prog the session's program: a fresh engine given, in one
// step, the rows of every table it keeps (from the old engine, or with a
// database from the table itself). It returns that step's result: every
// view's contents. syn is what prog was compiled from, which places an
// error of that step; nil places it in the declarations.
func (s *session) install(decls []*decl, prog *compile.Program, syn *synth) (*runtime.Result, error) {
	if syn == nil {
		syn = synthOf(decls, nil)
	}
	eng, res, err := s.replay(prog, syn)
	if err != nil {
		return nil, err
	}
	// Later steps fail in declarations, not in the statement that made
	// them, which is gone.
	s.decls, s.prog, s.eng, s.syn = decls, prog, eng, synthOf(decls, nil)
	return res, nil
}

// extend makes prog the session's program as install does, but when
// prog only adds views to the session's program it computes just those,
// from what they read, keeping every other view as it is (see
// runtime.Engine.Extend): declaring a view costs what the view reads,
// not a replay of every table.
func (s *session) extend(decls []*decl, prog *compile.Program, syn *synth) (*runtime.Result, error) {
	if s.eng == nil {
		return s.install(decls, prog, syn)
	}
	eng, res, ok, err := s.eng.Extend(s.ctx, prog.Circuit, time.Now())
	if err != nil {
		return nil, stepFailure(err, 1, syn)
	}
	if !ok {
		return s.install(decls, prog, syn)
	}
	s.extended++
	s.decls, s.prog, s.eng, s.syn = decls, prog, eng, synthOf(decls, nil)
	return res, nil
}

// replay runs prog, compiled from syn, on a fresh engine over the
// session's current rows.
func (s *session) replay(prog *compile.Program, syn *synth) (*runtime.Engine, *runtime.Result, error) {
	eng := runtime.New(prog.Circuit, runtime.NewMemoryStore())
	deltas := map[string]*zset.ZSet{}
	for _, in := range prog.Circuit.Inputs {
		rows, err := s.rowsOf(in)
		if err != nil {
			return nil, nil, err
		}
		deltas[in.Name] = rows
	}
	res, err := eng.StepDelta(s.ctx, deltas)
	if err != nil {
		return nil, nil, stepFailure(err, 1, syn)
	}
	return eng, res, nil
}

// rowsOf returns the rows a table of a new program starts with: those the
// session's table of that name holds, or, with a database, the live
// table's when the session has none yet.
func (s *session) rowsOf(in *ir.Input) (*zset.ZSet, error) {
	if s.eng != nil && sameColumns(s.eng.Circuit(), in) {
		rows, _ := s.eng.Contents(in.Name)
		return rows.Clone(), nil
	}
	if s.db != nil && in.Postgres != nil {
		rows, err := postgres.ReadSource(s.ctx, s.db, in)
		if err != nil {
			return nil, errorf("reading %s: %v", in.Name, err)
		}
		return rows, nil
	}
	return zset.New(), nil
}

// sameColumns reports whether circuit c has an input like in.
func sameColumns(c *ir.Circuit, in *ir.Input) bool {
	for _, old := range c.Inputs {
		if old.Name != in.Name || len(old.Columns) != len(in.Columns) {
			continue
		}
		for i := range old.Columns {
			if old.Columns[i].Name != in.Columns[i].Name || !old.Columns[i].Type.Identical(in.Columns[i].Type) {
				return false
			}
		}
		return true
	}
	return false
}

// describeNew tells what a new declaration made: a table's columns, a
// view's contents.
func (s *session) describeNew(d *decl, res *runtime.Result) {
	switch d.kind {
	case "view":
		v := s.prog.View(d.name)
		fmt.Fprintf(s.out, "%s\n", d.name)
		_ = tablefmt.Write(s.out, v.Columns, orEmpty(res.Changes[d.name]), false)
	case "table", "source":
		in := s.input(d.name)
		rows, _ := s.eng.Contents(d.name)
		n := total(rows)
		desc := d.kind + " " + d.name + " " + colList(in.Columns)
		if len(in.PrimaryKey) > 0 {
			var key []string
			for _, k := range in.PrimaryKey {
				key = append(key, in.Columns[k].Name)
			}
			desc += " primary key (" + strings.Join(key, ", ") + ")"
		}
		if s.db != nil {
			desc += fmt.Sprintf(": %d %s read", n, plural(n, "row", "rows"))
		}
		fmt.Fprintln(s.out, desc)
	case "output":
		fmt.Fprintf(s.out, "output %s\n", d.name)
	}
}

func colList(cols []ir.Column) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, c.Name+" "+c.Type.String())
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func total(z *zset.ZSet) int64 {
	var n int64
	if z != nil {
		z.Each(func(_ zset.Row, w int64) { n += w })
	}
	return n
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *session) input(name string) *ir.Input {
	if s.prog == nil {
		return nil
	}
	for _, in := range s.prog.Circuit.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// ---- queries

// query evaluates a pipeline typed on its own and shows its rows,
// declaring nothing.
func (s *session) query(o *origin) error {
	if t := strings.TrimLeft(o.text, " \t\r\n"); strings.HasPrefix(t, "|") {
		at := len(o.text) - len(t)
		return errorAt(o, span{at, at + 1}, "a line starting with | continues the view definition or query just before it",
			"a pipeline starts with a table, view or values, not a stage")
	}
	prog, syn, err := s.compile(s.decls, func(syn *synth) {
		syn.lit("view `<query>` =\n", o, 0)
		syn.copy(o, span{0, len(o.text)})
	}, nil)
	if err != nil {
		err = syn.mapError(err)
		var re *replError
		if errors.As(err, &re) && len(re.diags) > 0 && strings.HasPrefix(re.diags[0].e.Msg, "syntax error") && len(s.decls) == 0 {
			re.diags[0].e.Hint = hintFor(re.diags[0].e.Hint, "type :help for the statements")
		}
		return err
	}
	_, res, err := s.replay(prog, syn)
	if err != nil {
		return err
	}
	v := prog.View("<query>")
	return tablefmt.Write(s.out, v.Columns, orEmpty(res.Changes["<query>"]), false)
}

func hintFor(old, h string) string {
	if old != "" {
		return old
	}
	return h
}

func orEmpty(z *zset.ZSet) *zset.ZSet {
	if z == nil {
		return zset.New()
	}
	return z
}

// ---- changes to tables

// table reads the table name after insert into / delete from / update
// and checks the session may change it.
func (s *session) table(o *origin, tok *tokenizer) (*ir.Input, *decl, error) {
	name, at := tok.next()
	sp := span{at, at + len(name)}
	if !isName(name) {
		return nil, nil, errorAt(o, sp, "", "want a table name, got %q", name)
	}
	name = unquote(name)
	in := s.input(name)
	if in == nil {
		hint := ""
		if s.prog != nil && s.prog.View(name) != nil {
			hint = "views change when their tables do"
		}
		return nil, nil, errorAt(o, sp, hint, "no table %s", name)
	}
	if s.db != nil {
		return nil, nil, errorAt(o, sp, "change it with SQL, then :refresh", "%s is a table of the database", name)
	}
	for _, d := range s.decls {
		if d.name == name && (d.kind == "table" || d.kind == "source") {
			return in, d, nil
		}
	}
	return in, nil, errorAt(o, sp, "", "no table %s", name)
}

// insert runs insert into T {..}, {..}.
func (s *session) insert(o *origin, tok *tokenizer) error {
	tok.next() // into
	in, _, err := s.table(o, tok)
	if err != nil {
		return err
	}
	rest := trimSpan(o.text, span{tok.pos, len(o.text)})
	if rest.start == rest.end {
		return errorAt(o, span{len(o.text), len(o.text)}, "insert into t {a = 1, b = \"x\"}", "want the rows to insert, as records")
	}
	if after := trimSpan(o.text, span{rest.start, len(o.text)}); strings.HasPrefix(after.of(o.text), "values") {
		// insert into t values [{..}, {..}], as a values term is written.
		inner := trimSpan(o.text, span{after.start + len("values"), after.end})
		if !strings.HasPrefix(inner.of(o.text), "[") || !strings.HasSuffix(inner.of(o.text), "]") {
			return errorAt(o, inner, "insert into t values [{a = 1}, {a = 2}]", "want [ records ] after values")
		}
		rest = span{inner.start + 1, inner.end - 1}
	}
	var recs []span
	for _, r := range splitTop(o.text, rest, ',') {
		if r.start == r.end {
			continue
		}
		recs = append(recs, r)
	}
	rows, err := s.records(o, in, recs)
	if err != nil {
		return err
	}
	var changes []runtime.Change
	for _, r := range rows {
		changes = append(changes, runtime.Change{Op: runtime.Insert, Row: r})
	}
	n := int64(len(changes))
	return s.step(in, changes, fmt.Sprintf("inserted %d %s into %s", n, plural(n, "row", "rows"), in.Name))
}

// records evaluates record literals as rows of table in: each field names
// a column; columns left out are NULL; values are converted to the
// columns' types as in assignment (stepping.FromGo: numbers widen, text
// is read in the column type's text form).
func (s *session) records(o *origin, in *ir.Input, recs []span) ([]zset.Row, error) {
	type field struct {
		col  int
		sp   span
		null bool
	}
	fields := make([][]field, len(recs))
	syn := &synth{}
	for k, r := range recs {
		x, err := lang.ParseExpr("", r.of(o.text))
		if err != nil {
			return nil, parseError(o, r, err)
		}
		rec, ok := x.(*lang.RecordLit)
		if !ok {
			return nil, errorAt(o, r, "insert into t {a = 1, b = \"x\"}", "want a record {column = value, ...}")
		}
		seen := map[int]bool{}
		var parts []span
		for _, f := range rec.Fields {
			pos, end := f.Span()
			fsp := span{r.start + pos.Offset, r.start + end.Offset}
			if f.Name == nil {
				return nil, errorAt(o, fsp, "name the column: {col = value}", "a value needs a column name")
			}
			col := columnIndex(in.Columns, f.Name.Name)
			nsp := span{r.start + f.Name.Pos.Offset, r.start + f.Name.End.Offset}
			if col < 0 {
				return nil, errorAt(o, nsp, suggest.DidYouMean(f.Name.Name, columnNames(in.Columns)), "table %s has no column %s", in.Name, f.Name.Name)
			}
			if seen[col] {
				return nil, errorAt(o, nsp, "", "column %s is given twice", f.Name.Name)
			}
			seen[col] = true
			lit, isLit := f.Value.(*lang.Literal)
			null := isLit && lit.Kind == lang.NullLit
			fields[k] = append(fields[k], field{col: col, sp: fsp, null: null})
			if !null {
				parts = append(parts, fsp)
			}
		}
		for i, c := range in.Columns {
			if !seen[i] && !c.Type.Nullable {
				return nil, errorAt(o, r, "", "column %s of %s is not nullable and has no value", c.Name, in.Name)
			}
		}
		if len(parts) == 0 {
			continue
		}
		syn.lit(fmt.Sprintf("view `<row %d>` = values [{", k), o, r.start)
		for j, p := range parts {
			if j > 0 {
				syn.lit(", ", o, p.start)
			}
			syn.copy(o, p)
		}
		syn.lit("}]\n", o, r.end)
	}
	var prog *compile.Program
	if syn.b.Len() > 0 {
		var err error
		if prog, err = compile.Compile(context.Background(), "", syn.String(), nil); err != nil {
			return nil, syn.mapError(err)
		}
	}
	rows := make([]zset.Row, len(recs))
	for k := range recs {
		row := make(zset.Row, len(in.Columns))
		var vals zset.Row
		var vcols []ir.Column
		if v := viewOf(prog, fmt.Sprintf("<row %d>", k)); v != nil {
			vcols = v.Columns
			vals = v.Node.Op.(*ir.Constant).Rows.Entries()[0].Row
		}
		j := 0
		for _, f := range fields[k] {
			if f.null {
				if !in.Columns[f.col].Type.Nullable {
					return nil, errorAt(o, f.sp, "", "column %s of %s is not nullable", in.Columns[f.col].Name, in.Name)
				}
				continue
			}
			v, err := assignValue(vals[j], vcols[j].Type, in.Columns[f.col])
			if err != nil {
				return nil, errorAt(o, f.sp, "", "%v", err)
			}
			row[f.col] = v
			j++
		}
		rows[k] = row
	}
	return rows, nil
}

func viewOf(prog *compile.Program, name string) *ir.View {
	if prog == nil {
		return nil
	}
	return prog.View(name)
}

// assignValue converts a value of type from to a column's type, as an
// insert or update assigns it.
func assignValue(v any, from types.Type, col ir.Column) (any, error) {
	if v == nil {
		if !col.Type.Nullable {
			return nil, fmt.Errorf("column %s is not nullable", col.Name)
		}
		return nil, nil
	}
	x, err := goconv.Convert(v, col.Type)
	if err != nil {
		return nil, fmt.Errorf("a %s value does not fit column %s %s: %v", from.NotNull(), col.Name, col.Type, err)
	}
	return x, nil
}

func columnIndex(cols []ir.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func columnNames(cols []ir.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// delete runs delete from T [where cond | {key}, ...].
func (s *session) delete(o *origin, tok *tokenizer) error {
	tok.next() // from
	in, d, err := s.table(o, tok)
	if err != nil {
		return err
	}
	rest := trimSpan(o.text, span{tok.pos, len(o.text)})
	before, _ := s.eng.Contents(in.Name)
	var changes []runtime.Change
	switch {
	case rest.start == rest.end:
		changes = deletions(before)
	case strings.HasPrefix(rest.of(o.text), "where") && (rest.end-rest.start == 5 || !isWordByte(o.text[rest.start+5])):
		rows, err := s.selectRows(o, d, &span{rest.start + 5, rest.end}, nil)
		if err != nil {
			return err
		}
		changes = deletions(rows)
	default:
		var recs []span
		for _, r := range splitTop(o.text, rest, ',') {
			if r.start != r.end {
				recs = append(recs, r)
			}
		}
		rows, err := s.keyRecords(o, in, recs)
		if err != nil {
			return err
		}
		for _, r := range rows {
			changes = append(changes, runtime.Change{Op: runtime.Delete, Row: r})
		}
	}
	n := total(before)
	return s.stepCounted(in, changes, func(after int64) string {
		k := n - after
		return fmt.Sprintf("deleted %d %s from %s", k, plural(k, "row", "rows"), in.Name)
	})
}

// keyRecords reads the records of delete from T {..}: a table with a
// primary key needs only the key columns; one without needs whole rows.
func (s *session) keyRecords(o *origin, in *ir.Input, recs []span) ([]zset.Row, error) {
	if len(in.PrimaryKey) == 0 {
		return s.records(o, in, recs)
	}
	keyOnly := &ir.Input{Name: in.Name, Columns: append([]ir.Column(nil), in.Columns...), PrimaryKey: in.PrimaryKey}
	for i := range keyOnly.Columns {
		keyOnly.Columns[i].Type = keyOnly.Columns[i].Type.OrNull()
	}
	for _, k := range in.PrimaryKey {
		keyOnly.Columns[k].Type = in.Columns[k].Type
	}
	return s.records(o, keyOnly, recs)
}

// deletions turns rows into deletes, one per copy.
func deletions(z *zset.ZSet) []runtime.Change {
	var out []runtime.Change
	for _, e := range z.Entries() {
		for range e.Weight {
			out = append(out, runtime.Change{Op: runtime.Delete, Row: e.Row})
		}
	}
	return out
}

// selectRows evaluates the table's rows through | where cond (when cond
// is not nil; cond is o.text[*cond]) and the stages sel appends.
func (s *session) selectRows(o *origin, d *decl, cond *span, sel func(*synth)) (*zset.ZSet, error) {
	prog, syn, err := s.compile([]*decl{d}, func(syn *synth) {
		syn.lit("view `<rows>` = "+quote(d.name), o, 0)
		if cond != nil {
			c := trimSpan(o.text, *cond)
			if c.start == c.end {
				syn.lit(" | where", o, c.start)
			} else {
				syn.lit(" | where (", o, c.start)
				syn.copy(o, c)
				syn.lit("\n)", o, c.end)
			}
		}
		if sel != nil {
			sel(syn)
		}
		syn.lit("\n", o, len(o.text))
	}, nil)
	if err != nil {
		return nil, syn.mapError(err)
	}
	_, res, err := s.replay(prog, syn)
	if err != nil {
		return nil, err
	}
	return orEmpty(res.Changes["<rows>"]), nil
}

// update runs update T set col = expr, ... [where cond].
func (s *session) update(o *origin, tok *tokenizer) error {
	in, d, err := s.table(o, tok)
	if err != nil {
		return err
	}
	tok.next() // set
	rest := span{tok.pos, len(o.text)}
	var cond span
	w := findWord(o.text, rest, "where")
	hasWhere := w >= 0
	if hasWhere {
		rest.end = w
		cond = span{w + len("where"), len(o.text)}
	}
	sets := map[int]span{}
	for _, a := range splitTop(o.text, rest, ',') {
		eq := strings.IndexByte(a.of(o.text), '=')
		if a.start == a.end || eq < 0 {
			return errorAt(o, a, "update t set col = expr, ... where cond", "want col = value")
		}
		name := trimSpan(o.text, span{a.start, a.start + eq})
		col := columnIndex(in.Columns, unquote(name.of(o.text)))
		if col < 0 {
			return errorAt(o, name, suggest.DidYouMean(unquote(name.of(o.text)), columnNames(in.Columns)), "table %s has no column %s", in.Name, name.of(o.text))
		}
		if _, dup := sets[col]; dup {
			return errorAt(o, name, "", "column %s is set twice", in.Columns[col].Name)
		}
		val := trimSpan(o.text, span{a.start + eq + 1, a.end})
		if val.start == val.end {
			return errorAt(o, span{a.end, a.end}, "", "want a value after =")
		}
		sets[col] = val
	}
	// One row per matching row: the old columns, then the new values.
	sel := func(syn *synth) {
		syn.lit("\n| select {", o, rest.start)
		for i, c := range in.Columns {
			syn.lit(fmt.Sprintf("`<old %d>` = %s, ", i, quote(c.Name)), o, rest.start)
		}
		for i, c := range in.Columns {
			if i > 0 {
				syn.lit(", ", o, rest.start)
			}
			if val, ok := sets[i]; ok {
				syn.lit(quote(c.Name)+" = (", o, val.start)
				syn.copy(o, val)
				syn.lit("\n)", o, val.end)
			} else {
				syn.lit(quote(c.Name)+" = "+quote(c.Name), o, rest.start)
			}
		}
		syn.lit("}", o, rest.end)
	}
	var where *span
	if hasWhere {
		where = &cond
	}
	rows, err := s.selectRows(o, d, where, sel)
	if err != nil {
		return err
	}
	cols := in.Columns
	var dels, ins []runtime.Change
	var n int64
	var convErr error
	rows.Each(func(row zset.Row, w int64) {
		if convErr != nil {
			return
		}
		old := row[:len(cols)]
		nu := make(zset.Row, len(cols))
		for i, c := range cols {
			x, err := goconv.Convert(row[len(cols)+i], c.Type)
			if err != nil {
				convErr = errorAt(o, sets[i], "", "column %s: %v", c.Name, err)
				return
			}
			nu[i] = x
		}
		for range w {
			dels = append(dels, runtime.Change{Op: runtime.Delete, Row: old})
			ins = append(ins, runtime.Change{Op: runtime.Insert, Row: nu})
			n++
		}
	})
	if convErr != nil {
		return convErr
	}
	return s.step(in, append(dels, ins...), fmt.Sprintf("updated %d %s of %s", n, plural(n, "row", "rows"), in.Name))
}

// step applies changes to a table as one step and shows what changed.
func (s *session) step(in *ir.Input, changes []runtime.Change, summary string) error {
	return s.stepCounted(in, changes, func(int64) string { return summary })
}

// stepCounted is step with a summary that knows the table's size after.
func (s *session) stepCounted(in *ir.Input, changes []runtime.Change, summary func(after int64) string) error {
	res, err := s.eng.Step(s.ctx, map[string][]runtime.Change{in.Name: changes})
	if err != nil {
		return stepFailure(err, s.eng.Steps()+1, s.syn)
	}
	after, _ := s.eng.Contents(in.Name)
	fmt.Fprintln(s.out, summary(total(after)))
	s.showChanges(res)
	return nil
}

// stepFailure is the error of a failed step of an engine running the
// program compiled from syn: placed in what the user wrote when the
// engine says where (an expression that failed on a row), with the
// cause alone; otherwise the error without the step and node numbers,
// which mean nothing in the REPL (its engine is replaced whenever
// declarations change) nor the name of the REPL's own views.
func stepFailure(err error, step int64, syn *synth) error {
	var se *runtime.StepError
	if !errors.As(err, &se) {
		return errorf("%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("step %d: ", step)))
	}
	why := strings.TrimPrefix(se.Err.Error(), fmt.Sprintf("node n%d: ", se.Node))
	var failed *ir.EvalError
	if errors.As(se.Err, &failed) {
		why = failed.Err.Error() // its position is the diagnostic's
	}
	if d := se.Diagnostic(); d != nil && syn != nil {
		return syn.mapError(lang.ErrorList{{Pos: d.Pos, End: d.End, Msg: why}})
	}
	if se.View != "" && !strings.HasPrefix(se.View, "<") {
		why = "view " + se.View + ": " + why
	}
	return errorf("%s", why)
}

// showChanges prints each view's changes with their weights.
func (s *session) showChanges(res *runtime.Result) {
	for _, v := range s.prog.Circuit.Views {
		if d, ok := res.Changes[v.Name]; ok {
			fmt.Fprintf(s.out, "%s changed:\n", v.Name)
			_ = tablefmt.Write(s.out, v.Columns, d, true)
		}
	}
}

// ---- meta-commands

const replHelp = `Statements (end a line with | , = or an open bracket to go on; ; ends one early):
  table t (a int4, b text, primary key (a))     declare a table
  source s = table public.orders                a database table (with --db)
  view v = t | where a > 1                      define (or redefine) a view and show it
  t | group by b { n = count() }                evaluate a pipeline and show its rows
  insert into t {a = 1, b = "x"}, {a = 2}       add rows (columns left out are null)
  delete from t where a > 1                     remove the rows a condition selects
  delete from t {a = 1}                         remove rows by primary key
  update t set b = upper(b) where a == 1        change rows
After a change every view that changed is shown with weights (+1 in, -1 out).

Commands:
  :help                 this text
  :tables               tables and views, with their row counts
  :describe NAME        a table's or view's columns and definition
  :explain [VIEW]       the incremental circuit of a view (or of everything)
  :load FILE            declarations from a .step file, and its data files
  :drop NAME            forget a table, source, view or output
  :refresh              read the database's tables again (with --db)
  :quit                 leave (Ctrl-D does too; Ctrl-C abandons the input)
`

// metaCommands are the names :help lists, for completion.
var metaCommands = []string{"help", "tables", "describe", "explain", "load", "drop", "refresh", "quit"}

// meta runs a :command.
func (s *session) meta(text string) error {
	fields := strings.Fields(stripComments(text))
	if len(fields) == 0 {
		return errorf("want a command after : (try :help)")
	}
	cmd, args := fields[0], fields[1:]
	arg := func() (string, error) {
		if len(args) != 1 {
			return "", errorf(":%s wants one name", cmd)
		}
		return unquote(args[0]), nil
	}
	switch cmd {
	case "help", "h", "?":
		fmt.Fprint(s.out, replHelp)
	case "quit", "q", "exit":
		s.quit = true
	case "tables", "t":
		s.listTables()
	case "describe", "d":
		name, err := arg()
		if err != nil {
			return err
		}
		return s.describe(name)
	case "explain":
		return s.explain(args)
	case "load":
		name, err := arg()
		if err != nil {
			return err
		}
		return s.load(name)
	case "drop":
		name, err := arg()
		if err != nil {
			return err
		}
		return s.drop(name)
	case "refresh":
		return s.refresh()
	default:
		return &replError{msg: fmt.Sprintf("unknown command :%s (%s)", cmd, hintFor(suggest.DidYouMean(cmd, metaCommands), "try :help"))}
	}
	return nil
}

func (s *session) listTables() {
	if s.prog == nil {
		fmt.Fprintln(s.out, "no tables or views yet")
		return
	}
	cols := []ir.Column{
		{Name: "name", Type: types.Of(types.Text)},
		{Name: "kind", Type: types.Of(types.Text)},
		{Name: "rows", Type: types.Of(types.Int8)},
		{Name: "columns", Type: types.Of(types.Text)},
	}
	z := zset.New()
	outputs := map[string]bool{}
	for _, o := range s.prog.Circuit.Outputs {
		outputs[o.View.Name] = true
	}
	for _, d := range s.decls {
		var c []ir.Column
		kind := d.kind
		switch d.kind {
		case "table", "source":
			c = s.input(d.name).Columns
		case "view":
			c = s.prog.View(d.name).Columns
			if outputs[d.name] {
				kind = "view (output)"
			}
		default:
			continue
		}
		rows, _ := s.eng.Contents(d.name)
		z.Add(zset.Row{d.name, kind, total(rows), strings.Join(columnNames(c), ", ")}, 1)
	}
	_ = tablefmt.Write(s.out, cols, z, false)
}

func (s *session) describe(name string) error {
	d := s.find(name)
	if d == nil {
		return errorf("no table or view %s", name)
	}
	var cols []ir.Column
	var key []int
	if in := s.input(name); in != nil {
		cols, key = in.Columns, in.PrimaryKey
	} else {
		cols = s.prog.View(name).Columns
	}
	var rows [][]string
	for i, c := range cols {
		k := ""
		for _, j := range key {
			if j == i {
				k = "primary key"
			}
		}
		rows = append(rows, []string{c.Name, c.Type.String(), k})
	}
	fmt.Fprintf(s.out, "%s\n", d.label())
	_ = tablefmt.Cells(s.out, []string{"column", "type", "key"}, []bool{false, false, false}, rows)
	if d.kind == "view" || d.kind == "source" {
		fmt.Fprintf(s.out, "%s\n", d.text)
	}
	return nil
}

func (s *session) find(name string) *decl {
	for _, d := range s.decls {
		if d.name == name && d.kind != "output" {
			return d
		}
	}
	return nil
}

func (s *session) explain(args []string) error {
	if s.prog == nil {
		return errorf("nothing to explain yet")
	}
	text := ir.Explain(s.prog.Circuit)
	if len(args) == 0 {
		fmt.Fprint(s.out, text)
		return nil
	}
	name := unquote(args[0])
	if s.prog.View(name) == nil {
		return errorf("no view %s", name)
	}
	for _, sec := range strings.Split(text, "\nview ")[1:] {
		if n, _, _ := strings.Cut(sec, " "); n == name {
			fmt.Fprint(s.out, "view "+sec)
			if !strings.HasSuffix(sec, "\n") {
				fmt.Fprintln(s.out)
			}
			return nil
		}
	}
	return errorf("no view %s", name)
}

// load reads a .step file's declarations into the session and, when its
// data directory exists (FILE without .step), applies its change files
// step by step, as stepq run does.
func (s *session) load(file string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return errorf("%v", err)
	}
	o := &origin{name: file, text: string(src)}
	f, err := lang.Parse(file, string(src))
	if err != nil {
		return s.fileError(o, err)
	}
	decls := append([]*decl(nil), s.decls...)
	for _, d := range f.Decls {
		pos, end := d.Span()
		nd := &decl{text: string(src)[pos.Offset:end.Offset]}
		switch d := d.(type) {
		case *lang.TableDecl:
			nd.kind, nd.name = "table", d.Name.Name
		case *lang.SourceDecl:
			nd.kind, nd.name = "source", d.Name.Name
		case *lang.ViewDecl:
			nd.kind, nd.name = "view", d.Name.Name
		case *lang.OutputDecl:
			nd.kind, nd.name = "output", d.Name.Name
		case *lang.FuncDecl:
			nd.kind, nd.name = "fn", d.Name.Name
		}
		decls = append(decls, nd)
	}
	prog, syn, err := s.compile(decls, func(*synth) {}, nil)
	if err != nil {
		return syn.mapError(err)
	}
	if _, err := s.install(decls, prog, syn); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "loaded %d %s from %s\n", len(f.Decls), plural(int64(len(f.Decls)), "declaration", "declarations"), file)
	dir := strings.TrimSuffix(file, filepath.Ext(file))
	if s.db != nil {
		return nil
	}
	batches, err := runtime.LoadChangeDir(dir, false, prog.Circuit.Inputs)
	if err != nil {
		return errorf("%v", err)
	}
	for _, step := range batches.Steps {
		if _, err := s.eng.Step(s.ctx, batches.Changes[step]); err != nil {
			return stepFailure(err, s.eng.Steps()+1, s.syn)
		}
	}
	if len(batches.Steps) > 0 {
		fmt.Fprintf(s.out, "applied %d %s of changes from %s/\n", len(batches.Steps), plural(int64(len(batches.Steps)), "step", "steps"), dir)
	}
	return nil
}

// fileError places a parse error of a loaded file in it.
func (s *session) fileError(o *origin, err error) error {
	var list lang.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	out := &replError{}
	for _, e := range list {
		out.diags = append(out.diags, diag{o: o, e: e})
	}
	return out
}

// drop forgets a declaration (and a view's output); whatever still reads
// it is an error, and nothing changes.
func (s *session) drop(name string) error {
	var decls []*decl
	found := false
	for _, d := range s.decls {
		if d.name == name {
			found = true
			continue
		}
		decls = append(decls, d)
	}
	if !found {
		return errorf("no table, source or view %s", name)
	}
	if len(decls) == 0 {
		s.decls, s.prog, s.eng, s.syn = nil, nil, nil, nil
		fmt.Fprintf(s.out, "dropped %s\n", name)
		return nil
	}
	prog, syn, err := s.compile(decls, func(*synth) {}, nil)
	if err != nil {
		return syn.mapError(err)
	}
	if _, err := s.install(decls, prog, syn); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "dropped %s\n", name)
	return nil
}

// refresh reads every table from the database again.
func (s *session) refresh() error {
	if s.db == nil {
		return errorf(":refresh reads the database's tables again, and there is no database (start with --db URL)")
	}
	if s.prog == nil {
		return nil
	}
	s.eng = nil
	res, err := s.install(s.decls, s.prog, nil)
	if err != nil {
		return err
	}
	var names []string
	for _, in := range s.prog.Circuit.Inputs {
		rows, _ := s.eng.Contents(in.Name)
		names = append(names, fmt.Sprintf("%s (%d)", in.Name, total(rows)))
	}
	_ = res
	sort.Strings(names)
	fmt.Fprintf(s.out, "read %s\n", strings.Join(names, ", "))
	return nil
}
